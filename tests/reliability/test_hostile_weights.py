"""Issue 11, high 3 and 4 and the weight-file memory bombs: a stranger's ``.weights.h5``, ``.h5``
or ``.keras`` never puts the bytes of a local file into a model (HDF5 external storage, external
links, soft links, virtual datasets are refused before any array is read), the safe loader is
used even when a ``config.json`` sits beside the file, archives and datasets that declare
gigabytes are refused or left unread, float64 1e300 and int64 weights are refused, and every
crafted file's error is a typed error naming the file. Every hostile file is made here.
"""

from __future__ import annotations

import json
import threading
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from playground.core import fileformat
from tests.keras_files import HDF5_SIGNATURE, forbid_keras_loading, write_keras_archive
from tests.reliability.helpers import run_cli, tiny_document, write_graph

keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

KERNEL = (3, 3, 1, 4)   # the tiny graph's conv kernel


@pytest.fixture(autouse=True)
def _never_keras_loader(monkeypatch):
    """Weights from a file are read by our own reader only: Keras' loaders are booby-trapped."""
    forbid_keras_loading(monkeypatch, keras, "a Keras loader or deserializer was called")


def _model():
    from playground.keras_build.compile import build_model

    return build_model(fileformat.from_document(tiny_document()))


def _weights(model) -> list[np.ndarray]:
    return [w.copy() for w in model.get_weights()]


