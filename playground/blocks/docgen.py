"""Generates the block reference of docs/FORMAT.md from the catalogue, so the doc never drifts.

    python -m playground.blocks.docgen                      # print the reference (Markdown)
    python -m playground.blocks.docgen --update docs/FORMAT.md
        # rewrite the part between the BEGIN/END markers of that file, atomically

The composite parts are listed by running each composite's own shape rule on sample params, so
they are the names the compiler really gives the Keras layers (``<id>_<part>``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from playground.blocks import by_category
from playground.blocks.spec import ACTIVATIONS, BlockSpec, Param, resolve_params

BEGIN = "<!-- BEGIN GENERATED BLOCK REFERENCE (python -m playground.blocks.docgen --update) -->"
END = "<!-- END GENERATED BLOCK REFERENCE -->"

KINDS = {
    "int": "an integer (JSON number without fraction; `\"3\"` and `true` are refused)",
    "float": "a number",
    "bool": "`true` or `false`",
    "choice": "one of the listed strings",
    "activation": "an activation name: " + ", ".join(f"`{a}`" for a in ACTIVATIONS)
                  + " (`null` means `linear`)",
    "pair": "an integer or `[height, width]`",
    "pad2": "an integer, `[height, width]` or `[[top, bottom], [left, right]]`",
    "shape": "a non-empty list of integers",
    "int_list": "a non-empty list of integers",
    "floats": "a number, or a non-empty list of numbers (one per channel)",
}

def _code(value: Any) -> str:
    return f"`{json.dumps(value)}`"


def param_range(p: Param) -> str:
    if p.kind == "choice":
        text = ", ".join(_code(c) for c in p.choices)
    elif p.kind == "activation":
        text = "activation name"
    elif p.kind == "bool":
        text = ""
    else:
        parts = []
        if p.minimum is not None:
            parts.append(f">= {_num(p.minimum)}")
        if p.maximum is not None:
            parts.append(f"{'<' if p.exclusive_max else '<='} {_num(p.maximum)}")
        text = ", ".join(parts)
        if p.kind in ("pair", "pad2", "shape", "int_list") and text:
            text = "each " + text
    if p.nullable:
        text = (text + "; " if text else "") + "or `null`"
    return text


def _num(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", "_") if abs(value) >= 10_000 else str(int(value))
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def block_section(spec: BlockSpec) -> list[str]:
    lines = [f"#### `{spec.type}`", ""]
    what = spec.help
    keras = f"Keras `{spec.keras_class}`" if spec.keras_class else "composite of Keras layers"
    lines.append(f"{what} ({keras}; {spec.arity_text()}.)")
    lines.append("")
    if not spec.params:
        lines += ["No params.", ""]
        return lines
    lines += ["| param | kind | default | range | meaning |", "|---|---|---|---|---|"]
    for p in spec.params:
        lines.append(f"| `{p.name}` | {p.kind} | {_code(p.default)} | {_cell(param_range(p))} "
                     f"| {_cell(p.help)} |")
    lines.append("")
    if spec.composite:
        lines += composite_parts(spec)
    return lines


def composite_parts(spec: BlockSpec) -> list[str]:
    lines = [f"Inner Keras layers of a `{spec.type}` node whose id is `<id>` "
             "(Keras layer name: layer class), for sample configurations:", ""]
    for label, params, shape in spec.doc_samples:
        values, problems = resolve_params(spec, params)
        assert not problems, problems
        inference = spec.infer(values, [shape])
        parts = ", ".join(f"`<id>_{i.name}`: {i.type}" for i in inference.inner)
        lines.append(f"- {label}: {parts}")
    lines.append("")
    return lines


def generate() -> str:
    lines = [BEGIN, "", "### Block types", "",
             "Generated from the catalogue (`playground/blocks/`). Params left out take the "
             "default shown. Param kinds:", ""]
    lines += [f"- **{kind}**: {text}" for kind, text in KINDS.items()]
    lines.append("")
    for category, specs in by_category().items():
        lines += [f"### Category: {category}", ""]
        for spec in specs:
            lines += block_section(spec)
    lines.append(END)
    return "\n".join(lines) + "\n"


def update(path: Path) -> bool:
    """Replace the generated part of ``path``; returns whether the file changed."""
    from playground.core.atomic import write_text_atomic

    text = path.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{path}: the markers {BEGIN!r} ... {END!r} are missing")
    new = text[:start] + generate() + text[end + len(END) + 1:]
    if new != text:
        write_text_atomic(path, new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground.blocks.docgen",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--update", metavar="FILE", type=Path,
                        help="rewrite the generated part of FILE (docs/FORMAT.md)")
    args = parser.parse_args(argv)
    if args.update:
        changed = update(args.update)
        print(f"{args.update}: {'updated' if changed else 'already up to date'}")
    else:
        sys.stdout.write(generate())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
