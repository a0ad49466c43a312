"""docs/RELIABILITY.md never lies: every test it names exists, every numbered item of issue 6 has
a section with at least one test, and every test module of this suite is cited."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "RELIABILITY.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _references() -> list[tuple[str, str]]:
    return REFERENCE.findall(DOC.read_text(encoding="utf-8"))


def test_every_named_test_exists():
    refs = _references()
    assert len(refs) >= 40
    missing = []
    for path, name in refs:
        file = REPO / path
        text = file.read_text(encoding="utf-8") if file.is_file() else ""
        if not re.search(rf"^\s*def {name}\(", text, re.MULTILINE):
            missing.append(f"{path}::{name}")
    assert missing == []


def test_every_item_of_the_issue_has_a_section_with_tests():
    text = DOC.read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    numbers = [int(s.split(".", 1)[0]) for s in sections]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 8
    for section in sections:
        assert REFERENCE.search(section), section.splitlines()[0]


def test_every_reliability_module_is_cited():
    cited = {path for path, _name in _references()}
    modules = {f"tests/reliability/{p.name}" for p in (REPO / "tests" / "reliability").glob(
        "test_*.py")} - {"tests/reliability/test_reliability_doc.py"}
    assert modules - cited == set()
