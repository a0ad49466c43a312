"""Issue 10 point 5: every export path writes one SavedModel contract, served by plain TensorFlow
with raw images at their own size, at another size, and as encoded bytes."""

from __future__ import annotations

import numpy as np

from playground import cli
from playground.core.fileformat import save as save_graph
from playground.data.digits import load_digits
from playground.training.config import RunConfig
from playground.training.runner import run_training
from tests.exporters.serving_checks import check_contract, load, manifest, resize, serve
from tests.training.helpers import chain, tiny


def test_export_command_serves_raw_images_of_any_size_untrained(tmp_path, capsys):
    graph = tiny(shape=(12, 12, 3), classes=4)
    path = tmp_path / "g.json"
    save_graph(graph, path)
    out = tmp_path / "served"
    assert cli.main(["export", str(path), "--format", "savedmodel", "--out", str(out)]) == 0
    rgb = np.random.default_rng(0).integers(0, 256, size=(3, 12, 12, 3), dtype=np.uint8)
    check_contract(out, rgb, 4)
    info = manifest(out)
    assert info["weights"] == "untrained" and info["class_names_known"] is False
    assert info["class_names"] == ["0", "1", "2", "3"]
    assert info["input"]["shape"] == [None, None, None, 3] and info["model_input"] == [12, 12, 3]


def test_train_export_serves_digits_at_their_size_and_another(tmp_path):
    """Trained on 8x8 gray digits with a 12x12 RGB model: the SavedModel takes the raw 8x8 gray
    digits, 20x20 ones, and their PNG/JPEG files; names and weights are the run's."""
    import keras

    from playground.data.adapt import adapt_array

    keras.utils.set_random_seed(0)
    out = tmp_path / "served"
    result = run_training(tiny(shape=(12, 12, 3)), RunConfig(epochs=3, batch_size=32),
                          run_dir=tmp_path / "run", export_dir=str(out))
    assert result.status == "finished", result.message
    data = load_digits()
    rows = result.eval_indices
    raw = data.x[rows]
    probs = check_contract(out, raw[:8], 10)
    expected = result.model.predict(adapt_array(raw[:8], (12, 12, 3)), verbose=0)
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    served = load(out)
    accuracy = float(np.mean(serve(served, raw).argmax(1) == data.y[rows]))
    assert abs(accuracy - result.evaluation["accuracy"]) < 1e-6
    bigger = float(np.mean(serve(served, resize(raw, 20, 20)).argmax(1) == data.y[rows]))
    assert bigger > 0.5 * accuracy
    info = manifest(out)
    assert info["class_names"] == data.class_names and info["class_names_known"] is True
    assert info["weights"] == f"run {tmp_path / 'run'}"


def test_folder_of_16x16_pngs_serves_16x16_and_28x28_digits(tmp_path, capsys):
    """The issue's case: a 32x32 model trained on a folder of 16x16 digit PNGs (class folders
    with names) serves 16x16 and 28x28 digits, and the folder's class names travel with it."""
    from PIL import Image

    data = load_digits()
    names = ["zero", "one", "two"]
    keep = np.flatnonzero(data.y < 3)
    digits16 = resize(data.x[keep], 16, 16)
    root = tmp_path / "digits16"
    for i, (image, label) in enumerate(zip(digits16, data.y[keep], strict=True)):
        folder = root / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[..., 0]).save(folder / f"{i:04d}.png")
    graph = chain("net32", [
        ("input", "Input", {"shape": [32, 32, 1]}),
        ("conv", "Conv2D", {"filters": 6, "kernel_size": 5, "strides": 2, "activation": "relu"}),
        ("pool", "MaxPooling2D", {"pool_size": 2}),
        ("flatten", "Flatten", {}),
        ("out", "Dense", {"units": 3, "activation": "softmax"}),
    ])
    path = tmp_path / "net32.json"
    save_graph(graph, path)
    out = tmp_path / "served"
    assert cli.main(["train", str(path), "--dataset", str(root), "--epochs", "4",
                     "--batch-size", "32", "--run-dir", str(tmp_path / "run"),
                     "--export", str(out)]) == 0
    capsys.readouterr()
    check_contract(out, digits16[:6], 3)
    served = load(out)
    order = sorted(names)                    # class folders in sorted order
    labels = np.array([order.index(names[y]) for y in data.y[keep]])
    acc16 = float(np.mean(serve(served, digits16).argmax(1) == labels))
    acc28 = float(np.mean(serve(served, resize(data.x[keep], 28, 28)).argmax(1) == labels))
    assert acc16 > 0.9 and acc28 > 0.8, (acc16, acc28)
    assert [n.decode() for n in served.class_names().numpy()] == order
    assert manifest(out)["input"]["shape"] == [None, None, None, 1]


def test_export_with_a_run_folder_as_weights_carries_the_run_and_its_names(tmp_path, capsys):
    graph = tiny()
    run = tmp_path / "run"
    result = run_training(graph, RunConfig(epochs=2, batch_size=64), run_dir=run)
    assert result.status == "finished", result.message
    path = tmp_path / "g.json"
    save_graph(graph, path)
    out = tmp_path / "served"
    assert cli.main(["export", str(path), "--format", "savedmodel", "--out", str(out),
                     "--init-weights", str(run)]) == 0
    data = load_digits()
    rows = result.eval_indices
    served = load(out)
    accuracy = float(np.mean(serve(served, data.x[rows]).argmax(1) == data.y[rows]))
    assert abs(accuracy - result.evaluation["accuracy"]) < 1e-6
    info = manifest(out)
    assert info["weights"] == str(run) and info["class_names_known"] is True


def test_photos_are_served_as_they_are_on_disk(tmp_path, capsys):
    """Colour 'photos' of two sizes (50x37 and 37x50 JPEGs) in class folders, a 16x16 RGB model:
    the files' own bytes are served, and so are the decoded photos at their size."""
    import tensorflow as tf
    from PIL import Image

    rng = np.random.default_rng(0)
    root = tmp_path / "photos"
    files = []
    for label, name in enumerate(("blue", "red")):       # class index = sorted folder order
        (root / name).mkdir(parents=True)
        for i in range(40):
            size = (50, 37) if i % 2 else (37, 50)
            base = np.zeros((size[1], size[0], 3), np.float64)
            base[..., 2 if label == 0 else 0] = 200
            image = np.clip(base + rng.normal(0, 30, base.shape), 0, 255).astype(np.uint8)
            path = root / name / f"{i:03d}.jpg"
            Image.fromarray(image).save(path, quality=90)
            files.append((path, label))
    graph = tiny(shape=(16, 16, 3), classes=2)
    gpath = tmp_path / "g.json"
    save_graph(graph, gpath)
    out = tmp_path / "served"
    assert cli.main(["train", str(gpath), "--dataset", str(root), "--epochs", "3",
                     "--lr", "0.01", "--run-dir", str(tmp_path / "run"),
                     "--export", str(out)]) == 0
    capsys.readouterr()
    served = load(out)
    blobs = [path.read_bytes() for path, _ in files]
    probs = served.serve_bytes(tf.constant(blobs)).numpy()
    labels = np.array([label for _, label in files])
    assert probs.shape == (len(files), 2) and np.mean(probs.argmax(1) == labels) > 0.9
    one = tf.io.decode_jpeg(blobs[1]).numpy()[None]          # 37 x 50 as decoded
    np.testing.assert_allclose(serve(served, one), probs[1:2], atol=1e-5)
    assert [n.decode() for n in served.class_names().numpy()] == ["blue", "red"]
