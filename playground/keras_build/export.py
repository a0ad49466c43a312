"""Writing a built model: ``.keras`` file, TensorFlow SavedModel folder, or a Python script.

Every writer is atomic: the result is first written beside the target (same folder, so the final
``os.replace`` is a rename on one file system) and moved into place only when complete, so a crash,
a full disk or a Ctrl-C never leaves a half-written model where a good one was. An existing target
is replaced only with ``force`` (a trained model is expensive to lose).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from playground.core.atomic import dir_mode, file_mode, replace_dir_atomic, write_text_atomic
from playground.core.errors import PlaygroundError

FORMATS = ("keras", "savedmodel", "python")  # the built-in ones; see playground.exporters


class ExportError(PlaygroundError):
    """The model cannot be written where asked; the message says why and what to do."""


def check_target(path: str | os.PathLike[str], fmt: str, force: bool = False) -> Path:
    """Validate ``path`` before any expensive work (building the model can take seconds).

    ``fmt`` names a format of the registry (:mod:`playground.exporters`); its kind (file or
    folder), ending and marker file decide what is accepted."""
    from playground.exporters import UnknownFormat, get

    try:
        spec = get(fmt)
    except UnknownFormat as exc:
        raise ExportError(str(exc)) from None
    target = Path(path)
    if spec.kind == "file" and spec.suffix == ".keras" and target.suffix != ".keras":
        raise ExportError(f"{target}: a Keras model file must end in .keras "
                          f"(try --out {target.with_suffix('.keras')})")
    if spec.kind == "file" and spec.require_suffix and not target.name.endswith(spec.suffix):
        raise ExportError(f"{target}: a {spec.name} file must end in {spec.suffix} "
                          f"(try --out {target}{spec.suffix})")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise ExportError(f"{target}: the folder {parent} does not exist")
    if not parent.is_dir():
        raise ExportError(f"{target}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"{target}: cannot write into the folder {parent} (permission denied)")
    if target.exists() or target.is_symlink():
        if spec.kind == "folder":
            if not target.is_dir():
                raise ExportError(f"{target}: exists and is not a folder; a SavedModel is a "
                                  "folder, choose another path")
            if not force:
                raise ExportError(f"{target}: the folder already exists; pass --force to "
                                  "replace it")
            if not (target / spec.marker).exists() and any(target.iterdir()):
                raise ExportError(f"{target}: the folder exists and is not a SavedModel; "
                                  "refusing to replace it even with --force")
        else:
            if target.is_dir():
                raise ExportError(f"{target}: is a folder; give a file path")
            from playground.core.targets import special_target_problem

            special = special_target_problem(target)  # a device or FIFO: never, even forced
            if special:
                raise ExportError(special)
            if not force:
                raise ExportError(f"{target}: the file already exists; pass --force to "
                                  "replace it")
    return target


def _oserror(target: Path, exc: OSError) -> ExportError:
    return ExportError(f"{target}: cannot write: {exc.strerror or exc}")


def save_keras(model: Any, path: str | os.PathLike[str], force: bool = False) -> Path:
    """``model.save`` to a temp ``.keras`` file in the target's folder, then ``os.replace``."""
    target = check_target(path, "keras", force)
    parent = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp.keras", dir=parent)
    except OSError as exc:
        raise _oserror(target, exc) from None
    os.close(fd)
    try:
        model.save(tmp)
        # mkstemp made it 0600: give it the mode a plain save would (or the replaced file's).
        os.chmod(tmp, file_mode(target))
        os.replace(tmp, target)
    except OSError as exc:
        raise _oserror(target, exc) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target


def export_savedmodel(model: Any, path: str | os.PathLike[str], force: bool = False, *,
                      source: Any = None) -> Path:
    """The one SavedModel writer (every export path comes here): the serving contract of
    :mod:`playground.exporters.serving` written into a staging folder beside the target, then
    swapped in with ``replace_dir_atomic``. ``source`` (an ``ExportSource``) carries the class
    names and raw channels; without it the model's own input channels and index names serve."""
    from playground.exporters.serving import write_savedmodel
    from playground.exporters.source import ExportSource, model_shape_of

    target = check_target(path, "savedmodel", force)
    if source is None:
        shape = model_shape_of(model)
        source = ExportSource(model, shape, shape[-1])
    parent = target.parent if str(target.parent) else Path(".")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise _oserror(target, exc) from None
    try:
        write_savedmodel(source, staging)
        # mkdtemp made it 0700: a folder's usual mode (0777 less the umask), like its contents.
        os.chmod(staging, dir_mode(target))
        replace_dir_atomic(staging, target)
    except OSError as exc:
        raise _oserror(target, exc) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def write_python(source: str, path: str | os.PathLike[str], force: bool = False) -> Path:
    target = check_target(path, "python", force)
    try:
        write_text_atomic(target, source)
    except OSError as exc:
        raise _oserror(target, exc) from None
    return target