def _secret(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A local file whose bytes must never become weights (exactly one conv kernel's worth)."""
    values = np.arange(1, 1 + int(np.prod(KERNEL)), dtype="<f4") * 1000
    path = tmp_path / "secret.bin"
    path.write_bytes(values.tobytes())
    return path, values.reshape(KERNEL)


def _kernel_path(h5) -> str:
    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Group) and obj.attrs.get("name") == "conv":
            found.append(name + "/0")
    h5.visititems(visit)
    return found[0]


def _craft(h5_path: Path, kind: str, tmp_path: Path, secret: Path, secret_values) -> None:
    """Replace the conv kernel of a real weights file with a dataset or link pointing outside."""
    other = tmp_path / f"other_{kind}.h5"
    with h5py.File(other, "w") as f:
        f["kernel"] = secret_values
    with h5py.File(h5_path, "a") as h5:
        where = _kernel_path(h5)
        group, name = h5[where.rsplit("/", 1)[0]], where.rsplit("/", 1)[1]
        del group[name]
        if kind == "external_storage":
            group.create_dataset(name, shape=KERNEL, dtype="<f4",
                                 external=[(str(secret), 0, secret.stat().st_size)])
        elif kind == "external_link":
            group[name] = h5py.ExternalLink(str(other), "/kernel")
        elif kind == "soft_link":
            h5["stash"] = secret_values
            group[name] = h5py.SoftLink("/stash")
        elif kind == "virtual":
            layout = h5py.VirtualLayout(shape=KERNEL, dtype="<f4")
            layout[...] = h5py.VirtualSource(str(other), "kernel", shape=KERNEL)
            group.create_virtual_dataset(name, layout)


def _replace_member(archive_path: Path, member: str, data: bytes,
                    compression: int = zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(archive_path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members[member] = data
    with zipfile.ZipFile(archive_path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content, compress_type=(
                compression if name == member else zipfile.ZIP_STORED))


def _legacy_h5(path: Path, model) -> Path:
    """A Keras 2 style ``.h5`` (keras.applications' layout: ``layer_names``/``weight_names``)."""
    with h5py.File(path, "w") as h5:
        names = [layer.name for layer in model.layers if layer.weights]
        h5.attrs["layer_names"] = [n.encode() for n in names]
        for name in names:
            layer = model.get_layer(name)
            group = h5.create_group(name)
            group.attrs["name"] = name          # lets _kernel_path find the conv group
            weight_names = [str(i) for i in range(len(layer.weights))]
            group.attrs["weight_names"] = [w.encode() for w in weight_names]
            for w, value in zip(weight_names, layer.get_weights(), strict=True):
                group[w] = value
    return path


def _weights_file(tmp_path: Path, container: str) -> Path:
    """A real weights file of the tiny graph (``.weights.h5``, legacy ``.h5`` or ``.keras``)."""
    source = _model()
    if container == "legacy.h5":
        return _legacy_h5(tmp_path / "stranger.h5", source)
    if container == "weights.h5":
        path = tmp_path / "stranger.weights.h5"
        source.save_weights(path)
    else:
        path = tmp_path / "stranger.keras"
        source.save(path)
    return path


def _crafted(tmp_path: Path, container: str, kind: str) -> Path:
    secret, values = _secret(tmp_path)
    path = _weights_file(tmp_path, container)
    if container in ("weights.h5", "legacy.h5"):
        _craft(path, kind, tmp_path, secret, values)
    else:
        inner = tmp_path / "inner.weights.h5"
        with zipfile.ZipFile(path) as archive:
            inner.write_bytes(archive.read("model.weights.h5"))
        _craft(inner, kind, tmp_path, secret, values)
        _replace_member(path, "model.weights.h5", inner.read_bytes())
    return path


@pytest.mark.parametrize("container", ["weights.h5", "legacy.h5", "keras"])
@pytest.mark.parametrize("kind", ["external_storage", "external_link", "soft_link", "virtual"])
def test_hdf5_pointing_outside_the_file_is_refused(tmp_path, container, kind, monkeypatch):
    from playground.keras_build.weights import WeightsError, load_weights

    monkeypatch.chdir(tmp_path)   # relative external paths would resolve here
    path = _crafted(tmp_path, container, kind)
    model = _model()
    before = _weights(model)
    with pytest.raises(WeightsError, match="points outside itself") as caught:
        load_weights(model, path)
    assert str(path) in str(caught.value)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    secret_values = _secret(tmp_path)[1]
    assert not any(np.array_equal(w, secret_values) for w in model.get_weights())


@pytest.mark.parametrize("container", ["weights.h5", "legacy.h5", "keras"])
def test_plain_files_of_every_kind_still_load(tmp_path, container):
    from playground.keras_build.weights import load_weights

    path = _weights_file(tmp_path, container)
    model = _model()
    report = load_weights(model, path)
    assert sorted(report.matched) == ["conv", "out"] and not report.skipped


def test_cli_export_with_external_storage_weights_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _crafted(tmp_path, "weights.h5", "external_storage")
    graph = write_graph(tmp_path / "g.json", tiny_document())
    out = tmp_path / "out.keras"
    code, _out, err = run_cli(capsys, "export", graph, "--format", "keras", "--out", out,
                              "--init-weights", path)
    assert code == 1 and str(path) in err and "another file" in err
    assert not out.exists()


def test_the_safe_loader_is_used_when_a_config_json_sits_beside_the_file(tmp_path):
    from playground.keras_build.weights import WeightsError
    from playground.training.transfer import load_init_weights

    path = _weights_file(tmp_path, "keras")
    (tmp_path / "config.json").write_text(json.dumps({"graph": tiny_document()}))
    model = _model()
    report = load_init_weights(model, str(path))        # our reader: Keras' is booby-trapped
    assert sorted(report.matched) == ["conv", "out"]
    other = tmp_path / "other"
    other.mkdir()
    crafted = _crafted(other, "keras", "external_storage")
    (crafted.parent / "config.json").write_text(json.dumps({"graph": tiny_document()}))
    with pytest.raises(WeightsError, match="points outside itself"):
        load_init_weights(_model(), str(crafted))


def test_a_run_folder_is_read_by_the_safe_loader_too(tmp_path):
    from playground.keras_build.weights import WeightsError
    from playground.training.transfer import load_init_weights

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"graph": tiny_document()}))
    _model().save_weights(run / "best.weights.h5")
    model = _model()
    assert sorted(load_init_weights(model, str(run)).matched) == ["conv", "out"]
    secret, values = _secret(tmp_path)
    _craft(run / "best.weights.h5", "external_storage", tmp_path, secret, values)
    with pytest.raises(WeightsError, match="another file"):
        load_init_weights(_model(), str(run))


