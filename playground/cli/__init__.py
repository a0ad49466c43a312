"""The command line (docs: ``python main.py --help``; contract: CONTRACT.md section 2).

Each subcommand lives in its own module with ``register(subparsers)``; a module is imported only
when its command runs, so ``check`` never pays for TensorFlow or Qt. Exit codes: 0 success,
1 invalid graph or failed work, 2 unreadable file or wrong arguments. No traceback reaches the user
(set PLAYGROUND_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from playground import __version__
from playground.core.errors import PlaygroundError

# command -> (module, one-line help); order is the help's order.
COMMANDS: dict[str, tuple[str, str]] = {
    "open": ("playground.cli.open_cmd", "open the desktop app with a graph (or render it to PNG)"),
    "check": ("playground.cli.check", "validate a graph file"),
    "summary": ("playground.cli.summary", "per-node shapes, params, MACs, memory and receptive field"),
    "explain": ("playground.cli.explain", "the arithmetic behind each number of a node"),
    "export": ("playground.cli.export", "build the Keras model and write .keras, SavedModel or Python"),
    "train": ("playground.cli.train", "train headless, one line per epoch"),
    "predict": ("playground.cli.predict", "class probabilities of images for a run or .keras"),
    "inspect": ("playground.cli.inspect_cmd", "feature maps, filters and Grad-CAM of a node"),
    "evaluate": ("playground.cli.evaluate", "single model vs 10-crop TTA vs an ensemble of runs"),
    "import": ("playground.cli.import_cmd", "turn a functional Keras model into a graph file"),
    "presets": ("playground.cli.presets", "list the bundled presets"),
    "blocks": ("playground.cli.blocks", "list the block catalogue and its params"),
}


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad arguments, as the contract wants; keep its message short."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n(see `{self.prog} --help`)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="playground",
        description="Keras Architecture Playground: build, check, train and export CNNs. "
                    "With no command (or a FILE.json) the desktop app opens.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module_name, help_text) in COMMANDS.items():
        if command is None or name == command:
            description = help_text[0].upper() + help_text[1:]
            try:
                module = importlib.import_module(module_name)
            except Exception as exc:  # noqa: BLE001 - one broken command must not hide the rest
                _register_broken(sub.add_parser(name, help=help_text, description=description),
                                 name, module_name, exc)
                continue
            module.register(sub.add_parser(name, help=help_text, description=description))
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _register_broken(parser: argparse.ArgumentParser, name: str, module_name: str,
                     exc: BaseException) -> None:
    """A command whose module cannot be imported stays listed; running it says why (exit 1)."""
    reason = f"{type(exc).__name__}: {exc}"
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def run(args: argparse.Namespace) -> int:
        print(f"error: the `{name}` command is not available ({module_name} failed to load: "
              f"{reason})", file=sys.stderr)
        return 1

    parser.set_defaults(run=run)


def _tolerant_output() -> None:
    """Text from a stranger's file (a graph named with a lone surrogate) is printed escaped
    instead of raising UnicodeEncodeError halfway through a command's output."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError, TypeError):
                pass


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
        # No command or a bare FILE: the desktop app.
        if len(argv) > 1:
            print(f"playground: error: unknown command {argv[0]!r} (see `playground --help`)",
                  file=sys.stderr)
            return 2
        argv = ["open", *argv]
    command = argv[0] if argv[0] in COMMANDS else None
    _tolerant_output()
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except PlaygroundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `playground summary big.json | head`: the reader left; that is not an error.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - never a traceback for users
        if os.environ.get("PLAYGROUND_DEBUG"):
            traceback.print_exc()
        print(f"error: unexpected {type(exc).__name__}: {exc} "
              "(set PLAYGROUND_DEBUG=1 for details)", file=sys.stderr)
        return 1
