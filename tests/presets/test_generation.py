"""The committed preset files and gallery are exactly what the generator produces."""

from __future__ import annotations

import json

from playground.core import fileformat
from playground.core.presets import presets_dir
from playground.presetgen import gallery
from playground.presetgen.__main__ import GALLERY_NAME, generated_files, main
from playground.presetgen.registry import PRESETS


def test_committed_presets_equal_the_generated_ones():
    for name, text in generated_files().items():
        committed = (presets_dir() / name).read_text(encoding="utf-8")
        assert committed == text, f"{name} is stale: run python -m playground.presetgen"


def test_committed_gallery_equals_the_regenerated_one():
    expected = gallery.render(gallery.load_committed(presets_dir()))
    committed = (presets_dir() / GALLERY_NAME).read_text(encoding="utf-8")
    assert committed == expected, "run python -m playground.presetgen --gallery"


def test_gallery_shows_the_checkers_figures():
    text = (presets_dir() / GALLERY_NAME).read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[1:-1]]
            for line in text.splitlines() if line.startswith("| [")}
    assert len(rows) == len(PRESETS)
    alexnet = rows["[alexnet](alexnet.json)"]
    assert alexnet[1:3] == ["AlexNet", "2012"]
    assert alexnet[4:11] == ["62,378,344", "62,378,344", "1.14 G", "8", "227x227x3", "1000",
                             "67x67x3"]
    assert "ReLU, dropout" in alexnet[11]
    resnet18 = rows["[resnet18](resnet18.json)"]
    assert resnet18[4:6] == ["11,699,112", "11,689,512"]
    mobilenet = rows["[mobilenet](mobilenet.json)"]
    assert mobilenet[1] == "MobileNet (`keras.applications.MobileNet`)"
    assert "depthwise separable" in mobilenet[11]
    assert rows["[unet](unet.json)"][9] == "32x32x1"
    for fragment in ("3x3", "inception modules", "residual connections", "dense connectivity",
                     "encoder-decoder"):
        assert any(fragment in row[11] for row in rows.values()), fragment


def test_main_writes_checks_and_detects_stale_files(tmp_path, capsys):
    assert main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{k}.json" for k in PRESETS] + [GALLERY_NAME])
    assert main(["--out", str(tmp_path), "--check"]) == 0
    graph = fileformat.load(tmp_path / "lenet5.json")
    assert graph.name == "LeNet-5"
    doc = json.loads((tmp_path / "lenet5.json").read_text(encoding="utf-8"))
    doc["nodes"][1]["params"]["filters"] = 7
    (tmp_path / "lenet5.json").write_text(json.dumps(doc), encoding="utf-8")
    assert main(["--out", str(tmp_path), "--check"]) == 1
    assert "lenet5.json" in capsys.readouterr().err
    # --gallery rebuilds the gallery from the (edited) files, not from the generator.
    assert main(["--out", str(tmp_path), "--gallery"]) == 0
    row = next(line for line in (tmp_path / GALLERY_NAME).read_text(encoding="utf-8")
               .splitlines() if line.startswith("| [lenet5]"))
    # c1 with 7 filters: 7*25+7 = 182 and c3: 16*25*7+16 = 2,816 instead of 156 and 2,416.
    assert "| 62,132 | 62,132 |" in row


def test_gallery_of_a_folder_without_presets_is_a_message(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--gallery"]) == 1
    assert "cannot build the gallery" in capsys.readouterr().err
