"""The training panel's dataset list is a view of the source registry (issue 12): no list or
combo index of its own, so a new source shows up and round-trips through set_dataset."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

import playground.ui  # noqa: E402,F401  (PySide6/Python 3.11 work-around)
from playground.core.errors import PlaygroundError  # noqa: E402
from playground.data import sources  # noqa: E402


@pytest.fixture
def panel(tiny_panel):
    return tiny_panel


def test_the_list_holds_every_source(panel) -> None:
    combo = panel.dataset_combo
    items = [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]
    named = [(s.label, s.name) for s in sources.named_sources()]
    assert items[:len(named)] == named
    assert items[len(named):] == [
        ("Segmentation folder (images/ + masks/) or Image folder...", "folder"),
        (".csv or .npz file...", "file")]


def test_set_dataset_round_trips_every_kind(panel, tmp_path) -> None:
    folder = tmp_path / "pets"
    folder.mkdir()
    specs = [*sources.builtin_names(), str(folder), str(tmp_path / "missing_folder"),
             str(tmp_path / "index.csv"), str(tmp_path / "arrays.npz")]
    for spec in specs:
        panel.set_dataset(spec)
        assert panel.dataset_spec() == spec
        assert panel.dataset_path.isEnabled() == (spec not in sources.builtin_names())
    panel.set_dataset(str(tmp_path / "arrays.npz"))
    assert panel.dataset_combo.currentData() == "file"
    panel.dataset_path.setText("")
    with pytest.raises(PlaygroundError, match=r"choose the dataset's \.csv or \.npz file"):
        panel.dataset_spec()
