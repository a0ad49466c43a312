"""Augmentation options from the lecture notes, as Keras preprocessing layers for the tf.data map.

Names are the run config's ``augment`` list: flip, crop, translate, rotate, zoom, shear,
contrast, colour (hue/brightness jitter), pca (AlexNet's "fancy PCA" colour augmentation, with
eigenvectors of the training set's pixels), cutout (random erasing). They are applied to training
batches only.
"""

from __future__ import annotations

import numpy as np

AUGMENTATIONS = {
    "flip": "horizontal flip",
    "crop": "random crop (pad 4 px, crop back)",
    "translate": "random translation up to 10%",
    "rotate": "random rotation up to 10%",
    "zoom": "random zoom up to 10%",
    "shear": "random shear up to 10% (horizontal and vertical)",
    "contrast": "random contrast 20%",
    "colour": "random brightness/colour shift",
    "pca": "PCA colour augmentation (AlexNet's fancy PCA, training-set eigenvectors)",
    "cutout": "cutout / random erasing of one square",
}
ALIASES = {"color": "colour", "hflip": "flip", "erase": "cutout", "erasing": "cutout",
           "translation": "translate", "rotation": "rotate", "shearing": "shear",
           "fancy_pca": "pca", "pca_colour": "pca", "pca_color": "pca"}


def parse_augment(text: str | list[str] | None) -> list[str]:
    from playground.data.base import DatasetError

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


def build_augmenter(names: list[str], image_shape, seed: int = 0, pca=None):
    """A ``keras.Sequential`` of preprocessing layers, or None when no option is chosen.

    ``pca``: (eigenvalues, eigenvectors) of the training pixels for the ``pca`` option
    (:func:`playground.data.colour_pca.colour_pca`); without them, independent per-channel
    jitter of the same size stands in (identity eigenvectors).
    """
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
        elif name == "shear":
            layers.append(L.RandomShear(0.1, 0.1, fill_mode="constant", seed=s))
        elif name == "pca":
            from playground.data.colour_pca import PCAColour

            values, vectors = pca if pca is not None else ([0.01] * c, np.eye(c))
            layers.append(PCAColour(values, vectors, seed=s))
        elif name == "contrast":
            layers.append(L.RandomContrast(0.2, value_range=(0, 1), seed=s))
        elif name == "colour":
            layers.append(L.RandomBrightness(0.1, value_range=(0, 1), seed=s))
            if c == 3:
                layers.append(L.RandomHue(0.05, value_range=(0, 1), seed=s))
        elif name == "cutout":
            layers.append(Cutout(max(1, h // 4), max(1, w // 4), seed=s))
    return keras.Sequential(layers, name="augment")


def training_pca(data, rows=None, seed: int = 0, count: int = 128, channels: int | None = None):
    """Fancy-PCA statistics from up to ``count`` training images of ``data`` (a Dataset or a
    FileDataset: only those images are decoded), seeded; rows default to the whole set.
    ``channels``: the model's channel count (gray <-> RGB as the pipeline converts)."""
    from playground.data.colour_pca import colour_pca

    rows = np.arange(len(data.y)) if rows is None else np.asarray(rows)
    if len(rows) > count:
        rows = np.sort(np.random.default_rng(seed).choice(rows, count, replace=False))
    if getattr(data, "streamed", False):
        from playground.data.stream import decode_many

        images, _ = decode_many([data.paths[int(r)] for r in rows], data.image_shape, skip=True)
    else:
        images = np.asarray(data.x[rows])
    if channels is not None and images.shape[-1] != channels:
        from playground.data.adapt import LUMA

        images = (np.repeat(images, channels, axis=-1) if images.shape[-1] == 1
                  else (images.astype(np.float64) @ np.array(LUMA))[..., None])
        images = images.astype(np.float64) / 255.0
    return colour_pca(images, seed=seed)
