"""How much memory this process may still use: the machine's available memory, lowered by a
cgroup limit (v2 ``memory.max``/``memory.current``, v1 ``memory.limit_in_bytes``/``usage``) so
a container's limit is respected. Used to size the decoded-image cache. Pure Python, Linux
files read when present; elsewhere a conservative guess.
"""

from __future__ import annotations

import os

CGROUP_ROOT = "/sys/fs/cgroup"
FALLBACK = 2 * 1024 ** 3  # unknown platform: assume 2 GiB are free


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as f:
            text = f.read(64).strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text or text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 < value < 1 << 62 else None


def meminfo_available(path: str = "/proc/meminfo") -> int | None:
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None
    return None


def _own_cgroup(root: str) -> str:
    """The v2 cgroup folder of this process (``/proc/self/cgroup`` line ``0::/path``)."""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as f:
            for line in f:
                if line.startswith("0::"):
                    rel = line[3:].strip().lstrip("/")
                    candidate = os.path.join(root, rel)
                    if os.path.isdir(candidate):
                        return candidate
    except OSError:
        pass
    return root


def cgroup_headroom(root: str = CGROUP_ROOT) -> int | None:
    """Bytes left under the cgroup's memory limit, or None when there is no limit."""
    folder = _own_cgroup(root)
    limit = _read_int(os.path.join(folder, "memory.max"))
    if limit is not None:
        used = _read_int(os.path.join(folder, "memory.current")) or 0
        return max(0, limit - used)
    limit = _read_int(os.path.join(root, "memory", "memory.limit_in_bytes"))
    if limit is not None and limit < 1 << 60:
        used = _read_int(os.path.join(root, "memory", "memory.usage_in_bytes")) or 0
        return max(0, limit - used)
    return None


def available_memory() -> int:
    """Bytes this process can still allocate: MemAvailable, capped by the cgroup's headroom."""
    candidates = [v for v in (meminfo_available(), cgroup_headroom()) if v is not None]
    return min(candidates) if candidates else FALLBACK
