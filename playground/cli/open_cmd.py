"""``open [FILE] [--screenshot PNG|SVG --size WxH] [--select NODE] [--tab explain]``: the desktop
app (or a render of its window to PNG, or of the diagram alone to a vector SVG).

Imports only the argument parser at module level; PySide6 and the editor load when the command
runs, and TensorFlow never does (training and export import it when they start).
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from playground.cli.common import wrap


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX\u00d7,]\s*(\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 1400x900, not {text!r}")
    w, h = int(match.group(1)), int(match.group(2))
    if not (200 <= w <= 8000 and 150 <= h <= 8000):
        raise argparse.ArgumentTypeError(f"size {w}x{h} is out of range (200x150 to 8000x8000)")
    return w, h


def _display_available() -> bool:
    """Qt aborts the process when it cannot reach a display; say so politely instead."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith("xcb") and sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY"))    # xcb asked for, no X server: Qt would abort
    if platform or not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _qt_cannot_start() -> str | None:
    """One sentence with the fix when Qt's window plugin lacks a system library (checked
    without starting Qt; see playground.qtcheck), else None."""
    if not _display_available():
        return None
    from playground.qtcheck import problem

    return problem()


def _folder(path: str) -> str:
    return os.path.dirname(os.path.abspath(path))


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", nargs="?", help="graph file (.json) to open")
    parser.add_argument("--screenshot", metavar="PNG|SVG",
                        help="render the main window with the graph to this PNG and exit; "
                             "with .svg, the diagram alone as a vector image")
    parser.add_argument("--size", type=_size, default=(1400, 900), metavar="WxH",
                        help="window size for --screenshot (default 1400x900)")
    parser.add_argument("--select", metavar="NODE",
                        help="select this node (the inspector shows it)")
    parser.add_argument("--tab", choices=("parameters", "explain", "layers"),
                        help="show this panel: the inspector's Parameters or Explain tab, or "
                             "the Layers table")
    parser.set_defaults(run=wrap(run))


def run(args: argparse.Namespace) -> int:
    from playground.core.errors import GraphFileError

    if args.screenshot and not args.screenshot.lower().endswith((".png", ".svg")):
        print(f"error: --screenshot {args.screenshot}: the file name must end in .png "
              "(the window) or .svg (the diagram)", file=sys.stderr)
        return 2
    if args.select is not None and not args.file:
        print("error: --select needs a FILE to open", file=sys.stderr)
        return 2
    view = {"select": args.select, "tab": args.tab}
    try:
        if args.screenshot:
            if not os.path.isdir(_folder(args.screenshot)):   # blame the PNG, not the graph
                print(f"error: --screenshot {args.screenshot}: the folder "
                      f"{_folder(args.screenshot)} does not exist", file=sys.stderr)
                return 2
            from playground.ui import app

            app.prefer_offscreen()
            return app.screenshot(args.file, args.screenshot, args.size, **view)
        from playground.ui import app

        blocker = _qt_cannot_start()   # Qt itself would abort (exit 134) on a missing library
        if blocker is not None:
            print(f"error: {blocker}", file=sys.stderr)
            return 1
        if not _display_available():
            print("error: no display to open a window on (DISPLAY/WAYLAND_DISPLAY unset); "
                  "render with --screenshot PNG instead, or set QT_QPA_PLATFORM",
                  file=sys.stderr)
            return 2
        return app.run(args.file, **view)
    except GraphFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        for where, message in exc.problems:
            print(f"error: {where}: {message}", file=sys.stderr)
        return 2 if exc.unreadable else 1
    except OSError as exc:
        culprit = args.file
        if args.screenshot and exc.filename is not None and os.path.dirname(
                os.path.abspath(str(exc.filename))) == _folder(args.screenshot):
            culprit = args.screenshot  # writing the PNG failed, not reading the graph
        print(f"error: {culprit or args.screenshot}: {exc.strerror or exc}", file=sys.stderr)
        return 2
