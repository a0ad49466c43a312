"""The typed events of a training run, as a :class:`~playground.training.session.TrainingSession`
hands them to its views (the panel, the CLI, a user's script).

The run itself (``runner.run_training`` and its callbacks) emits plain dicts, because they cross a
process boundary and must pickle cheaply; :func:`from_raw` turns each into one or more of the
classes below, so a view matches on types and named fields instead of string keys. Every event
keeps its raw payload in ``raw`` for views that want a field this module does not name.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass, field
from typing import Any

# How a run's own end status (runner.RunResult.status) maps onto the session's final states.
FINISHED_STATUSES = ("finished", "early_stopped")
STOPPED_STATUSES = ("stopped",)


@dataclass(frozen=True)
class Event:
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Log(Event):
    text: str = ""


@dataclass(frozen=True)
class Device(Event):
    text: str = ""


@dataclass(frozen=True)
class Started(Event):
    """Training began (after the model was built and the data loaded): what the plots need."""

    epochs: int = 0
    steps: int = 0
    initial_epoch: int = 0
    batch_size: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Batch(Event):
    epoch: int = 0
    step: int = 0
    steps: int = 0
    loss: float | None = None
    accuracy: float | None = None
    lr: float | None = None
    images_per_s: float = 0.0
    elapsed: float = 0.0
    eta: float = float("nan")
    fraction: float = 0.0


@dataclass(frozen=True)
class Stopping(Event):
    """The run saw the Stop at a batch boundary: training is over, the weights are being kept."""

    epoch: int = 0
    step: int = 0


@dataclass(frozen=True)
class Epoch(Event):
    epoch: int = 0
    epochs: int = 0
    row: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0


@dataclass(frozen=True)
class Telemetry(Event):
    """Per-node figures after an epoch: node id -> {"grad_norm", "weight_change", "dead_relu"}."""

    epoch: int = 0
    nodes: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation(Event):
    """The held-out evaluation at the end of a run (accuracy, loss, confusion, ...)."""

    report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ended(Event):
    """The run is over; ``status`` is the run's own word (finished, stopped, nan, oom, error...)."""

    status: str = ""
    message: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    run_dir: str | None = None


@dataclass(frozen=True)
class Finished(Ended):
    pass


@dataclass(frozen=True)
class Stopped(Ended):
    pass


@dataclass(frozen=True)
class Failed(Ended):
    pass


def _ended(raw: dict[str, Any]) -> Ended:
    status = str(raw.get("status", "error"))
    cls: type[Ended] = (Finished if status in FINISHED_STATUSES
                        else Stopped if status in STOPPED_STATUSES else Failed)
    return cls(raw=raw, status=status, message=str(raw.get("message", "")),
               history=list(raw.get("history") or []), run_dir=raw.get("run_dir"))


def from_raw(raw: dict[str, Any]) -> list[Event]:
    """The typed events one raw run event stands for (an epoch also carries its telemetry; the
    end of a run also carries its evaluation). Unknown kinds become a :class:`Log` line rather
    than being dropped, so a newer child never silences an older view."""
    kind = raw.get("kind")
    if kind == "log":
        return [Log(raw=raw, text=str(raw.get("text", "")))]
    if kind == "device":
        return [Device(raw=raw, text=str(raw.get("text", "")))]
    if kind == "start":
        return [Started(raw=raw, epochs=int(raw.get("epochs", 0)), steps=int(raw.get("steps", 0)),
                        initial_epoch=int(raw.get("initial_epoch", 0)),
                        batch_size=int(raw.get("batch_size", 0)),
                        history=list(raw.get("history") or []))]
    if kind == "batch":
        names = ("loss", "accuracy", "lr")
        return [Batch(raw=raw, epoch=int(raw["epoch"]), step=int(raw["step"]),
                      steps=int(raw["steps"]), **{k: raw.get(k) for k in names},
                      images_per_s=float(raw.get("images_per_s", 0.0)),
                      elapsed=float(raw.get("elapsed", 0.0)),
                      eta=float(raw.get("eta", float("nan"))),
                      fraction=float(raw.get("fraction", 0.0)))]
    if kind == "stopping":
        return [Stopping(raw=raw, epoch=int(raw.get("epoch", 0)), step=int(raw.get("step", 0)))]
    if kind == "epoch":
        events: list[Event] = [Epoch(raw=raw, epoch=int(raw["epoch"]),
                                     epochs=int(raw.get("epochs", 0)),
                                     row=dict(raw.get("row") or {}),
                                     elapsed=float(raw.get("elapsed", 0.0)))]
        if raw.get("telemetry"):
            events.append(Telemetry(raw=raw, epoch=int(raw["epoch"]),
                                    nodes={k: dict(v) for k, v in raw["telemetry"].items()}))
        return events
    if kind == "done":
        events = []
        if raw.get("evaluation"):
            events.append(Evaluation(raw=raw, report=dict(raw["evaluation"])))
        events.append(_ended(raw))
        return events
    return [Log(raw=raw, text=f"{kind}: {raw}")]


def drain_queue(source: queue.Queue | queue.SimpleQueue, limit: int = 100_000) -> list[Any]:
    """Every item queued so far, oldest first, at most ``limit`` (a view's timer tick takes
    what arrived since the last one without ever blocking the GUI thread)."""
    out: list[Any] = []
    try:
        while len(out) < limit:
            out.append(source.get_nowait())
    except queue.Empty:
        pass
    return out
