"""Presets come in the lecture's order (LeNet-5, AlexNet, VGG, GoogLeNet, ResNet, later ones) with
their year, in `presets` and in the Open Preset dialog; a new preset file slots in by its year."""

from __future__ import annotations

import json
import shutil

from playground.cli import main
from playground.core.presets import list_presets, presets_dir

LECTURE = ["lenet5", "alexnet", "vgg16", "vgg19", "googlenet", "googlenet_aux",
           "inception_naive_vs_bottleneck", "resnet18", "resnet34", "resnet50"]


def _in_order(keys: list[str], expected: list[str]) -> bool:
    positions = [keys.index(k) for k in expected if k in keys]
    return positions == sorted(positions)


def test_bundled_presets_are_in_lecture_order() -> None:
    keys = [p.key for p in list_presets()]
    assert keys[:2] == ["lenet5", "alexnet"]
    assert _in_order(keys, LECTURE)
    years = [p.year for p in list_presets()]
    assert all(isinstance(y, int) for y in years)
    assert years == sorted(years)


def test_cli_lists_them_in_that_order_with_the_year(capsys) -> None:
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    keys = [line.split()[0] for line in lines]
    assert _in_order(keys, LECTURE)
    assert lines[0].split()[1] == "1998" and lines[1].split()[1] == "2012"


def test_a_new_preset_slots_in_by_year_and_lecture_order(tmp_path, monkeypatch) -> None:
    for path in presets_dir().glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    lenet = json.loads((tmp_path / "lenet5.json").read_text())
    for key, name, year, order in (("zfnet", "ZFNet", 2013, None),
                                   ("aa_late", "Aardvark-Net", 2014, 90),
                                   ("no_year", "A timeless net", None, None)):
        doc = dict(lenet, name=name)
        doc.pop("year", None)
        if year is not None:
            doc["year"] = year
        if order is not None:
            doc["lecture_order"] = order
        (tmp_path / f"{key}.json").write_text(json.dumps(doc))
    monkeypatch.setenv("PLAYGROUND_PRESETS", str(tmp_path))
    keys = [p.key for p in list_presets()]
    assert keys.index("alexnet") < keys.index("zfnet") < keys.index("vgg16")
    assert keys.index("inception_naive_vs_bottleneck") < keys.index("aa_late") \
        < keys.index("resnet18")
    assert keys[-1] == "no_year"


def test_the_dialog_shows_the_year_in_lecture_order(qtbot) -> None:
    from playground.ui.dialogs import PresetDialog

    dialog = PresetDialog(list_presets())
    qtbot.addWidget(dialog)
    texts = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    assert texts[0].startswith("1998  LeNet-5")
    assert texts[1].startswith("2012  AlexNet")
    assert texts[2].startswith("2014  VGG-16")
