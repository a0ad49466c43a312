"""Where the bundled presets live and what they are."""

from __future__ import annotations

import os
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


@dataclass(frozen=True)
class PresetInfo:
    key: str          # file stem, e.g. "resnet34"
    path: Path
    name: str
    description: str


def list_presets() -> list[PresetInfo]:
    result = []
    for path in sorted(presets_dir().glob("*.json")):
        try:
            graph = fileformat.load(path)
        except GraphFileError:
            continue
        result.append(PresetInfo(path.stem, path, graph.name, graph.description))
    return result


def preset_path(key: str) -> Path:
    """``resnet34`` or ``resnet34.json`` -> the bundled file (KeyError if there is none)."""
    stem = key[:-5] if key.endswith(".json") else key
    path = presets_dir() / f"{stem}.json"
    if not path.is_file():
        raise KeyError(key)
    return path


def load_preset(key: str) -> Graph:
    return fileformat.load(preset_path(key))
