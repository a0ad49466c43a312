"""What an export writes: a built model plus the facts a served model needs to carry.

Every export path builds one :class:`ExportSource` and hands it to the format registry: the
editor's untrained graph (:meth:`ExportSource.from_built`), a finished training run
(:meth:`ExportSource.from_result`). It says where the weights came from, so a user (and the
exported ``assets/export.json``) can tell a trained model from an untrained one, and which class
names and raw image channels the training data had, so the SavedModel can serve the user's own
images.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from playground.core.graph import Graph


@dataclass
class ExportSource:
    model: Any                              # the keras.Model to write
    model_shape: tuple[int, int, int]       # its Input, H x W x C
    raw_channels: int                       # channels of the images it was trained on
    class_names: list[str] | None = None    # None: unknown (served as "0", "1", ...)
    weights: str = "untrained"              # "untrained", "run <folder>", or a file
    graph: Graph | None = None
    built: Any = None
    script_source: str | None = None        # named in a generated script's header

    @property
    def num_classes(self) -> int:
        out = self.model.outputs[0] if isinstance(self.model.outputs, list) else \
            self.model.outputs
        return int(out.shape[-1])

    def names(self) -> tuple[list[str], bool]:
        """The class names to ship and whether they are known (else index strings)."""
        n = self.num_classes
        known = self.class_names
        if known is not None and (len(known) == n or (n == 1 and len(known) == 2)) \
                and all(isinstance(c, str) for c in known):
            # A 1-channel sigmoid mask stands for two classes (background and the other).
            return [_utf8(c) for c in known], True
        return [str(i) for i in range(n)], False

    @classmethod
    def from_built(cls, built: Any, graph: Graph, *, weights: str = "untrained",
                   class_names: list[str] | None = None, raw_channels: int | None = None,
                   script_source: str | None = None) -> ExportSource:
        shape = model_shape_of(built.model)
        return cls(built.model, shape, raw_channels or shape[-1], class_names, weights, graph,
                   built, script_source)

    @classmethod
    def from_result(cls, result: Any) -> ExportSource:
        """A training run's :class:`~playground.training.runner.RunResult` (its weights)."""
        shape = tuple(result.model_shape) if result.model_shape else \
            model_shape_of(result.model)
        dataset = result.dataset
        try:
            names = getattr(dataset, "class_names", None)
        except Exception:  # noqa: BLE001 - unknown names are served as indices
            names = None
        if not names and result.run_dir:
            names = class_names_of_run(result.run_dir)
        raw = raw_channels_of(dataset, result.raw_shape, shape)
        where = f"run {result.run_dir}" if result.run_dir else "the last training run"
        return cls(result.model, shape, raw, list(names) if names else None, where,
                   result.graph, result.built,
                   str(result.run_dir) if result.run_dir else None)


def _utf8(name: str) -> str:
    """A name TensorFlow and JSON can store: undecodable file-name bytes (surrogate escapes)
    and lone surrogates become U+FFFD."""
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in name)


def model_shape_of(model: Any) -> tuple[int, int, int]:
    shape = model.inputs[0].shape if isinstance(model.inputs, list) else model.inputs.shape
    dims = tuple(shape[1:])
    if len(dims) != 3 or any(d is None for d in dims):
        from playground.core.errors import PlaygroundError

        raise PlaygroundError(f"exports need an image Input H x W x C, the model takes {dims}")
    return tuple(int(d) for d in dims)  # type: ignore[return-value]


def raw_channels_of(dataset: Any, raw_shape: Any, model_shape: tuple[int, int, int]) -> int:
    """Channels of the images as decoded from the data (1 gray, 3 RGB), else the model's."""
    try:
        own = getattr(dataset, "image_shape", None)
    except Exception:  # noqa: BLE001 - a streamed dataset may not know it; fall back
        own = None
    for shape in (own, raw_shape):
        try:
            c = int(shape[-1])  # type: ignore[index]
        except (TypeError, ValueError, IndexError):
            continue
        if c in (1, 3):
            return c
    return int(model_shape[-1])


def class_names_of_run(run_dir: str | os.PathLike[str]) -> list[str] | None:
    """The class names a run folder's ``config.json`` records (``class_names`` or ``classes``,
    top level or inside ``dataset``), or None when it records none."""
    try:
        with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    places = [config, config.get("dataset")]
    for place in places:
        if not isinstance(place, dict):
            continue
        for key in ("class_names", "classes"):
            names = place.get(key)
            if isinstance(names, list) and names and all(isinstance(n, str) for n in names):
                return list(names)
    return None


def run_dir_of(path: str | os.PathLike[str]) -> str | None:
    """The run folder ``path`` is (or holds a weights file of), else None."""
    folder = str(path) if os.path.isdir(path) else os.path.dirname(os.fspath(path))
    return folder if os.path.isfile(os.path.join(folder or ".", "config.json")) else None


def run_weights_file(run_dir: str | os.PathLike[str]) -> str:
    """The weights a run folder keeps: best, else last, else the latest checkpoint."""
    from playground.core.errors import PlaygroundError

    for name in ("best.weights.h5", "last.weights.h5",
                 os.path.join("backup", "latest.weights.h5")):
        candidate = os.path.join(run_dir, name)
        if os.path.isfile(candidate):
            return candidate
    raise PlaygroundError(f"{run_dir}: the run has no saved weights yet")
