"""Keras callbacks that turn training into plain-Python events (dicts) for a sink.

The sink is any callable taking one dict: ``print`` lines in the CLI, a thread-safe queue in the
GUI (the window drains it on a timer). Callbacks never touch widgets.

Event kinds: ``log``, ``device``, ``start``, ``batch``, ``epoch``, ``done``. Batch events carry the
batch loss/accuracy, images/s, elapsed and ETA; epoch events carry the epoch logs, the learning
rate and the per-node telemetry.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from playground.tfimport import import_tensorflow

import_tensorflow()
import keras  # noqa: E402 - after TensorFlow, quietly imported

# Logged figures of a segmentation run copied into the history (training/segkeras.py).
SEG_KEYS = ("mean_iou", "mean_dice", "iou_", "dice_")

Sink = Callable[[dict[str, Any]], None]


def _lr_of(model: Any) -> float:
    try:
        return float(np.asarray(model.optimizer.learning_rate))
    except (TypeError, ValueError, AttributeError):
        return float("nan")


def _pick(logs: dict[str, Any], key: str) -> float | None:
    """``loss``/``accuracy`` from logs, also for multi-output models (``<out>_accuracy``)."""
    if key in logs:
        return float(logs[key])
    for k, v in logs.items():
        if k.endswith(key) and not k.startswith("val_"):
            return float(v)
    return None


class StopBeforeTraining(Exception):
    """Stop was pressed before the first training step of the run (while the model was still
    being prepared): the step, whose first call traces and compiles the whole model (minutes for
    a big one), must not run at all."""


class ProgressCallback(keras.callbacks.Callback):
    """Batch/epoch progress, stop requests, NaN guard, best weights and history on disk.

    ``async_safe``: Keras may call ``on_train_batch_end`` from its callback thread pool, so the
    training loop never waits for our bookkeeping (that is how the GUI keeps plain-fit speed).
    A stop request is seen in ``on_train_batch_begin`` (synchronous): the batch that is starting
    is the last one. A NaN loss stops the run and the last good weights (end of the last finite
    epoch) are put back before anything is saved.
    """

    async_safe = True

    def __init__(self, sink: Sink, *, stop: threading.Event | None = None, epochs: int,
                 steps: int, batch_size: int, telemetry: Any = None, run_dir: str | None = None,
                 history: list[dict[str, Any]] | None = None, batch_every: int = 1,
                 batch_interval: float = 0.0) -> None:
        super().__init__()
        self.sink = sink
        self.stop = stop or threading.Event()
        self.epochs = epochs
        self.steps = max(1, steps)
        self.batch_size = batch_size
        self.telemetry = telemetry
        self.run_dir = run_dir
        self.history = list(history or [])
        self.batch_every = max(1, batch_every)
        # Minimum seconds between batch events (the GUI redraws at 10 Hz; more is waste).
        self.batch_interval = batch_interval
        self._last_emit = -math.inf
        self._history_written = time.perf_counter()
        self.nan_batch: tuple[int, int] | None = None
        self.nan_from = 0
        self.stopped_by_user = False
        self.good_weights: list[np.ndarray] | None = None
        self.best_weights: list[np.ndarray] | None = None
        self.best_val = math.inf
        self.epoch = 0
        self.lr = float("nan")

    # ------------------------------------------------------------------ training
    def _write_history(self) -> None:
        from playground.training.checkpoint import CheckpointWriteError
        from playground.training.runs import write_history

        try:
            write_history(self.run_dir, self.history)
        except OSError as exc:  # a full disk: stop, naming the file (partials are removed)
            raise CheckpointWriteError(f"{self.run_dir}/history.csv", exc) from None
        self._history_written = time.perf_counter()

    def on_train_end(self, logs=None):
        if self.run_dir is not None and self.best_weights is not None:
            current = self.model.get_weights()
            self.model.set_weights(self.best_weights)
            try:
                _save_weights_atomic(self.model, f"{self.run_dir}/best.weights.h5")
            finally:
                self.model.set_weights(current)

    def on_train_begin(self, logs=None):
        self.t0 = time.perf_counter()
        self.start_epoch = None
        self.good_weights = self.model.get_weights()

    def _started(self, epoch: int) -> None:
        """First epoch: BackupAndRestore (later in the list) has now set the initial epoch."""
        self.start_epoch = epoch
        self.good_weights = self.model.get_weights()
        if self.history:
            self.history = [r for r in self.history if int(r["epoch"]) <= self.start_epoch]
        finite = [r["val_loss"] for r in self.history
                  if isinstance(r.get("val_loss"), float) and math.isfinite(r["val_loss"])]
        self.best_val = min(finite, default=math.inf)
        self.sink({"kind": "start", "epochs": self.epochs, "steps": self.steps,
                   "initial_epoch": self.start_epoch, "batch_size": self.batch_size,
                   "history": list(self.history)})

    def on_epoch_begin(self, epoch, logs=None):
        if self.start_epoch is None:
            self._started(epoch)
        self.epoch = epoch
        self.lr = _lr_of(self.model)
        self.epoch_t0 = time.perf_counter()

    def on_train_batch_begin(self, batch, logs=None):
        if not getattr(self, "_stepped", False):
            self._stepped = True
            if self.stop.is_set():
                raise StopBeforeTraining
        if self.stop.is_set() and not self.model.stop_training:
            self.stopped_by_user = True
            self.model.stop_training = True
            # Training ends here; what follows (the weights written) is short. A session in
            # another process waits for that instead of terminating the run (see session.py).
            self.sink({"kind": "stopping", "epoch": self.epoch + 1, "step": batch})

    def on_test_batch_begin(self, batch, logs=None):
        # After a Stop, the epoch's validation is cut short (it can take minutes on a big
        # model); its partial figures are left out of the history.
        if self.stop.is_set():
            if not self.stopped_by_user and getattr(self, "start_epoch", None) is not None:
                # Acknowledged here too: a Stop during validation ends training as promptly as
                # one between batches, and the session must not terminate the run (and lose
                # the epoch it just finished) while it keeps its weights.
                self.sink({"kind": "stopping", "epoch": self.epoch + 1, "step": self.steps})
            self.stopped_by_user = True
            self.model.stop_training = True
            self.model.stop_evaluating = True

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        loss = _pick(logs, "loss")
        # ``batch`` is the last step of the call (several steps per call: steps.py), and Keras
        # does not shorten the epoch's last, partial call: its ``batch`` may lie past the end.
        step = min(batch + 1, self.steps)
        images = ((self.epoch - (self.start_epoch or 0)) * self.steps + step) * self.batch_size
        if loss is not None and not math.isfinite(loss):
            if self.nan_batch is None:
                self.nan_batch = (self.epoch + 1, step)
                # The first step of the call: with several steps per call the loss is seen
                # only at its end.
                per_call = int(getattr(self.model, "steps_per_execution", 1) or 1)
                self.nan_from = max(1, batch + 2 - per_call)
            self.model.stop_training = True
            return
        last = step == self.steps
        if batch % self.batch_every and not last:
            return
        now = time.perf_counter()
        if now - self._last_emit < self.batch_interval and not last:
            return
        self._last_emit = now
        elapsed = now - self.t0
        done = (self.epoch - self.start_epoch) * self.steps + step
        total = (self.epochs - self.start_epoch) * self.steps
        rate = done / elapsed if elapsed > 0 else 0.0
        self.sink({"kind": "batch", "epoch": self.epoch + 1, "step": step,
                   "steps": self.steps, "loss": loss, "accuracy": _pick(logs, "accuracy"),
                   "lr": self.lr, "images_per_s": images / elapsed if elapsed > 0 else 0.0,
                   "elapsed": elapsed,
                   "eta": (total - done) / rate if rate > 0 else float("nan"),
                   "fraction": done / total if total else 1.0})

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        loss = _pick(logs, "loss")
        if self.nan_batch is None and loss is not None and not math.isfinite(loss):
            self.nan_batch = (epoch + 1, self.steps)
        if self.nan_batch is not None:
            # Put the last good weights back before BackupAndRestore/the runner save anything.
            if self.good_weights is not None:
                self.model.set_weights(self.good_weights)
            self.model.stop_training = True
            return
        self.good_weights = self.model.get_weights()
        row: dict[str, Any] = {"epoch": epoch + 1, "loss": loss,
                               "accuracy": _pick(logs, "accuracy"),
                               "val_loss": logs.get("val_loss"),
                               "val_accuracy": logs.get("val_accuracy"),
                               "lr": self.lr, "seconds": time.perf_counter() - self.epoch_t0}
        for key in logs:  # segmentation runs: mean IoU/Dice, IoU and Dice per class
            if key.removeprefix("val_").startswith(SEG_KEYS):
                row[key] = logs[key]
        if self.stopped_by_user:
            row["val_loss"] = row["val_accuracy"] = None  # validation skipped or cut short
            for key in row:
                if key.startswith("val_"):
                    row[key] = None
        row = {k: (float(v) if v is not None else None) for k, v in row.items()}
        row["epoch"] = epoch + 1
        self.history.append(row)
        if self.stop.is_set() and not self.stopped_by_user:
            # Asked after this epoch's last batch and validation (with several steps per call
            # the whole end of an epoch may hold no batch hook at all): the epoch stands whole;
            # acknowledged here, so the session waits for the weights instead of terminating
            # the run while the telemetry below traces its first gradient pass.
            self.stopped_by_user = True
            self.model.stop_training = True
            self.sink({"kind": "stopping", "epoch": epoch + 1, "step": self.steps})
        telemetry = {}
        if self.telemetry is not None and not self.stopped_by_user:  # a Stop ends promptly
            try:
                telemetry = self.telemetry.compute()
            except Exception as exc:  # noqa: BLE001 - telemetry must never end a run
                self.sink({"kind": "log", "text": f"telemetry skipped: {exc}"})
                self.telemetry = None
        if self.run_dir is not None:
            # history.csv after every epoch (small; a crash keeps every finished epoch).
            self._write_history()
            val = row.get("val_loss")
            monitor = val if val is not None else row.get("loss")
            if monitor is not None and monitor < self.best_val:
                # Kept in memory (a copy costs far less than an HDF5 write per epoch) and
                # written when training ends; BackupAndRestore keeps the latest on disk.
                self.best_val = monitor
                self.best_weights = self.good_weights
        self.sink({"kind": "epoch", "epoch": epoch + 1, "epochs": self.epochs, "row": row,
                   "logs": {k: float(v) for k, v in logs.items()
                            if isinstance(v, (int, float, np.floating))},
                   "telemetry": telemetry, "elapsed": time.perf_counter() - self.t0})


def _save_weights_atomic(model: Any, path: str) -> None:
    """Weights into a temp file, then moved into place (a crash never truncates the old file;
    a failed write removes its partial file and raises ``CheckpointWriteError``)."""
    from playground.training.checkpoint import save_weights_atomic

    save_weights_atomic(model, path)


class LearningRateSetter(keras.callbacks.Callback):
    """Step decay and cosine schedules, set on the optimizer at each epoch's start (so the
    plateau rule and the live lr plot see one plain variable)."""

    def __init__(self, rule: Callable[[int], float]) -> None:
        super().__init__()
        self.rule = rule

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate.assign(self.rule(epoch))


# At most this many seconds of training are lost to a kill (issue 11: "at most 30 s").
CHECKPOINT_SECONDS = 30.0


class ThrottledBackup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` that writes at most every ``min_interval`` seconds of training, and
    always when the run stops (user, NaN, early stopping) or reaches its last epoch.

    Writing weights and optimizer state to HDF5 after every epoch costs more than a whole epoch
    of a small model; this keeps resume exact after Stop and loses at most ``min_interval``
    seconds of work after a crash, also inside a long epoch (checked at each batch's start).
    Each write goes to a temp file moved into place, so a kill mid-write keeps the previous
    checkpoint. Its batch-end hook does nothing, so it is safe for Keras' asynchronous
    batch-callback dispatch.
    """

    async_safe = True

    def __init__(self, backup_dir: str, min_interval: float | None = None,
                 epochs: int = 0) -> None:
        super().__init__(backup_dir, delete_checkpoint=False)
        self.min_interval = CHECKPOINT_SECONDS if min_interval is None else min_interval
        self.epochs = epochs
        self._last_save = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_now = epoch

    def on_train_batch_begin(self, batch, logs=None):
        # Long epochs: also checkpoint mid-epoch, so a kill loses at most ``min_interval``
        # seconds. (Synchronous hook: the weights are those after the previous step.) The
        # checkpoint names the epoch in progress, which a resume runs again from its start
        # with these weights.
        if batch and time.perf_counter() - self._last_save >= self.min_interval:
            self._current_epoch, self._last_batch_seen = getattr(self, "_epoch_now", 0), batch
            self._save_model()
            self._last_save = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        due = time.perf_counter() - self._last_save >= self.min_interval
        if due or self.model.stop_training or epoch + 1 >= self.epochs:
            self._save_model()
            self._last_save = time.perf_counter()

    def _save_model(self):
        """Keras' layout, written atomically (temp file + ``os.replace``), partials removed."""
        from playground.training.checkpoint import save_backup

        save_backup(self.model, self.backup_dir, self._current_epoch, self._last_batch_seen)
