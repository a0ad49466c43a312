"""``blocks``: the catalogue, grouped by category, with each block's params and defaults."""

from __future__ import annotations

import argparse
import difflib
import json
import sys

from playground.blocks import by_category, get_spec


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("type", nargs="?", help="show one block type in detail")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.type:
        from playground.blocks import CATALOGUE

        by_lower = {name.lower(): name for name in CATALOGUE}
        spec = get_spec(args.type) or get_spec(by_lower.get(args.type.lower(), ""))
        if spec is None:   # a wrong argument: exit 2 on stderr, like every other command
            close = difflib.get_close_matches(args.type.lower(), list(by_lower), n=3)
            hint = (f"; did you mean {', '.join(by_lower[c] for c in close)}?" if close
                    else "; `playground blocks` lists them")
            print(f"error: unknown block type {args.type!r}{hint}", file=sys.stderr)
            return 2
        print(f"{spec.type} ({spec.category}, {spec.arity_text()}): {spec.help}")
        for p in spec.params:
            print(f"  {p.name:<20} {p.kind:<10} default {json.dumps(p.default):<10} {p.help}")
        return 0
    for category, specs in by_category().items():
        print(f"{category}:")
        for spec in specs:
            print(f"  {spec.type:<28} {spec.help}")
    return 0
