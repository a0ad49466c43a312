"""``presets``: the bundled architectures in lecture order, with their year and their size as the
checker computes it."""

from __future__ import annotations

import argparse

from playground.core.fileformat import load
from playground.core.presets import list_presets
from playground.core.shapes import analyze


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--paths", action="store_true", help="print file paths too")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    presets = list_presets()
    if not presets:
        print("no presets found")
        return 0
    width = max(len(p.key) for p in presets)
    for p in presets:
        analysis = analyze(load(p.path))
        year = str(p.year) if p.year is not None else ""
        line = (f"{p.key:<{width}}  {year:<4}  {p.name:<28} {analysis.total_params:>13,} params  "
                f"{analysis.macs / 1e6:>10,.1f} M MACs")
        if args.paths:
            line += f"  {p.path}"
        print(line)
    return 0
