"""The graph core, the block catalogue and the light CLI commands import neither Qt nor TensorFlow.

Checked in a fresh interpreter: importing TensorFlow costs seconds, and a GUI toolkit in the core
would make the checker unusable headless. The module list is discovered, so new modules are
covered without editing this test.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import playground

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("PySide6", "tensorflow", "keras")
# CLI commands that need TensorFlow or Qt by nature; they must import it lazily, not here.
HEAVY_COMMANDS = {"train", "export", "import_cmd", "open_cmd"}


def _modules(package: str) -> list[str]:
    path = Path(playground.__file__).parent / package.split(".", 1)[1].replace(".", "/")
    return [package] + [f"{package}.{m.name}" for m in pkgutil.iter_modules([str(path)])]


def _light_modules() -> list[str]:
    cli = [m for m in _modules("playground.cli") if m.rsplit(".", 1)[1] not in HEAVY_COMMANDS]
    # playground.inspect imports TensorFlow inside its functions (predict checks files first)
    return (_modules("playground.core") + _modules("playground.blocks") + cli
            + _modules("playground.inspect"))


def _imported_heavy(code: str) -> dict[str, list[str]]:
    script = code + (
        "\nimport json, sys\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps({h: sorted(m for m in sys.modules if m == h or m.startswith(h + '.'))[:5]"
        " for h in heavy}))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_module_discovery_finds_the_known_modules() -> None:
    modules = _light_modules()
    for expected in ("playground.core.graph", "playground.core.shapes",
                     "playground.core.fileformat", "playground.blocks.spec",
                     "playground.blocks.inception", "playground.cli.check",
                     "playground.cli.common"):
        assert expected in modules
    assert "playground.cli.train" not in modules


def test_core_blocks_and_light_cli_import_no_qt_and_no_tensorflow() -> None:
    imports = "\n".join(f"import {m}" for m in _light_modules())
    found = _imported_heavy(imports)
    assert found == {h: [] for h in HEAVY}, found


def test_checking_a_graph_and_the_check_command_import_no_qt_and_no_tensorflow() -> None:
    code = (
        "from playground.core import fileformat\n"
        "from playground.core.shapes import analyze\n"
        "from playground.cli import main\n"
        "import io, contextlib\n"
        "g = fileformat.loads('{\"format\": \"keras-playground-graph\", \"version\": 1, '\n"
        "    '\"nodes\": [{\"id\": \"i\", \"type\": \"Input\", \"params\": {\"shape\": [8, 8, 1]}},'\n"
        "    '{\"id\": \"c\", \"type\": \"InceptionModule\", \"params\": {}}],'\n"
        "    '\"edges\": [{\"from\": \"i\", \"to\": \"c\"}]}')\n"
        "assert analyze(g).valid\n"
        "import tempfile, os\n"
        "path = os.path.join(tempfile.mkdtemp(), 'g.json')\n"
        "fileformat.save(g, path)\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['blocks'])\n"
        "    assert main(['check', path]) == 0\n"
        "    assert main(['presets']) == 0\n"
    )
    found = _imported_heavy(code)
    assert found == {h: [] for h in HEAVY}, found


def test_the_training_session_imports_no_qt_and_no_tensorflow() -> None:
    """The editor holds a TrainingSession; TensorFlow belongs to the child process it starts."""
    found = _imported_heavy("import playground.training.session, playground.training.events, "
                            "playground.training.run_queue, playground.training.child")
    assert found == {h: [] for h in HEAVY}, found
