"""``evaluate RUN_DIR [RUN_DIR...] [--no-tta] [--limit N] [--json] [--wrong N --out DIR]``:
the single model beside 10-crop TTA and an ensemble of runs, each with its cost in time.

On the first run's held-out images (its test split, else the validation split the run made).
``--wrong N --out DIR`` also writes the N most confidently wrong samples, each with Grad-CAM of
the last spatial node for the (wrong) predicted class: ``wrong.png`` (all of them) and
``wrong.json``. Exit 2 for bad arguments or paths, 1 when runs cannot be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from playground.cli.common import wrap


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", metavar="RUN_DIR", nargs="+",
                        help="run folders; several make an ensemble (the first is the single "
                             "model)")
    parser.add_argument("--no-tta", action="store_true", help="skip 10-crop TTA")
    parser.add_argument("--limit", type=int, metavar="N",
                        help="evaluate on the first N held-out images only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--wrong", type=int, default=0, metavar="N",
                        help="write the N most confidently wrong samples with Grad-CAM "
                             "(needs --out)")
    parser.add_argument("--out", metavar="DIR", help="folder for wrong.png / wrong.json")
    parser.set_defaults(run=wrap(run))


def _bad(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from playground.inspect.model import ModelPathError, check_model_path

    if args.limit is not None and args.limit < 1:
        return _bad(f"--limit must be at least 1, not {args.limit}")
    if args.wrong < 0:
        return _bad(f"--wrong must be 0 or more, not {args.wrong}")
    if args.wrong and not args.out:
        return _bad("--wrong needs --out DIR")
    if args.out and os.path.exists(args.out) and not os.path.isdir(args.out):
        return _bad(f"--out {args.out}: exists and is not a folder")
    for path in args.runs:
        try:
            kind = check_model_path(path)
        except ModelPathError as exc:
            return _bad(str(exc))
        if kind != "run":
            return _bad(f"{path}: evaluate takes run folders (they know their dataset and "
                        "split)")
    from playground.inspect.evaluate import compare

    result = compare(args.runs, tta=not args.no_tta, limit=args.limit)
    out = result.to_json()
    if args.wrong:
        out["wrong"] = write_wrong(result, args.wrong, args.out)
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(result.text())
        if args.wrong:
            print(f"wrote {os.path.join(args.out, 'wrong.png')} "
                  f"({len(out['wrong'])} confidently wrong sample(s))")
    return 0


def write_wrong(result, n: int, out_dir: str) -> list[dict]:
    """The ``n`` most confidently wrong samples with Grad-CAM: ``wrong.png`` and ``wrong.json``."""
    from playground.core.atomic import write_text_atomic
    from playground.inspect import render
    from playground.inspect.evaluate import wrong_samples

    picture, rows = wrong_samples(result, n)
    os.makedirs(out_dir, exist_ok=True)
    if picture is not None:
        render.write_png(os.path.join(out_dir, "wrong.png"), picture)
    write_text_atomic(os.path.join(out_dir, "wrong.json"), json.dumps(rows, indent=1) + "\n")
    return rows
