"""Augmentation options from the lecture notes, as Keras preprocessing layers for the tf.data map.

Names are the run config's ``augment`` list: flip, crop, translate, rotate, zoom, contrast, colour
(hue/brightness jitter), cutout (random erasing). They are applied to training batches only.
"""

from __future__ import annotations

AUGMENTATIONS = {
    "flip": "horizontal flip",
    "crop": "random crop (pad 4 px, crop back)",
    "translate": "random translation up to 10%",
    "rotate": "random rotation up to 10%",
    "zoom": "random zoom up to 10%",
    "contrast": "random contrast 20%",
    "colour": "random brightness/colour shift",
    "cutout": "cutout / random erasing of one square",
}
ALIASES = {"color": "colour", "hflip": "flip", "erase": "cutout", "erasing": "cutout",
           "translation": "translate", "rotation": "rotate"}


def parse_augment(text: str | list[str] | None) -> list[str]:
    from playground.data.dataset import DatasetError

    if not text:
        return []
    items = text.split(",") if isinstance(text, str) else list(text)
    names = []
    for raw in items:
        name = raw.strip().lower()
        if not name or name == "none":
            continue
        name = ALIASES.get(name, name)
        if name not in AUGMENTATIONS:
            raise DatasetError(f"unknown augmentation {raw!r}; choose from "
                               f"{', '.join(AUGMENTATIONS)}")
        names.append(name)
    return list(dict.fromkeys(names))


def build_augmenter(names: list[str], image_shape, seed: int = 0):
    """A ``keras.Sequential`` of preprocessing layers, or None when no option is chosen."""
    if not names:
        return None
    import keras

    from playground.data.cutout import Cutout

    h, w, c = (int(d) for d in image_shape)
    L = keras.layers
    layers = []
    for i, name in enumerate(names):
        s = seed + i
        if name == "flip":
            layers.append(L.RandomFlip("horizontal", seed=s))
        elif name == "crop":
            layers += [L.ZeroPadding2D(4), L.RandomCrop(h, w, seed=s)]
        elif name == "translate":
            layers.append(L.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=s))
        elif name == "rotate":
            layers.append(L.RandomRotation(0.1, fill_mode="constant", seed=s))
        elif name == "zoom":
            layers.append(L.RandomZoom(0.1, fill_mode="constant", seed=s))
        elif name == "contrast":
            layers.append(L.RandomContrast(0.2, value_range=(0, 1), seed=s))
        elif name == "colour":
            layers.append(L.RandomBrightness(0.1, value_range=(0, 1), seed=s))
            if c == 3:
                layers.append(L.RandomHue(0.05, value_range=(0, 1), seed=s))
        elif name == "cutout":
            layers.append(Cutout(max(1, h // 4), max(1, w // 4), seed=s))
    return keras.Sequential(layers, name="augment")
