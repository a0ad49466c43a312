"""Where the bundled presets live and what they are."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from playground.core import fileformat
from playground.core.errors import GraphFileError
from playground.core.graph import Graph


def presets_dir() -> Path:
    override = os.environ.get("PLAYGROUND_PRESETS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "presets"


# Within one year, the order the lecture meets them in (a preset's optional top-level
# ``lecture_order``; lower first, this default otherwise): VGG before GoogLeNet in 2014.
DEFAULT_LECTURE_ORDER = 50


@dataclass(frozen=True)
class PresetInfo:
    key: str          # file stem, e.g. "resnet34"
    path: Path
    name: str
    description: str
    year: int | None = None
    lecture_order: int = DEFAULT_LECTURE_ORDER


def _natural(text: str) -> tuple:
    """"ResNet-18" before "ResNet-101": digit runs compare as numbers."""
    return tuple(int(part) if part.isdigit() else part.lower()
                 for part in re.split(r"(\d+)", text))


def _int_or(value: object, default: int | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def lecture_key(info: PresetInfo) -> tuple:
    """History order, as the lecture tells it: by year (a preset without one comes last), then
    ``lecture_order``, then the name."""
    return (info.year if info.year is not None else 10_000, info.lecture_order,
            _natural(info.name), info.key)


def list_presets() -> list[PresetInfo]:
    """The bundled presets in lecture order (LeNet-5, AlexNet, VGG, GoogLeNet, ResNet, ...), so
    a new preset file slots in by its ``year`` without a list to edit."""
    result = []
    for path in sorted(presets_dir().glob("*.json")):
        try:
            graph = fileformat.load(path)
        except GraphFileError:
            continue
        result.append(PresetInfo(
            path.stem, path, graph.name, graph.description,
            _int_or(graph.extra.get("year"), None),
            _int_or(graph.extra.get("lecture_order"), DEFAULT_LECTURE_ORDER)))
    return sorted(result, key=lecture_key)


def preset_path(key: str) -> Path:
    """``resnet34`` or ``resnet34.json`` -> the bundled file (KeyError if there is none)."""
    stem = key[:-5] if key.endswith(".json") else key
    path = presets_dir() / f"{stem}.json"
    if not path.is_file():
        raise KeyError(key)
    return path


def load_preset(key: str) -> Graph:
    return fileformat.load(preset_path(key))
