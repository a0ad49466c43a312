"""Before a QApplication exists, the app says which system library Qt's xcb plugin lacks (Qt
itself would abort with exit 134), and the launcher gets the packages to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from playground import qtcheck

ROOT = Path(__file__).resolve().parents[2]

LDD_MISSING = """\
\tlinux-vdso.so.1 (0x00007ffc)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxkbcommon-x11.so.0 => not found
"""
DESKTOP = {"DISPLAY": ":0"}


def test_a_missing_library_is_named_with_the_package_and_the_command(tmp_path) -> None:
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    seen: list[Path] = []

    def ldd(path: Path) -> str:
        seen.append(path)
        return LDD_MISSING

    text = qtcheck.problem(DESKTOP, plugin, ldd)
    assert seen == [plugin]
    assert text is not None and text.count(".") >= 1
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4, libxkbcommon-x11.so.0" in text
    assert "`sudo apt-get install -y libxcb-cursor0 libxcb-icccm4 libxkbcommon-x11-0`" in text
    assert "\n" not in text


def test_nothing_missing_means_no_message(tmp_path) -> None:
    ok = LDD_MISSING.replace("not found", "/lib/x.so (0x1)")
    assert qtcheck.problem(DESKTOP, tmp_path, lambda _p: ok) is None


@pytest.mark.parametrize("env, applies", [
    ({"DISPLAY": ":0"}, True),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, True),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, False),
    ({}, False),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, False),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "w", "XDG_SESSION_TYPE": "wayland",
      "QT_QPA_PLATFORM": "xcb"}, True),
])
def test_the_check_applies_only_where_qt_picks_xcb(env, applies) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("xcb is Linux only")
    assert qtcheck.applies(env) is applies
    called = []
    qtcheck.problem(env, Path("/nonexistent"), lambda p: called.append(p) or LDD_MISSING)
    assert bool(called) is applies


@pytest.mark.parametrize("soname, package", [
    ("libxcb-cursor.so.0", "libxcb-cursor0"), ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"), ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"), ("libdbus-1.so.3", "libdbus-1-3"),
    ("libX11-xcb.so.1", "libx11-xcb1"), ("libglib-2.0.so.0", "libglib2.0-0"),
    ("libGL.so.1", "libgl1"), ("libfontconfig.so.1", "libfontconfig1"),
])
def test_debian_package_names(soname, package) -> None:
    assert qtcheck.debian_package(soname) == package


def test_the_open_command_reports_before_qt_starts(monkeypatch, capsys) -> None:
    """The real `open` path with a library reported missing: one sentence, exit 1, and no
    QApplication was created (Qt would have aborted the process)."""
    from playground.cli import main

    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(qtcheck, "xcb_plugin", lambda: Path("/venv/libqxcb.so"))
    monkeypatch.setattr(qtcheck, "_run_ldd", lambda _p: LDD_MISSING)
    started = []
    import playground.ui.app as app_module

    monkeypatch.setattr(app_module, "run", lambda *a, **k: started.append(a) or 0)
    assert main(["open"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Qt cannot open a window")
    assert "libxcb-icccm4" in err and err.count("\n") == 1
    assert started == []


def test_the_module_entry_point_imports_no_qt() -> None:
    code = ("import sys, runpy; sys.argv=['qtcheck']; "
            "import playground.qtcheck as q; rc = q.main([]); "
            "assert 'PySide6' not in sys.modules, 'Qt was imported'; print('ok', rc)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok")


def test_screenshot_into_a_missing_folder_blames_the_folder(tmp_path) -> None:
    target = tmp_path / "missing" / "x.png"
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "open",
                           str(ROOT / "presets" / "lenet5.json"), "--screenshot", str(target)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert str(target) in done.stderr and "does not exist" in done.stderr
    assert "lenet5.json" not in done.stderr
