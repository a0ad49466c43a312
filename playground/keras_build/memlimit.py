"""How much memory this process may still use: the system's available memory and its cgroup's
limit (cgroup v2 ``memory.max``, v1 ``memory.limit_in_bytes``).

In a container, a CI job or a systemd slice the cgroup limit is often far below the machine's
RAM; past it the kernel kills the process with SIGKILL and no message. Pure Python, no
TensorFlow: called before anything is allocated.
"""

from __future__ import annotations

import os

UNLIMITED = 1 << 60  # v1 reports "no limit" as a number near 2**63


def system_available() -> tuple[int, str]:
    """MemAvailable from /proc/meminfo, else total RAM, else 16 GiB."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "free system memory"
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "system memory"
    except (ValueError, OSError, AttributeError):
        return 16 * 1024**3, "assumed"


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read(64).strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return None if value >= UNLIMITED else value


def _stat(path: str, key: str) -> int:
    try:
        with open(path, encoding="ascii") as handle:
            for line in handle:
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _groups(proc_cgroup: str) -> tuple[str | None, str | None]:
    """(v2 path, v1 memory-controller path) of this process, from /proc/self/cgroup."""
    v2 = v1 = None
    try:
        with open(proc_cgroup, encoding="utf-8") as handle:
            for line in handle:
                parts = line.rstrip("\n").split(":", 2)
                if len(parts) != 3:
                    continue
                if parts[0] == "0" and parts[1] == "":
                    v2 = parts[2]
                elif "memory" in parts[1].split(","):
                    v1 = parts[2]
    except OSError:
        pass
    return v2, v1


def _ancestors(mount: str, path: str | None) -> list[str]:
    """The cgroup's folder and each parent up to the mount (a parent's limit binds too); the
    mount alone when the path is not visible (a container sees its own group as the root)."""
    folders = []
    if path:
        parts = [p for p in path.split("/") if p]
        for i in range(len(parts), 0, -1):
            folder = os.path.join(mount, *parts[:i])
            if os.path.isdir(folder):
                folders.append(folder)
    folders.append(mount)
    return folders


def cgroup_available(root: str = "/sys/fs/cgroup",
                     proc_cgroup: str = "/proc/self/cgroup") -> tuple[int, str] | None:
    """(bytes the tightest cgroup limit still allows, a description naming the file), or None
    without a limit. Reclaimable page cache (inactive files) does not count as used."""
    v2, v1 = _groups(proc_cgroup)
    best: tuple[int, str] | None = None
    candidates = []
    for folder in _ancestors(root, v2):
        candidates.append((os.path.join(folder, "memory.max"),
                           os.path.join(folder, "memory.current"),
                           os.path.join(folder, "memory.stat"), "inactive_file"))
    v1_mount = os.path.join(root, "memory")
    if os.path.isdir(v1_mount):
        for folder in _ancestors(v1_mount, v1):
            candidates.append((os.path.join(folder, "memory.limit_in_bytes"),
                               os.path.join(folder, "memory.usage_in_bytes"),
                               os.path.join(folder, "memory.stat"), "total_inactive_file"))
    seen = set()
    for limit_file, usage_file, stat_file, inactive in candidates:
        if limit_file in seen:
            continue
        seen.add(limit_file)
        limit = _read_int(limit_file)
        if limit is None:
            continue
        used = max(0, (_read_int(usage_file) or 0) - _stat(stat_file, inactive))
        left = max(0, limit - used)
        if best is None or left < best[0]:
            best = (left, f"cgroup limit {limit / 1024**3:.1f} GiB in {limit_file}, "
                          f"{used / 1024**3:.1f} GiB in use")
    return best
