"""``python -m playground.presetgen [--gallery] [--check] [--out DIR]``.

Without options it writes every preset file and then the gallery. ``--gallery`` rewrites only
the gallery from the files already there. ``--check`` writes nothing and exits 1 when a file
differs from what the generator produces (for CI and the tests).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playground.core import fileformat
from playground.core.atomic import write_text_atomic
from playground.core.presets import presets_dir
from playground.presetgen import gallery
from playground.presetgen.registry import PRESETS

GALLERY_NAME = "README.md"


def generated_files() -> dict[str, str]:
    """File name -> text of every preset file, as the generator builds it."""
    return {f"{key}.json": fileformat.dumps(build()) for key, build in PRESETS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground.presetgen",
                                     description=__doc__.split("\n\n")[1])
    parser.add_argument("--gallery", action="store_true",
                        help="only regenerate the gallery (README.md) from the preset files")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a committed file is out of date")
    parser.add_argument("--out", type=Path, default=None,
                        help="the presets folder (default: the bundled one)")
    args = parser.parse_args(argv)
    out = args.out or presets_dir()
    files = {} if args.gallery else generated_files()
    stale = []
    for name, text in files.items():
        path = out / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            out.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, text)
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    try:
        graphs = gallery.load_committed(out)
    except fileformat.GraphFileError as exc:
        print(f"cannot build the gallery: {exc}", file=sys.stderr)
        return 1
    text = gallery.render(graphs)
    path = out / GALLERY_NAME
    if args.check:
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            print(f"out of date: {GALLERY_NAME}", file=sys.stderr)
            return 1
        return 0
    write_text_atomic(path, text)
    print(f"wrote {len(files)} preset file(s) and {GALLERY_NAME} in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
