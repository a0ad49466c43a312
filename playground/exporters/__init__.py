"""One registry of export formats, used by ``export``, File > Export and the training panel.

A format is one module in :mod:`playground.exporters.formats` that defines ``FORMAT``, an
:class:`ExportFormat`: its ``--format`` name, the menu label, whether it writes a file (with which
ending) or a folder, and a ``write(source, path, force)`` function. The modules are discovered, so
adding a format touches one source file (plus its test) and nothing else: the CLI's ``--format``
choices, the File > Export menu and the panel's export buttons all come from here.

Format modules must not import TensorFlow at module level (the CLI lists the formats before it
checks its arguments); their ``write`` imports it when called.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from playground.core.errors import PlaygroundError

if TYPE_CHECKING:
    from playground.exporters.source import ExportSource


@dataclass(frozen=True)
class ExportFormat:
    """What the CLI, the menu and the panel need to know about one export format."""

    name: str                     # the --format value, e.g. "savedmodel"
    label: str                    # menu / button text, e.g. "TensorFlow SavedModel..."
    help: str                     # one sentence for --help
    kind: str                     # "file" or "folder"
    write: Callable[[ExportSource, Path, bool], Path]
    suffix: str = ""              # a file format's ending, e.g. ".keras"
    require_suffix: bool = False  # refuse a file name without the ending (before building)
    marker: str = ""              # a folder format's file that proves an earlier export
    uses_weights: bool = True     # False: the weights do not matter (a script)
    order: int = 100              # place in menus and --help


class UnknownFormat(PlaygroundError):
    pass


_REGISTRY: dict[str, ExportFormat] = {}


def _discover() -> None:
    if _REGISTRY:
        return
    package = importlib.import_module(f"{__name__}.formats")

    found: dict[str, ExportFormat] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        fmt = getattr(module, "FORMAT", None)
        if not isinstance(fmt, ExportFormat):
            continue
        if fmt.kind not in ("file", "folder"):
            raise ValueError(f"{module.__name__}: kind must be 'file' or 'folder'")
        if fmt.name in found:
            raise ValueError(f"{module.__name__}: format {fmt.name!r} is declared twice")
        found[fmt.name] = fmt
    _REGISTRY.update(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


def all_formats() -> list[ExportFormat]:
    """Every export format, in menu order."""
    _discover()
    return list(_REGISTRY.values())


def names() -> tuple[str, ...]:
    return tuple(f.name for f in all_formats())


def get(name: str) -> ExportFormat:
    _discover()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownFormat(f"unknown format {name!r} (choose from {', '.join(names())})"
                            ) from None


def default_target(fmt: ExportFormat, folder: str | os.PathLike[str], stem: str) -> str:
    """The path a dialog proposes in ``folder``: ``stem.keras`` or ``stem_savedmodel``."""
    if fmt.kind == "folder":
        return str(Path(folder) / f"{stem}_{fmt.name}")
    return str(Path(folder) / f"{stem}{fmt.suffix}")


def write(name: str, source: ExportSource, path: str | os.PathLike[str],
          force: bool = False) -> Path:
    """Validate ``path`` for format ``name`` and write ``source`` there (atomically)."""
    from playground.keras_build.export import check_target

    fmt = get(name)
    target = check_target(path, name, force)
    return fmt.write(source, target, force)
