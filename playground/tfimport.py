"""Importing TensorFlow without its C++ start-up chatter on the user's terminal.

TensorFlow 2.21 writes oneDNN and CUDA-probe lines straight to file descriptor 2 while importing and
while first enumerating devices, before TF_CPP_MIN_LOG_LEVEL takes effect. They alarm users ("failed
call to cuInit") on every CPU-only machine. We point fd 2 at /dev/null for exactly that span; Python
exceptions still propagate normally and everything after it is printed as usual.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def import_tensorflow() -> ModuleType:
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    if os.environ.get("PLAYGROUND_DEBUG"):
        import tensorflow as tf

        return tf
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        fd = 2
    try:
        sys.stderr.flush()
        saved = os.dup(fd)
    except OSError:
        import tensorflow as tf

        return tf
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe logs here, once
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)
    return tf
