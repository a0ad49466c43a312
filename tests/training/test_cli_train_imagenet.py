"""``train --init-weights imagenet``: the runner loads Keras' cached ImageNet file for a
keras.applications twin (a file placed in a temporary KERAS_HOME); offline (Keras' download
refused inside the training process) it names the file."""

from __future__ import annotations

import numpy as np

from playground.cli import main
from playground.core import fileformat
from tests.keras_build.helpers import write_legacy_h5
from tests.training.helpers import NOTOP, twin_graph


def test_train_loads_the_cached_imagenet_file(tmp_path, monkeypatch, capsys):
    home = tmp_path / "keras-home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    rng = np.random.default_rng(1)
    write_legacy_h5(home / "models" / NOTOP,
                    [("block1_conv1", [rng.normal(size=(3, 3, 1, 4)).astype("float32"),
                                       rng.normal(size=(4,)).astype("float32")])])
    path = tmp_path / "twin.json"
    fileformat.save(twin_graph(), path)
    args = ["train", str(path), "--dataset", "digits", "--epochs", "1", "--batch-size", "64",
            "--init-weights", "imagenet", "--no-run"]
    assert main(args) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert f"weights: imagenet (VGG16: {home / 'models' / NOTOP}): loaded 1 layer(s)" in err
    (home / "models" / NOTOP).unlink()
    from tests.child_hooks import inject

    inject(monkeypatch, tmp_path, """
        import keras

        def offline(*a, **k):
            raise Exception("URL fetch failure")

        keras.utils.get_file = offline
    """)
    assert main(args) == 1
    err = capsys.readouterr().err
    assert str(home / "models" / NOTOP) in err and "Traceback" not in err
