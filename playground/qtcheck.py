"""Can Qt's xcb platform plugin load? Asked before a QApplication exists, because Qt answers a
missing system library (``libxcb-cursor0`` on a fresh Debian desktop) by aborting the process
with a core dump. This module never imports Qt or TensorFlow: it finds PySide6's plugin on disk
and asks ``ldd`` which of its libraries the system lacks (a ``dlopen`` of the plugin is the
fallback where ``ldd`` is missing), then names the Debian/Ubuntu packages that provide them.

``python -m playground.qtcheck`` prints the missing packages, one a line (exit 1 when any are
missing, 0 when the plugin can load or the check does not apply); ``scripts/start`` uses it.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

# Sonames whose Debian/Ubuntu package name does not follow the usual rule (see debian_package).
_PACKAGE_EXCEPTIONS: dict[str, str] = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libGLX.so.0": "libglx0",
    "libOpenGL.so.0": "libopengl0",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
    "libc.so.6": "libc6",
    "libm.so.6": "libc6",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
}

Ldd = Callable[[Path], str]


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that ships ``soname``: ``libxcb-icccm.so.4`` ->
    ``libxcb-icccm4``, ``libxkbcommon-x11.so.0`` -> ``libxkbcommon-x11-0`` (a hyphen where
    the name already ends in a digit), with the irregular names listed above."""
    if soname in _PACKAGE_EXCEPTIONS:
        return _PACKAGE_EXCEPTIONS[soname]
    match = re.fullmatch(r"(.+?)\.so\.(\d+)(?:\..*)?", soname)
    if not match:
        return soname.lower()
    stem, major = match.group(1).lower(), match.group(2)
    return f"{stem}-{major}" if stem[-1].isdigit() else f"{stem}{major}"


def xcb_plugin() -> Path | None:
    """PySide6's ``libqxcb.so`` on disk (found without importing PySide6), or None."""
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        plugin = Path(location) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def applies(environ: Mapping[str, str] | None = None) -> bool:
    """Only Linux, only when Qt will pick xcb: QT_QPA_PLATFORM unset or xcb, a DISPLAY to
    connect to, and not a Wayland session (Qt prefers its wayland plugin there)."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return False
    platform = env.get("QT_QPA_PLATFORM", "").strip().lower()
    if platform and not platform.startswith("xcb"):
        return False
    if not env.get("DISPLAY"):
        return False
    wayland = env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE", "") == "wayland"
    return bool(platform.startswith("xcb") or not wayland)


def _run_ldd(path: Path) -> str:
    ldd = shutil.which("ldd")
    if ldd is None:
        raise FileNotFoundError("ldd")
    done = subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=20,
                          check=False)
    return done.stdout + done.stderr


def missing_libraries(plugin: Path, ldd: Ldd | None = None) -> list[str]:
    """The sonames ``plugin`` needs that the dynamic loader cannot find (in ldd's order)."""
    try:
        output = (ldd or _run_ldd)(plugin)
    except (OSError, subprocess.SubprocessError):
        return _dlopen_missing(plugin)
    missing: list[str] = []
    for line in output.splitlines():
        match = re.match(r"\s*(\S+)\s*=>\s*not found", line)
        if match and match.group(1) not in missing:
            missing.append(match.group(1))
    return missing


def _dlopen_missing(plugin: Path) -> list[str]:
    """Without ldd: load the plugin; the loader's message names the first missing library."""
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        match = re.search(r"([\w.+-]+\.so[\w.]*): cannot open shared object", str(exc))
        return [match.group(1)] if match else []
    return []


def packages_for(sonames: list[str]) -> list[str]:
    packages: list[str] = []
    for soname in sonames:
        package = debian_package(soname)
        if package not in packages:
            packages.append(package)
    return packages


def install_command(packages: list[str]) -> str:
    return "sudo apt-get install -y " + " ".join(packages)


def problem(environ: Mapping[str, str] | None = None, plugin: Path | None = None,
            ldd: Ldd | None = None) -> str | None:
    """One sentence with the fix when Qt's xcb plugin cannot load here, else None."""
    if not applies(environ):
        return None
    plugin = plugin or xcb_plugin()
    if plugin is None:
        return None
    missing = missing_libraries(plugin, ldd)
    if not missing:
        return None
    return (f"Qt cannot open a window: its xcb platform plugin needs {', '.join(missing)}, "
            f"which this system lacks; install {'it' if len(missing) == 1 else 'them'} with "
            f"`{install_command(packages_for(missing))}` (or run scripts/start, which does), "
            "or render without a display with `--screenshot PNG`.")


def main(argv: list[str] | None = None) -> int:
    """Print the missing packages, one a line; exit 1 when any are missing. (The launcher
    sets QT_QPA_PLATFORM=xcb and a DISPLAY so the check runs before any desktop is known.)"""
    del argv   # no options
    if not applies():
        return 0
    plugin = xcb_plugin()
    if plugin is None:
        return 0
    packages = packages_for(missing_libraries(plugin))
    for package in packages:
        print(package)
    return 1 if packages else 0


if __name__ == "__main__":
    raise SystemExit(main())
