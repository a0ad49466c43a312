"""``blocks``: the catalogue, grouped by category, with each block's params and defaults."""

from __future__ import annotations

import argparse
import json

from playground.blocks import by_category, get_spec


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("type", nargs="?", help="show one block type in detail")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.type:
        spec = get_spec(args.type)
        if spec is None:
            print(f"error: unknown block type {args.type!r}")
            return 1
        print(f"{spec.type} ({spec.category}, {spec.arity_text()}): {spec.help}")
        for p in spec.params:
            print(f"  {p.name:<20} {p.kind:<10} default {json.dumps(p.default):<10} {p.help}")
        return 0
    for category, specs in by_category().items():
        print(f"{category}:")
        for spec in specs:
            print(f"  {spec.type:<28} {spec.help}")
    return 0
