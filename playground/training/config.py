"""Run settings (optimizer, schedule, batch, epochs...) and where their defaults come from.

Defaults: a preset's graph file may carry a top-level ``"training"`` object (same keys as
:class:`RunConfig`, or the papers' terms, see :func:`from_preset`); otherwise the generic values
below. LeNet-5's own recipe (SGD 0.1, cosine, random translation) is what reaches >= 97 %
validation accuracy on the built-in digits within 10 epochs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from playground.core.errors import PlaygroundError

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "plateau", "cosine")
STRATEGIES = ("default", "mirrored", "multiworker")


class ConfigError(PlaygroundError):
    """A run setting out of range; the message names the setting (and the file it came from)."""


@dataclass
class RunConfig:
    dataset: str = "digits"
    epochs: int = 10
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9          # SGD (and RMSprop) momentum
    schedule: str = "constant"
    step_epochs: int = 5           # step decay: multiply by step_gamma every step_epochs
    step_gamma: float = 0.1
    step_milestones: list[int] = field(default_factory=list)  # epochs where lr *= step_gamma
    plateau_patience: int = 2      # /10 on plateau of val_loss
    weight_decay: float = 0.0
    early_stopping: int = 0        # patience in epochs on val_loss; 0 = off
    seed: int = 0
    val_split: float = 0.2
    test_split: float = 0.0
    augment: list[str] = field(default_factory=list)
    mixed_precision: bool = False
    xla: bool = False
    strategy: str = "default"
    telemetry: bool = True
    probe_size: int = 64           # samples used for per-epoch telemetry
    bad_images: str = "stop"       # folders/CSV: an unreadable image stops the run, or "skip"
    cache: str = "auto"            # folders/CSV: decoded-image cache: auto, memory, file, none
    class_weights: bool = False    # weight the loss by inverse class frequency (unbalanced data)
    feature_cache: bool = True     # a frozen, deterministic prefix runs once per image
    steps_per_execution: int = 0   # training steps per compiled call; 0 = automatic (steps.py)

    def validate(self, source: str = "run settings") -> RunConfig:
        def bad(key: str, why: str) -> ConfigError:
            return ConfigError(f"{source}: {key} = {getattr(self, key)!r}: {why}")

        for key in ("epochs", "batch_size", "step_epochs", "probe_size"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise bad(key, "must be a whole number >= 1")
        for key in ("early_stopping", "plateau_patience", "seed", "steps_per_execution"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise bad(key, "must be a whole number >= 0")
        if self.seed > 2**32 - 1:   # NumPy and TensorFlow refuse larger seeds mid-run
            raise bad("seed", "must be at most 2**32-1 (4294967295)")
        for key in ("lr", "momentum", "step_gamma", "weight_decay", "val_split", "test_split"):
            value = getattr(self, key)
            if not isinstance(value, (int, float)) or isinstance(value, bool) \
                    or not math.isfinite(value) or value < 0:
                raise bad(key, "must be a finite number >= 0")
        if self.lr <= 0:
            raise bad("lr", "must be > 0")
        if self.val_split >= 1 or self.test_split >= 1 or self.val_split + self.test_split >= 1:
            raise bad("val_split", "val_split + test_split must be below 1")
        if not isinstance(self.step_milestones, list) or not all(
                isinstance(m, int) and not isinstance(m, bool) and m >= 1
                for m in self.step_milestones):
            raise bad("step_milestones", "must be a list of epochs >= 1")
        if self.optimizer not in OPTIMIZERS:
            raise bad("optimizer", f"choose one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise bad("schedule", f"choose one of {', '.join(SCHEDULES)}")
        if self.strategy not in STRATEGIES:
            raise bad("strategy", f"choose one of {', '.join(STRATEGIES)}")
        if self.bad_images not in ("stop", "skip"):
            raise bad("bad_images", "choose stop or skip")
        if self.cache not in ("auto", "memory", "file", "none"):
            raise bad("cache", "choose one of auto, memory, file, none")
        if not isinstance(self.class_weights, bool):
            raise bad("class_weights", "must be true or false")
        from playground.data.augment import parse_augment
        from playground.data.dataset import DatasetError

        try:
            self.augment = parse_augment(self.augment)
        except DatasetError as exc:
            raise ConfigError(f"{source}: augment: {exc}") from None
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str = "run settings",
                  base: RunConfig | None = None) -> RunConfig:
        """Overlay ``data`` on ``base`` (or the defaults); unknown keys are refused by name."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected an object of run settings, got "
                              f"{type(data).__name__}")
        known = {f.name: f for f in dataclasses.fields(cls)}
        values = (base or cls()).to_dict()
        for key, value in data.items():
            if key not in known:
                raise ConfigError(f"{source}: unknown setting {key!r}; known: "
                                  f"{', '.join(known)}")
            default = values[key]
            if isinstance(default, float) and isinstance(value, int) \
                    and not isinstance(value, bool):
                value = float(value)
            values[key] = value
        return cls(**values).validate(source)

    def fine_tuning(self) -> RunConfig:
        """The fine-tuning preset: same settings with the learning rate at 1/10."""
        return dataclasses.replace(self, lr=self.lr / 10.0, augment=list(self.augment),
                                   step_milestones=list(self.step_milestones))


