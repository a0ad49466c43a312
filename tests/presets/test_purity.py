"""The generator and the smallest-input search are pure Python; ids read like layer names."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from playground.core.presets import load_preset
from playground.presetgen.registry import PRESETS

from .test_figures import TWINS

ROOT = Path(__file__).resolve().parents[2]


def test_presetgen_and_minimum_input_import_no_tensorflow_or_qt():
    code = ("import sys, playground.presetgen.__main__, playground.presetgen.gallery, "
            "playground.core.minimum_input; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'PySide6') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"


AUTO_NAME = re.compile(r"^(conv2d|dense|max_pooling2d|average_pooling2d|dropout|flatten|"
                       r"activation|batch_normalization|concatenate|add|inception_module|"
                       r"residual_block|node)_\d+$")


def test_node_ids_are_meaningful():
    for key in PRESETS:
        graph = load_preset(key)
        for node in graph.nodes:
            if key in TWINS:
                continue  # ids are the Keras model's own names (checked in test_keras.py)
            assert not AUTO_NAME.match(node.id), f"{key}: {node.id} looks auto-generated"
        # Every preset starts at a node called input and ends in named outputs.
        assert graph.node_ids[0] == "input"
        assert all(sink in ("predictions", "mask", "naive", "bottleneck")
                   or sink.endswith("_predictions") for sink in graph.sinks()), key
