"""Human-readable numbers and shapes for node faces, panels and the status bar."""

from __future__ import annotations

from collections.abc import Sequence


def scientific(n: int) -> str:
    """An int too large for a float (10**400) as '1.0e400', from its digits."""
    digits = str(abs(int(n)))
    return f"{'-' if n < 0 else ''}{digits[0]}.{digits[1:2] or '0'}e{len(digits) - 1}"


def human_count(n: int | float | None) -> str:
    """1234 -> '1.2k', 25_557_032 -> '25.6M' (for faces where space is short)."""
    if n is None:
        return "-"
    try:
        n = float(n)
    except OverflowError:
        return scientific(n)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            value = n / scale
            return f"{value:.1f}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return f"{int(n)}"


def grouped(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def human_bytes(n: int | float | None) -> str:
    if n is None:
        return "-"
    try:
        n = float(n)
    except OverflowError:
        return scientific(n) + " B"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def shape_text(shape: Sequence[int] | None) -> str:
    if shape is None:
        return "?"
    return "\u00d7".join(str(d) for d in shape)
