"""Output targets that must never be replaced by a regular file, even with ``--force``.

Saving is "write a temp file, then ``os.replace`` it onto the target". Onto a device node
(``/dev/null``, a disk), a FIFO, a socket or a folder that rename would swap the special file
for a regular one: as root, ``export --out /dev/null --force`` would delete the system's
``/dev/null``. A symlink is judged by what it points to.
"""

from __future__ import annotations

import os
import stat


def special_target_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` must not be replaced by a regular file, or None (absent or a regular file)."""
    text = os.fspath(path)
    try:
        mode = os.stat(text).st_mode
    except OSError:
        return None  # absent, a dangling symlink, a path under a file: the write says why
    kinds = [(stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISSOCK, "a socket")]
    for test, kind in kinds:
        if test(mode):
            via = f" (through the link {text})" if os.path.islink(text) else ""
            return (f"{text}: is {kind}{via}; refusing to replace it with a file, even with "
                    "--force; give a file path")
    return None