# The presets' "training" objects speak the papers' language; these map it onto RunConfig.
PRESET_KEYS = {"learning_rate": "lr", "lr": "lr", "optimizer": "optimizer",
               "momentum": "momentum", "weight_decay": "weight_decay",
               "batch_size": "batch_size", "epochs": "epochs", "seed": "seed",
               "early_stopping": "early_stopping", "val_split": "val_split"}
PRESET_AUGMENT = {"random_crop": "crop", "horizontal_flip": "flip", "color_jitter": "colour",
                  "colour_jitter": "colour", "random_translation": "translate",
                  "random_rotation": "rotate", "random_zoom": "zoom", "random_erasing": "cutout",
                  "random_contrast": "contrast"}
# Informational keys of a preset's training object (shown, not applied).
PRESET_INFO = {"source", "dropout", "nesterov", "rho", "loss", "note", "notes"}


def from_preset(data: Any, source: str = "training") -> tuple[RunConfig, list[str]]:
    """A preset's ``"training"`` object -> (RunConfig, notes on what was not applied).

    Values that are present but wrong are refused by name; keys this version does not apply
    (``dropout``, ``nesterov``, a ``loss`` other than cross-entropy) are listed in the notes.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected an object, got {type(data).__name__}")
    values: dict[str, Any] = {}
    notes: list[str] = []
    for key, value in data.items():
        if key in RunConfig.__dataclass_fields__ and key not in PRESET_KEYS:
            values[key] = value
        elif key in PRESET_KEYS:
            values[PRESET_KEYS[key]] = value
        elif key == "lr_schedule":
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: lr_schedule must be an object")
            kind = value.get("kind")
            factor = value.get("factor", 0.1)
            if kind == "reduce_on_plateau":
                values["schedule"] = "plateau"
            elif kind in ("step", "exponential"):
                values["schedule"] = "step"
                values["step_gamma"] = factor
                epochs = value.get("epochs", value.get("every_epochs", 5))
                if isinstance(epochs, list):
                    values["step_milestones"] = epochs
                else:
                    values["step_epochs"] = epochs
            elif kind in ("cosine", "constant"):
                values["schedule"] = kind
            else:
                raise ConfigError(f"{source}: lr_schedule kind {kind!r} is not one of "
                                  "reduce_on_plateau, step, exponential, cosine, constant")
        elif key == "augmentation":
            if not isinstance(value, list):
                raise ConfigError(f"{source}: augmentation must be a list")
            values["augment"] = [PRESET_AUGMENT.get(str(v), str(v)) for v in value]
        elif key in PRESET_INFO:
            if key != "source":
                notes.append(f"{key} = {value!r} (not applied by the run settings)")
        else:
            notes.append(f"unknown training key {key!r} ignored")
    if isinstance(values.get("optimizer"), str):
        values["optimizer"] = values["optimizer"].lower()
    return RunConfig.from_dict(values, source=source), notes


def config_for_graph(graph: Any) -> RunConfig:
    """Defaults for a graph: its file's top-level ``"training"`` object, else :class:`RunConfig`."""
    extra = getattr(graph, "extra", {}) or {}
    if "training" in extra:
        return from_preset(extra["training"], source=f"{graph.name}: training")[0]
    return RunConfig().validate()
