"""Issue 11: where training writes and what it may train. ``train --save`` onto an existing file
needs ``--force``; no ``--force`` replaces a device, FIFO or folder with a file; a model output
that cannot feed the loss is named by the checker and refused by the bench (no raw Keras error,
no dangling conv "retargeted"); the memory check counts what training holds (gradients,
optimizer slots, activations for backprop) against the cgroup limit too.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from playground.core import fileformat, retarget
from playground.core.shapes import analyze
from tests.reliability.helpers import document, run_cli, tiny_document, write_graph

MIB = 1024**2


@pytest.fixture
def graph_file(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    return write_graph(tmp_path / "tiny.json", tiny_document())


# ------------------------------------------------------------------ --save / --force
def test_train_save_onto_an_existing_file_needs_force(graph_file, tmp_path, capsys):
    model = tmp_path / "m.keras"
    model.write_bytes(b"someone's trained model")
    code, out, err = run_cli(capsys, "train", graph_file, "--dataset", "digits", "--epochs",
                             "1", "--no-run", "--save", model)
    assert code == 2 and out == ""              # refused before any training
    assert f"--save {model}: the file already exists; pass --force to replace it" in err
    assert model.read_bytes() == b"someone's trained model"
    code, out, err = run_cli(capsys, "train", graph_file, "--dataset", "digits", "--epochs",
                             "1", "--batch-size", "256", "--no-run", "--save", model, "--force")
    assert code == 0, err
    assert model.read_bytes()[:2] == b"PK"      # a .keras zip now


@pytest.mark.parametrize("kind", ["fifo", "device link", "folder"])
def test_force_never_replaces_a_device_fifo_or_folder(graph_file, tmp_path, capsys, kind):
    target = tmp_path / "target.keras"
    if kind == "fifo":
        os.mkfifo(target)
        what = "is a FIFO (named pipe)"
    elif kind == "device link":
        target.symlink_to("/dev/null")
        what = "is a character device (through the link"
    else:
        target.mkdir()
        what = "is a folder"
    before = os.lstat(target)
    code, _, err = run_cli(capsys, "export", graph_file, "--format", "keras", "--out", target,
                           "--force")
    assert code != 0 and what in err, err
    code, out, err = run_cli(capsys, "train", graph_file, "--dataset", "digits", "--epochs",
                             "1", "--no-run", "--save", target, "--force")
    assert code == 2 and out == "" and what in err, err
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


# ------------------------------------------------------------------ outputs and the loss
def _dangling_conv_document():
    """The tiny classifier with a second conv hanging off ``conv``: a valid graph with two
    outputs, one of them a 6x6x8 feature map."""
    doc = tiny_document("dangling")
    doc["nodes"].append({"id": "conv2", "type": "Conv2D",
                         "params": {"filters": 8, "kernel_size": 1}, "pos": [260, 200]})
    doc["edges"].append({"from": "conv", "to": "conv2"})
    return doc


def test_the_checker_names_an_output_that_cannot_feed_the_loss(tmp_path, capsys):
    path = write_graph(tmp_path / "g.json", _dangling_conv_document())
    code, out, _ = run_cli(capsys, "check", path)
    assert code == 0                          # exportable, so still valid; but said
    assert ("warning: node conv2: has no outgoing edge, so it becomes an extra model output of "
            "shape (6, 6, 8), not a vector of class scores, so it cannot feed the "
            "classification loss") in out
    assert out.count("node conv2") == 1       # one warning for the node, not two
    # U-Net's only output is an image: a dense-prediction model, not a broken classifier.
    from playground.core.presets import load_preset

    unet = analyze(load_preset("unet"))
    assert not [p for p in unet.problems if "classification loss" in p.message]


def test_training_never_retargets_a_node_that_is_not_a_classifier_head(tmp_path, capsys):
    graph = fileformat.from_document(_dangling_conv_document())
    assert retarget.find_heads(graph) == ["out"]
    assert retarget.set_classes(graph, 3) == ["out"]
    assert graph.node("conv2").params["filters"] == 8
    path = write_graph(tmp_path / "g.json", _dangling_conv_document())
    code, out, err = run_cli(capsys, "train", path, "--dataset", "digits", "--epochs", "1",
                             "--no-run")
    assert code == 1 and out == ""
    assert ("error: node conv2: has no outgoing edge, so it becomes an extra model output of "
            "shape (6, 6, 8), not a vector of class scores") in err
    assert "retargeted" not in err and "ValueError" not in err and "Keras" not in err


def test_no_raw_keras_error_reaches_the_user(graph_file, capsys, monkeypatch, tmp_path):
    """Whatever Keras raises inside the run (in the training process) becomes one sentence
    saying what the run was doing."""
    from tests.child_hooks import inject

    inject(monkeypatch, tmp_path, """
        import keras

        def refuse(self, *args, **kwargs):
            raise ValueError("Arguments `target` and `output` must have the same rank (ndim).\\n"
                             "Received: target.shape=(None,), output.shape=(None, 6, 6, 10)\\n"
                             * 20)

        keras.Model.fit = refuse
    """)
    code, _, err = run_cli(capsys, "train", graph_file, "--dataset", "digits", "--epochs", "1",
                           "--no-run")
    assert code == 1
    line = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(line) == 1
    assert line[0].startswith("error: training failed while training (ValueError: Arguments "
                              "`target` and `output` must have the same rank")
    assert line[0].endswith("...); set PLAYGROUND_DEBUG=1 to see the details")
    assert len(line[0]) < 420


# ------------------------------------------------------------------ memory
WIDE = document([
    {"id": "input", "type": "Input", "params": {"shape": [32, 32, 3]}},
    {"id": "conv", "type": "Conv2D", "params": {"filters": 64, "kernel_size": 3,
                                                "padding": "same", "activation": "relu"}},
    {"id": "flatten", "type": "Flatten", "params": {}},
    {"id": "fc", "type": "Dense", "params": {"units": 512, "activation": "relu"}},
    {"id": "out", "type": "Dense", "params": {"units": 10, "activation": "softmax"}},
], [("input", "conv"), ("conv", "flatten"), ("flatten", "fc"), ("fc", "out")], name="wide")


def test_the_training_estimate_counts_gradients_optimizer_slots_and_backprop():
    pytest.importorskip("keras")
    from playground.keras_build.compile import (
        CompileError,
        check_fits,
        estimate_parts,
        memory_estimate,
    )

    analysis = analyze(fileformat.from_document(WIDE))
    params, trainable = analysis.total_params, analysis.trainable_params
    largest = max(r.memory_bytes for r in analysis.nodes.values())
    batch = 32
    inference = memory_estimate(analysis, batch)
    assert inference == params * 4 + analysis.memory_bytes * batch
    for optimizer, momentum, slots in [("adam", 0.9, 2), ("adamw", 0.9, 2), ("sgd", 0.9, 1),
                                       ("sgd", 0.0, 0), ("rmsprop", 0.0, 1)]:
        need = memory_estimate(analysis, batch, training=True, optimizer=optimizer,
                               momentum=momentum)
        assert need == (params * 4 + trainable * 4 + trainable * 4 * slots
                        + analysis.memory_bytes * batch + 2 * largest * batch)
    parts = estimate_parts(analysis, batch, training=True, optimizer="adam")
    limit = (inference + parts.total) // 2        # enough to run it, not to train it
    check_fits(analysis, batch, limit=limit)      # inference fits
    with pytest.raises(CompileError) as info:
        check_fits(analysis, batch, limit=limit, training=True, optimizer="adam")
    message = str(info.value)
    assert f"the model needs about {parts.total / 1024**3:.1f} GiB to train" in message
    for part in ("gradients", "optimizer state", "activations kept for backprop",
                 "backward pass", f"but only {limit / 1024**3:.1f} GiB is available"):
        assert part in message


def test_cgroup_limits_v2_and_v1_are_read(tmp_path):
    from playground.keras_build.memlimit import cgroup_available

    v2 = tmp_path / "v2"
    (v2 / "user.slice" / "job").mkdir(parents=True)
    proc = tmp_path / "cgroup"
    proc.write_text("0::/user.slice/job\n")
    (v2 / "user.slice" / "job" / "memory.max").write_text(f"{2048 * MIB}\n")
    (v2 / "user.slice" / "job" / "memory.current").write_text(f"{1536 * MIB}\n")
    (v2 / "user.slice" / "job" / "memory.stat").write_text(f"anon 1\ninactive_file {512 * MIB}\n")
    (v2 / "user.slice" / "memory.max").write_text("max\n")
    left, where = cgroup_available(str(v2), str(proc))
    assert left == 1024 * MIB                 # 2 GiB - (1.5 GiB - 0.5 GiB of reclaimable cache)
    assert where.startswith(f"cgroup limit 2.0 GiB in {v2}/user.slice/job/memory.max")
    (v2 / "user.slice" / "job" / "memory.max").write_text("max\n")
    assert cgroup_available(str(v2), str(proc)) is None

    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    proc.write_text("4:memory:/docker/abc\n0::/\n")  # the group is the root of the mount here
    (v1 / "memory" / "memory.limit_in_bytes").write_text(f"{4096 * MIB}\n")
    (v1 / "memory" / "memory.usage_in_bytes").write_text(f"{1024 * MIB}\n")
    left, where = cgroup_available(str(v1), str(proc))
    assert left == 3072 * MIB and "memory.limit_in_bytes" in where
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert cgroup_available(str(v1), str(proc)) is None


def test_train_refuses_up_front_under_a_cgroup_limit(graph_file, tmp_path, capsys,
                                                     monkeypatch):
    """A container allowing 1 MiB: refused before any training, with the estimate and the
    limit's file; today the kernel would kill the process without a word."""
    pytest.importorskip("keras")
    from tests.child_hooks import inject

    inject(monkeypatch, tmp_path, f"""
        from playground.keras_build import memlimit

        memlimit.cgroup_available = lambda *a, **k: (
            {MIB}, "cgroup limit 0.5 GiB in /sys/fs/cgroup/memory.max, 0.5 GiB in use")
    """)
    path = write_graph(tmp_path / "wide.json", WIDE)
    code, out, err = run_cli(capsys, "train", path, "--dataset", "digits", "--epochs", "1",
                             "--no-run")
    assert code == 1 and out == ""
    assert "error: the model needs about " in err and " to train (" in err
    assert ("is available; shrink the input, the widths or the batch (the limit: cgroup limit "
            "0.5 GiB in /sys/fs/cgroup/memory.max") in err