# ----------------------------------------------------------------------------- memory bombs
def test_a_keras_whose_members_decompress_to_far_more_is_refused(tmp_path):
    from playground.keras_build.importer import ModelImportError, import_model
    from playground.keras_build.weights import WeightsError, load_weights

    for member in ("metadata.json", "model.weights.h5"):
        path = _weights_file(tmp_path, "keras")
        data = b" " * (64 * 1024 * 1024) if member == "metadata.json" else (
            HDF5_SIGNATURE + b"\0" * (64 * 1024 * 1024))
        _replace_member(path, member, data, zipfile.ZIP_DEFLATED)
        assert path.stat().st_size < 1024 * 1024
        with pytest.raises(WeightsError, match=f"{member}.*(zip bomb|declares)") as caught:
            load_weights(_model(), path)
        assert str(path) in str(caught.value)
        with pytest.raises(ModelImportError, match=str(path)):
            import_model(path)


def _declared_huge(path: Path, shape: tuple[int, ...], name: str = "conv") -> Path:
    """A weights file whose layer declares ``shape`` (chunked, never written: a few KB)."""
    with h5py.File(path, "w") as h5:
        group = h5.create_group("layers/conv2d/vars")
        group.attrs["name"] = name
        group.create_dataset("0", shape=shape, dtype="<f4", chunks=(1024,))
        group.create_dataset("1", data=np.zeros(4, "<f4"))
    return path


