"""docs/FORMAT.md's block reference is generated from the catalogue and must not drift."""

from __future__ import annotations

from pathlib import Path

from playground.blocks import CATALOGUE
from playground.blocks.docgen import BEGIN, END, generate, main, update

FORMAT_MD = Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md"


def test_format_md_holds_the_current_generated_reference() -> None:
    text = FORMAT_MD.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END) + 1
    assert text[start:end] == generate(), (
        "docs/FORMAT.md is out of date: run python -m playground.blocks.docgen --update "
        "docs/FORMAT.md")


def test_every_block_type_and_param_is_documented() -> None:
    text = generate()
    for spec in CATALOGUE.values():
        assert f"#### `{spec.type}`" in text
        for p in spec.params:
            assert f"| `{p.name}` | {p.kind} |" in text


def test_composite_parts_are_listed() -> None:
    text = generate()
    for part in ("`<id>_3x3_reduce`: Conv2D", "`<id>_pool`: MaxPooling2D",
                 "`<id>_5x5_bn`: BatchNormalization", "`<id>_concat`: Concatenate",
                 "`<id>_0_conv`: Conv2D", "`<id>_0_pad`: ZeroPadChannels",
                 "`<id>_3_bn`: BatchNormalization", "`<id>_out`: Activation"):
        assert part in text


def test_ranges_and_choices_are_shown() -> None:
    text = generate()
    assert '| `rate` | float | `0.5` | >= 0, < 1 |' in text
    assert '| `padding` | choice | `"valid"` | `"valid"`, `"same"` |' in text
    assert '| `strides` | pair | `null` | each >= 1, <= 10_000; or `null` |' in text


def test_update_rewrites_only_the_marked_part(tmp_path: Path, capsys) -> None:
    doc = tmp_path / "F.md"
    doc.write_text(f"intro\n{BEGIN}\nstale\n{END}\noutro\n", encoding="utf-8")
    assert main(["--update", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("intro\n" + BEGIN) and text.endswith(END + "\noutro\n")
    assert "stale" not in text
    assert update(doc) is False
    assert "updated" in capsys.readouterr().out
