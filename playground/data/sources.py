"""Every dataset source declared once: ``load_dataset``, the CLI's ``--dataset`` help and the
training panel's dataset list all read :data:`SOURCES`.

A source is a named built-in set (``digits``, ``mnist``...) or a kind of path (an image folder, a
CSV index, an ``.npz`` file). Adding one is one entry here (with its small loader function just
above it) and one test; the loader module itself is imported only when the source is loaded, so
this table costs nothing at start-up and nothing here imports TensorFlow.

A ``--dataset`` value that is a named set's name is that set; otherwise the first path source
whose ``recognise`` accepts it loads it, so the order of the path sources is the order of
recognition (and of the CLI help and the panel's list).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LoadRequest:
    """What a loader gets: the ``--dataset`` value and how the run wants the images.

    ``target_shape`` is the model's Input (H, W, C) or None; ``size``/``channels`` are its parts
    (streamed folders and CSV indexes decode at that size). ``bad_images``: ``stop`` or ``skip``.
    ``progress(text)`` hears about long scans.
    """

    spec: str
    target_shape: tuple[int, ...] | None = None
    bad_images: str = "stop"
    progress: Callable[[str], None] | None = None

    @property
    def size(self) -> tuple[int, int] | None:
        if self.target_shape is None:
            return None
        return int(self.target_shape[0]), int(self.target_shape[1])

    @property
    def channels(self) -> int:
        return int(self.target_shape[2]) if self.target_shape is not None else 3


@dataclass(frozen=True)
class DatasetSource:
    """One dataset source.

    ``name``: the ``--dataset`` value of a named set, or the kind of a path source. ``label``: its
    entry in the training panel. ``help``: its part of the CLI's ``--dataset`` help (a named
    set: the note after its name; a path source: the whole phrase, also used by the "not found"
    message). ``offline``: usable without a download. ``pick``: "" for a named set,
    else how the panel asks for the path (``folder`` or ``file``, with ``pattern`` the file
    dialog's filter such as ``*.npz``). ``recognise(spec)``: whether a ``--dataset`` value is of
    this source (a named set: the value is its name). ``load(request)``: the dataset: an
    in-memory :class:`playground.data.base.Dataset`, or with ``streamed`` a
    :class:`playground.data.files.FileDataset` of image files that the ``tf.data`` pipeline
    decodes (predict/inspect then adapt images the same way).
    """

    name: str
    label: str
    help: str
    offline: bool
    load: Callable[[LoadRequest], Any]
    pick: str = ""
    pattern: str = ""
    recognise: Callable[[str], bool] | None = None
    streamed: bool = False

    @property
    def named(self) -> bool:
        """A built-in set chosen by name (no path): loaded inside the run, not scanned first."""
        return self.pick == ""

    def accepts(self, spec: str) -> bool:
        if self.recognise is not None:
            return self.recognise(spec)
        return self.named and spec == self.name


# ------------------------------------------------------------------------------- loaders
def _digits(request: LoadRequest) -> Any:
    from playground.data.digits import load_digits
    return load_digits()


def _shapes(request: LoadRequest) -> Any:
    from playground.data.segdata import load_shapes
    return load_shapes(request.target_shape)


def _segmentation(request: LoadRequest) -> Any:
    from playground.data.segfolder import load_segmentation
    return load_segmentation(request.spec, request.size, request.channels,
                             request.bad_images, request.progress)


def _is_seg_folder(spec: str) -> bool:
    from playground.data.segfolder import is_seg_folder
    return os.path.isdir(spec) and is_seg_folder(spec)


def _is_seg_csv(spec: str) -> bool:
    from playground.data.segfolder import is_seg_csv
    return spec.lower().endswith(".csv") and os.path.isfile(spec) and is_seg_csv(spec)


def _keras_set(request: LoadRequest) -> Any:
    from playground.data.keras_sets import load_keras_dataset
    return load_keras_dataset(request.spec)


def _npz(request: LoadRequest) -> Any:
    from playground.data.npz import load_npz
    return load_npz(request.spec)


def _csv(request: LoadRequest) -> Any:
    from playground.data.base import DatasetError
    from playground.data.csv_index import load_csv

    if not os.path.lexists(request.spec):
        raise DatasetError(f"{request.spec}: file not found")
    return load_csv(request.spec, request.size, request.channels,  # type: ignore[arg-type]
                    request.bad_images, request.progress)


def _folder(request: LoadRequest) -> Any:
    from playground.data.folder import load_folder
    return load_folder(request.spec, request.size, request.channels,  # type: ignore[arg-type]
                       request.bad_images, request.progress)


_KERAS_CACHE = "downloaded once into the Keras cache"

SOURCES: tuple[DatasetSource, ...] = (
    DatasetSource("digits", "digits (built in, offline)", "built in, offline", offline=True,
                  load=_digits),
    DatasetSource("shapes", "shapes with masks (segmentation, offline)",
                  "built in, offline: images with masks, for segmentation", offline=True,
                  load=_shapes),
    DatasetSource("mnist", "MNIST", _KERAS_CACHE, offline=False, load=_keras_set),
    DatasetSource("fashion_mnist", "Fashion-MNIST", _KERAS_CACHE, offline=False,
                  load=_keras_set),
    DatasetSource("cifar10", "CIFAR-10", _KERAS_CACHE, offline=False, load=_keras_set),
    DatasetSource("segfolder", "Segmentation folder (images/ + masks/)",
                  "a FOLDER with images/ and masks/ (segmentation)", offline=True,
                  load=_segmentation, pick="folder", recognise=_is_seg_folder, streamed=True),
    DatasetSource("folder", "Image folder", "a FOLDER with one subfolder per class",
                  offline=True, load=_folder, pick="folder", recognise=os.path.isdir,
                  streamed=True),
    DatasetSource("segcsv", ".csv of image,mask pairs", "FILE.csv with image,mask columns "
                  "(segmentation)", offline=True, load=_segmentation, pick="file",
                  pattern="*.csv", recognise=_is_seg_csv, streamed=True),
    DatasetSource("csv", ".csv index", "FILE.csv (header path,label; paths relative to the "
                  "CSV)", offline=True, load=_csv, pick="file", pattern="*.csv",
                  recognise=lambda spec: spec.lower().endswith(".csv"), streamed=True),
    DatasetSource("npz", ".npz file", "FILE.npz with x and y arrays", offline=True, load=_npz,
                  pick="file", pattern="*.npz",
                  recognise=lambda spec: spec.lower().endswith(".npz")),
)


def named_sources() -> tuple[DatasetSource, ...]:
    """The built-in sets, chosen by name."""
    return tuple(s for s in SOURCES if s.named)


def builtin_names() -> tuple[str, ...]:
    """The ``--dataset`` values of the built-in sets."""
    return tuple(s.name for s in named_sources())


def path_sources(pick: str | None = None) -> tuple[DatasetSource, ...]:
    """The sources read from a path (all, or those the panel asks for with ``pick``)."""
    return tuple(s for s in SOURCES if not s.named and (pick is None or s.pick == pick))


def find_source(spec: str) -> DatasetSource | None:
    """The source of ``spec``: a named set by its exact name first (so a folder called
    ``mnist`` in the working directory never hides the set), else the first path source that
    recognises it; None if none does."""
    for source in named_sources() + path_sources():
        if source.accepts(spec):
            return source
    return None


def help_text() -> str:
    """The CLI's ``--dataset`` help from every source, in the table's order: named sets that
    share a note are listed together (``mnist, fashion_mnist, cifar10 (downloaded once...)``)."""
    parts: list[str] = []
    group: list[str] = []
    named = named_sources()
    for i, source in enumerate(named):
        group.append(source.name)
        if i + 1 == len(named) or named[i + 1].help != source.help:
            parts.append(f"{', '.join(group)} ({source.help})")
            group = []
    parts += [s.help for s in path_sources()]
    return ", ".join(parts[:-1]) + ", or " + parts[-1]


def load(spec: str, target_shape: tuple[int, ...] | list[int] | None = None,
         bad_images: str = "stop", progress: Callable[[str], None] | None = None) -> Any:
    """The dataset ``spec`` names, by the first source that recognises it; a DatasetError
    naming ``spec`` and the accepted kinds otherwise."""
    from playground.data.base import DatasetError

    shape = tuple(int(d) for d in target_shape) if target_shape is not None else None
    source = find_source(spec)
    if source is not None:
        return source.load(LoadRequest(spec, shape, bad_images, progress))
    kinds = ", ".join(s.help for s in path_sources())
    if os.path.exists(spec):
        raise DatasetError(f"{spec}: not a dataset (expected {kinds})")
    raise DatasetError(f"dataset {spec!r} not found: use one of {', '.join(builtin_names())}, "
                       f"or {kinds}")
