"""Text from a graph file, made safe to print on one terminal line.

A graph's name, a parameter name or a value comes from whoever wrote the file: an escape
sequence there (``ESC ]0;...``, ``ESC [2J``) would retitle or clear the user's terminal, a newline
would fake another output line, and 100,000 characters would flood it. Pure Python, shared by
the CLI's problem lines and the summary table's title.
"""

from __future__ import annotations

MAX_LINE = 400   # characters of one line; a 100 KB parameter name is cut, not printed


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """``text`` as one printable line of at most ``limit`` characters.

    Control and format characters (and lone surrogates) become escapes (``\\x1b``, ``\\n``,
    ``\\u202e``); the rest is cut with a note of the full length."""
    out = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text)[:limit * 2])
    full = len(str(text))
    if len(out) > limit or full > limit * 2:
        return f"{out[:limit]}... ({full:,} characters)"
    return out
