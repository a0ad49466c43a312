"""Devices: GPU memory growth, mixed precision, the device line for the status bar.

``describe_device_cached`` never imports TensorFlow: the status bar can poll it at start-up and
gets None until training has imported TF and called :func:`setup_devices`.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

_described: str | None = None


def describe_device_cached() -> str | None:
    """The last device description, or None if TensorFlow has not been set up by training yet."""
    if _described is None and "tensorflow" not in sys.modules:
        return None
    return _described


def setup_devices(tf: Any = None, gpus: list[Any] | None = None) -> str:
    """Turn memory growth on for every GPU TensorFlow sees and describe the device used.

    Memory growth must be set before a GPU is initialised; if it already was (a second run in the
    same process), TensorFlow raises RuntimeError and the setting stays as it was, which is fine.
    ``tf``/``gpus`` can be injected by tests (a fake device list exercises the memory-growth path).
    """
    global _described
    if tf is None:
        from playground.tfimport import import_tensorflow

        tf = import_tensorflow()
    if gpus is None:
        gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except (RuntimeError, ValueError):
            pass
    if gpus:
        names = []
        for gpu in gpus:
            try:
                details = tf.config.experimental.get_device_details(gpu)
            except (RuntimeError, ValueError, AttributeError):
                details = {}
            names.append(details.get("device_name") or getattr(gpu, "name", "GPU"))
        _described = f"GPU: {', '.join(names)}" if len(names) == 1 else \
            f"{len(names)} GPUs: {', '.join(names)}"
    else:
        _described = "CPU"
    return _described


@contextlib.contextmanager
def precision_policy(mixed: bool) -> Iterator[str]:
    """Set the Keras dtype policy for building a model, and restore the previous one after."""
    import keras

    previous = keras.config.dtype_policy()
    name = "mixed_float16" if mixed else "float32"
    keras.config.set_dtype_policy(name)
    try:
        yield name
    finally:
        keras.config.set_dtype_policy(previous)


def make_strategy(name: str) -> Any:
    """``default`` | ``mirrored`` (all local GPUs, or the logical CPUs) | ``multiworker``
    (``TF_CONFIG`` describes the cluster)."""
    from playground.tfimport import import_tensorflow

    tf = import_tensorflow()

    from playground.training.config import ConfigError

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multiworker":
        import json
        import os

        raw = os.environ.get("TF_CONFIG")
        if not raw:
            raise ConfigError("--strategy multiworker needs TF_CONFIG (the cluster's worker "
                              "addresses and this worker's index)")
        try:
            json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f"TF_CONFIG is not valid JSON ({exc})") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(f"unknown strategy {name!r}")
