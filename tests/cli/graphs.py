"""Small graph documents shared by the CLI and keras_build tests (tiny shapes: fast to build)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def doc(name: str, nodes: list[dict[str, Any]], edges: list[tuple[str, str]],
        **extra: Any) -> dict[str, Any]:
    return {"format": "keras-playground-graph", "version": 1, "name": name, "nodes": nodes,
            "edges": [{"from": a, "to": b} for a, b in edges], **extra}


def small() -> dict[str, Any]:
    """Conv, BN, a strided residual block (projection shortcut), GAP, softmax head."""
    return doc("Small", [
        {"id": "input", "type": "Input", "params": {"shape": [16, 16, 3]}},
        {"id": "conv1", "type": "Conv2D",
         "params": {"filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"}},
        {"id": "bn1", "type": "BatchNormalization", "params": {}},
        {"id": "res1", "type": "ResidualBlock", "params": {"filters": 16, "strides": 2}},
        {"id": "gap", "type": "GlobalAveragePooling2D", "params": {}},
        {"id": "fc", "type": "Dense", "params": {"units": 5, "activation": "softmax"}},
    ], [("input", "conv1"), ("conv1", "bn1"), ("bn1", "res1"), ("res1", "gap"), ("gap", "fc")])


def zoo() -> dict[str, Any]:
    """Many block kinds at once, two outputs, a frozen node and the app's custom layers."""
    return doc("Zoo", [
        {"id": "img", "type": "Input", "params": {"shape": [20, 20, 3]}},
        {"id": "conv-a", "type": "Conv2D",
         "params": {"filters": 8, "kernel_size": [3, 5], "strides": 1, "padding": "same",
                    "activation": "relu"}, "trainable": False},
        {"id": "lrn", "type": "LocalResponseNormalization", "params": {"depth_radius": 2}},
        {"id": "pad", "type": "ZeroPadding2D", "params": {"padding": [[0, 1], [1, 0]]}},
        {"id": "pool", "type": "MaxPooling2D", "params": {"pool_size": 3, "strides": 2}},
        {"id": "inc", "type": "InceptionModule",
         "params": {"f1x1": 4, "f3x3_reduce": 4, "f3x3": 6, "f5x5_reduce": 2, "f5x5": 3,
                    "pool_proj": 3, "batch_norm": True}},
        {"id": "res", "type": "ResidualBlock",
         "params": {"filters": 24, "strides": 2, "shortcut": "zero_pad"}},
        {"id": "sep", "type": "SeparableConv2D",
         "params": {"filters": 12, "padding": "same", "activation": "relu6"}},
        {"id": "dw", "type": "DepthwiseConv2D", "params": {"padding": "same"}},
        {"id": "cat", "type": "Concatenate", "params": {}},
        {"id": "gap", "type": "GlobalAveragePooling2D", "params": {}},
        {"id": "drop", "type": "Dropout", "params": {"rate": 0.3}},
        {"id": "fc", "type": "Dense", "params": {"units": 4, "activation": "softmax"}},
        {"id": "aux", "type": "Dense", "params": {"units": 3}},
    ], [("img", "conv-a"), ("conv-a", "lrn"), ("lrn", "pad"), ("pad", "pool"), ("pool", "inc"),
        ("inc", "res"), ("res", "sep"), ("res", "dw"), ("sep", "cat"), ("dw", "cat"),
        ("cat", "gap"), ("gap", "drop"), ("drop", "fc"), ("gap", "aux")])


def invalid() -> dict[str, Any]:
    """A Dense fed by a 2-D conv output... and a conv whose kernel is larger than its input."""
    return doc("Broken", [
        {"id": "input", "type": "Input", "params": {"shape": [4, 4, 1]}},
        {"id": "big", "type": "Conv2D", "params": {"filters": 2, "kernel_size": 7}},
        {"id": "fc", "type": "Dense", "params": {"units": 3}},
    ], [("input", "big"), ("big", "fc")])


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
