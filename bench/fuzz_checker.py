"""Long differential-fuzzing run: the shape checker against Keras on random graphs (issue 11).

    python bench/fuzz_checker.py [--examples 2000] [--seed 1] [--max-nodes 5] [--show 3]
                                 [--max-side 12] [--span 4]

The same generator and judge as ``tests/blocks/test_fuzz_checker.py`` (``tests/blocks/fuzzgraph.py``)
but many more examples, a seed of your choice, and instead of stopping at the first disagreement it
lists every kind found (grouped by block type and kind, with up to ``--show`` example graphs as
JSON each). Exit status 1 when anything disagrees, 0 when nothing does. Needs the dev extra
(Hypothesis).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=2000, help="graphs to try (default 2000)")
    parser.add_argument("--seed", type=int, default=1, help="Hypothesis seed (default 1)")
    parser.add_argument("--max-nodes", type=int, default=5,
                        help="blocks per graph after the Input (default 5)")
    parser.add_argument("--show", type=int, default=3,
                        help="example graphs printed per kind of disagreement (default 3)")
    parser.add_argument("--max-side", type=int, default=12,
                        help="largest input height and width (default 12)")
    parser.add_argument("--span", type=int, default=4,
                        help="how far above its minimum a size param goes (kernels, strides, "
                             "filters...; default 4)")
    args = parser.parse_args(argv)
    if min(args.examples, args.max_nodes, args.max_side, args.span) < 1 or args.show < 0:
        parser.error("--examples, --max-nodes, --max-side and --span must be at least 1, "
                     "--show at least 0")

    from hypothesis import HealthCheck, given, seed, settings
    from hypothesis import strategies as st

    from playground.core.shapes import analyze
    from tests.blocks import fuzzgraph
    from tests.blocks.fuzzgraph import graph_json, graphs, judge

    fuzzgraph.MAX_SIDE, fuzzgraph.SPAN = args.max_side, args.span

    found: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    tally = {"graphs": 0, "valid": 0, "blocks": 0}

    @seed(args.seed)
    @settings(max_examples=args.examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data: st.DataObject) -> None:
        g = data.draw(graphs(max_nodes=args.max_nodes))
        tally["graphs"] += 1
        tally["valid"] += analyze(g).valid
        tally["blocks"] += len(g) - 1
        for d in judge(g):
            # Group by kind, block and the message without its numbers.
            key = (d.kind, d.block, re.sub(r"-?\d+(\.\d+)?", "#", d.detail)[:160])
            found[key].append(f"{d}\n      {graph_json(g)}")

    start = time.perf_counter()
    run()
    took = time.perf_counter() - start
    print(f"{tally['graphs']} graphs ({tally['valid']} valid, {tally['blocks']} blocks) in "
          f"{took:.0f} s (seed {args.seed}, max side {args.max_side}, span {args.span}); "
          f"{len(found)} kind(s) of disagreement")
    for (kind, block, _), examples in sorted(found.items()):
        print(f"\n[{kind}] {block}: {len(examples)} graph(s)")
        for text in examples[: args.show]:
            print("   ", text)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
