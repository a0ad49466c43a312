"""Issue 11, high 2 (outside the dataset loaders): Pillow guesses a file's format from its bytes
and hands PostScript to Ghostscript, so an EPS named ``x.png`` runs ``gs``. Every
``Image.open(...)`` of the app names the formats it accepts (``formats=[...]``). The dataset
loaders (playground/data/) have their own tests; this one guards every other module, so a
preview, an inspect view or a bench added later cannot open an image unrestricted.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCANNED = ("playground", "bench", "main.py")
OWN_TESTS = ("playground/data",)   # the data loaders' own suite checks those


def _image_open_calls(path: Path) -> list[tuple[int, bool]]:
    """(line, has formats=) for every ``<anything>.open(...)`` on a name bound to PIL.Image."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    image_names = {"Image"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "PIL":
            image_names |= {a.asname or a.name for a in node.names if a.name == "Image"}
        elif isinstance(node, ast.Import):
            image_names |= {a.asname for a in node.names if a.name == "PIL.Image" and a.asname}
    calls = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "open"):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else (
                owner.attr if isinstance(owner, ast.Attribute) else None)
            if name in image_names:
                calls.append((node.lineno, any(k.arg == "formats" for k in node.keywords)))
    return calls


def _files() -> list[Path]:
    out = []
    for entry in SCANNED:
        path = REPO / entry
        out += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return [p for p in out
            if not any(p.relative_to(REPO).as_posix().startswith(o) for o in OWN_TESTS)]


def test_every_image_open_outside_the_data_loaders_names_its_formats():
    unrestricted = [f"{path.relative_to(REPO)}:{line}" for path in _files()
                    for line, restricted in _image_open_calls(path) if not restricted]
    assert unrestricted == [], ("Image.open without formats=[...] (Pillow would run "
                                f"Ghostscript on an EPS): {unrestricted}")


def test_the_guard_sees_an_unrestricted_call(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from PIL import Image as Img\n"
                      "a = Img.open('x.png')\n"
                      "b = Img.open('x.png', formats=['PNG'])\n", encoding="utf-8")
    assert _image_open_calls(sample) == [(2, False), (3, True)]
