"""Every bundled preset: the generated script rebuilds a model with the same layers and counts,
and importing the exported .keras model gives back a graph with the same parameter count."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from playground.core import fileformat
from playground.core.presets import list_presets
from playground.keras_build.codegen import generate
from playground.keras_build.compile import build
from playground.keras_build.importer import import_model

pytestmark = pytest.mark.slow

RUNNER = r"""
import json, runpy, sys
import keras
for path in json.loads(sys.argv[1]):
    model = runpy.run_path(path)["build_model"]()
    print(json.dumps({"path": path, "params": model.count_params(),
                      "names": [l.name for l in model.layers]}))
    keras.backend.clear_session()
"""


def test_every_preset_as_script_and_round_trip(tmp_path):
    import keras

    expected = {}
    scripts = []
    for preset in list_presets():
        graph = fileformat.load(preset.path)
        built = build(graph)
        script = tmp_path / f"{preset.key}.py"
        script.write_text(generate(built, graph, source=preset.path.name), encoding="utf-8")
        scripts.append(str(script))
        expected[str(script)] = (built.model.count_params(),
                                 [layer.name for layer in built.model.layers])
        saved = tmp_path / f"{preset.key}.keras"
        built.model.save(saved)
        imported = import_model(saved)
        rebuilt = build(imported.graph).model
        assert rebuilt.count_params() == built.model.count_params(), preset.key
        assert imported.model_params == built.model.count_params(), preset.key
        saved.unlink()
        keras.backend.clear_session()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(scripts)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=1200, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == len(scripts)
    for report in reports:
        params, names = expected[report["path"]]
        assert report["params"] == params, report["path"]
        assert report["names"] == names, report["path"]