def test_a_dataset_declaring_a_huge_shape_is_never_read(tmp_path):
    from playground.keras_build.weights import WeightsError, load_weights, read_weights

    path = _declared_huge(tmp_path / "bomb.weights.h5", (1 << 26,))   # 256 MiB declared
    assert path.stat().st_size < 64 * 1024
    model = _model()
    tracemalloc.start()
    try:
        report = load_weights(model, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024, f"{peak:,} bytes allocated for a header"
    assert "conv" in [s.layer for s in report.skipped]
    assert "(67108864,)" in str(report.skipped)
    big = _declared_huge(tmp_path / "big.weights.h5", (1 << 30,))      # 4 GiB declared
    with pytest.raises(WeightsError, match="declares") as caught:
        read_weights(big)                                              # no model to compare to
    assert str(big) in str(caught.value)


@pytest.mark.parametrize("values, needle", [
    (np.full(KERNEL, 1e300, dtype="<f8"), "beyond the range of float32"),
    (np.ones(KERNEL, dtype="<i8"), "int64 weights"),
])
def test_weights_that_are_not_float32_numbers_are_refused(tmp_path, values, needle):
    from playground.keras_build.weights import WeightsError, load_weights

    path = _weights_file(tmp_path, "weights.h5")
    with h5py.File(path, "a") as h5:
        where = _kernel_path(h5)
        del h5[where]
        h5[where] = values
    model = _model()
    before = _weights(model)
    with pytest.raises(WeightsError, match=needle) as caught:
        load_weights(model, path)
    assert str(path) in str(caught.value) and "'conv'" in str(caught.value)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def _returns_within(fn, seconds: float = 10.0):
    """Run ``fn`` in a thread; fail (instead of hanging the suite) if it blocks."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    return thread, box


@pytest.mark.parametrize("suffix", [".keras", ".weights.h5", ".json"])
@pytest.mark.parametrize("kind", ["fifo", "dev_zero"])
def test_a_fifo_or_device_named_like_a_model_or_graph_never_hangs(tmp_path, suffix, kind):
    import os

    from playground.core.errors import GraphFileError
    from playground.keras_build.weights import WeightsError, load_weights

    path = tmp_path / f"trap{suffix}"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    fn = (lambda: fileformat.load(path)) if suffix == ".json" else (
        lambda: load_weights(_model(), path))
    thread, box = _returns_within(fn)
    hung = thread.is_alive()
    if hung and kind == "fifo":   # unblock the reader (today's code waits for a writer)
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        thread.join(5)
    assert not hung, "the read blocked or went on without end"
    assert isinstance(box.get("error"), GraphFileError | WeightsError), repr(box)
    message = str(box["error"])
    assert str(path) in message
    assert "is a FIFO (named pipe)" in message or "is a character device" in message


def test_cli_check_of_a_graph_path_to_dev_zero_exits_2(tmp_path, capsys):
    path = tmp_path / "zero.json"
    path.symlink_to("/dev/zero")
    code, _out, err = run_cli(capsys, "check", path)
    assert code == 2 and "character device" in err and str(path) in err


# ----------------------------------------------------------------- crafted files are named
def _crafted_files(tmp_path: Path) -> list[Path]:
    layer = {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
             "config": {"batch_shape": [None, 8, 8, 1], "name": "input"}, "inbound_nodes": []}
    dense = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 3},
             "inbound_nodes": [0]}
    out = [
        write_keras_archive(tmp_path / "inbound.keras", {"class_name": "Functional", "config": {
            "name": "m", "layers": [layer, dense], "input_layers": [["input", 0, 0]],
            "output_layers": [["d", 0, 0]]}}),
        write_keras_archive(tmp_path / "outputs.keras", {"class_name": "Functional", "config": {
            "name": "m", "layers": [layer], "input_layers": [["input", 0, 0]],
            "output_layers": 7}}),
        write_keras_archive(tmp_path / "damaged_h5.keras", {"class_name": "Functional", "config": {
            "name": "m", "layers": [layer], "input_layers": [["input", 0, 0]],
            "output_layers": [["input", 0, 0]]}}),
    ]
    deep = tmp_path / "deep.keras"
    with zipfile.ZipFile(deep, "w") as archive:
        archive.writestr("config.json", '{"class_name": "Functional", "config": {"layers": '
                         + "[" * 50_000 + "]" * 50_000 + "}}")
    out.append(deep)
    names = tmp_path / "names.h5"
    with h5py.File(names, "w") as h5:
        h5.attrs["layer_names"] = np.array([1, 2, 3])
        h5["1"] = np.zeros(3)
    out.append(names)
    strings = tmp_path / "strings.weights.h5"
    with h5py.File(strings, "w") as h5:
        group = h5.create_group("layers/conv2d/vars")
        group.attrs["name"] = "conv"
        group["0"] = np.array([b"x"] * int(np.prod(KERNEL))).reshape(KERNEL)
        group["1"] = np.zeros(4, "<f4")
    out.append(strings)
    return out


def test_every_crafted_file_error_is_typed_and_names_the_file(tmp_path, capsys):
    from playground.keras_build.importer import ModelImportError, import_model
    from playground.keras_build.weights import WeightsError, load_weights

    graph = write_graph(tmp_path / "g.json", tiny_document())
    for path in _crafted_files(tmp_path):
        with pytest.raises(WeightsError) as caught:
            load_weights(_model(), path)
        assert str(path) in str(caught.value)
        if path.suffix == ".keras":
            with pytest.raises(ModelImportError, match=str(path)):
                import_model(path)
            code, _out, err = run_cli(capsys, "import", path, "--out", tmp_path / "o.json")
            assert code == 1 and str(path) in err and "unexpected" not in err
        code, _out, err = run_cli(capsys, "export", graph, "--format", "keras", "--out",
                                  tmp_path / "o.keras", "--init-weights", path)
        assert code == 1 and str(path) in err and "unexpected" not in err
        assert "smaller batch" not in err


def test_memory_errors_while_reading_are_named_not_advice_about_batches(tmp_path, monkeypatch):
    from playground.keras_build import weights

    path = _weights_file(tmp_path, "weights.h5")

    def no_memory(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(weights, "_read_dataset", no_memory)
    with pytest.raises(weights.WeightsError, match="more data than fits in memory") as caught:
        weights.load_weights(_model(), path)
    assert str(path) in str(caught.value) and "batch" not in str(caught.value)
