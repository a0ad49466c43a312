"""The headless training run: dataset -> adapted tf.data -> compiled model -> fit -> results.

Shared by the CLI (events printed) and the GUI worker thread (events queued). Every failure a user
can cause ends in a :class:`RunResult` with a status and a message, never an exception from the
worker: ``finished``, ``stopped`` (user, weights kept), ``early_stopped``, ``nan`` (last good
weights restored), ``oom`` (suggests a smaller batch), ``error``.
"""

from __future__ import annotations

import math
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from playground.core.errors import PlaygroundError
from playground.core.fileformat import to_document
from playground.core.graph import Graph
from playground.data.dataset import Dataset
from playground.training.config import RunConfig

Sink = Callable[[dict[str, Any]], None]


@dataclass
class RunResult:
    status: str
    message: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    evaluation: dict[str, Any] | None = None
    run_dir: str | None = None
    model: Any = None
    built: Any = None
    graph: Graph | None = None   # the graph the model was built from (classes retargeted)
    dataset: Dataset | None = None
    eval_indices: np.ndarray | None = None  # rows of dataset.x (or x_test) the evaluation used
    eval_source: str = "train"              # "train" (val split of x) or "test" (x_test)
    raw_shape: tuple[int, int, int] | None = None
    model_shape: tuple[int, int, int] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("finished", "stopped", "early_stopped")


def input_shape_of(graph: Graph) -> tuple[int, int, int]:
    inputs = [n for n in graph.nodes if n.type == "Input"]
    if len(inputs) != 1:
        raise PlaygroundError(f"training needs exactly one Input node, the graph has "
                              f"{len(inputs)}")
    shape = inputs[0].params.get("shape")
    if not isinstance(shape, list) or len(shape) != 3:
        raise PlaygroundError(f"node {inputs[0].id}: training needs an image Input H x W x C, "
                              f"got shape {shape!r}")
    return tuple(int(d) for d in shape)  # type: ignore[return-value]


def _optimizer(config: RunConfig):
    import keras

    kwargs: dict[str, Any] = {"learning_rate": config.lr}
    if config.weight_decay:
        kwargs["weight_decay"] = config.weight_decay
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(momentum=config.momentum, nesterov=False, **kwargs)
    if config.optimizer == "adam":
        return keras.optimizers.Adam(**kwargs)
    if config.optimizer == "adamw":
        kwargs.setdefault("weight_decay", 0.004)
        return keras.optimizers.AdamW(**kwargs)
    return keras.optimizers.RMSprop(momentum=config.momentum if config.momentum < 1 else 0.0,
                                    **kwargs)


def _schedule_callbacks(config: RunConfig, has_val: bool) -> list[Any]:
    import keras

    from playground.training.callbacks import LearningRateSetter

    if config.schedule == "step":
        lr, gamma, every = config.lr, config.step_gamma, config.step_epochs
        marks = sorted(config.step_milestones)
        if marks:
            return [LearningRateSetter(lambda e: lr * gamma ** sum(e >= m for m in marks))]
        return [LearningRateSetter(lambda e: lr * gamma ** (e // every))]
    if config.schedule == "cosine":
        lr, epochs = config.lr, config.epochs
        return [LearningRateSetter(lambda e: lr * 0.5 * (1 + math.cos(math.pi * e / epochs)))]
    if config.schedule == "plateau":
        return [keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss" if has_val else "loss", factor=0.1,
            patience=config.plateau_patience, verbose=0)]
    return []


def _is_oom(exc: BaseException) -> bool:
    try:
        import tensorflow as tf

        if isinstance(exc, tf.errors.ResourceExhaustedError):
            return True
    except ImportError:
        pass
    return isinstance(exc, MemoryError) or "OOM" in str(exc)[:2000]


def run_training(graph: Graph, config: RunConfig, *, dataset: Dataset | None = None,
                 sink: Sink | None = None, stop: threading.Event | None = None,
                 run_dir: str | os.PathLike[str] | None = None, resume: bool = False,
                 init_weights: str | None = None, freeze: list[str] | None = None,
                 save_path: str | None = None, export_dir: str | None = None,
                 keep_runs: bool = True, batch_every: int = 1,
                 batch_interval: float = 0.0) -> RunResult:
    """Train ``graph`` with ``config``; events go to ``sink``; returns how it ended.

    ``run_dir``: the run folder (config, history, weights, backup); ``resume=True`` continues it
    from its BackupAndRestore checkpoint (weights, optimizer state, epoch). Without ``run_dir`` a
    new folder is made under :func:`runs.runs_root` when ``keep_runs``. ``batch_interval``:
    minimum seconds between batch events (the GUI asks for 0.02; the last batch of each epoch
    is always reported).
    """
    emit: Sink = sink if sink is not None else (lambda event: None)

    def log(text: str) -> None:
        emit({"kind": "log", "text": text})

    result = RunResult("error")
    try:
        return _run(graph, config, dataset, emit, log, stop or threading.Event(), run_dir,
                    resume, init_weights, freeze, save_path, export_dir, keep_runs,
                    batch_every, batch_interval, result)
    except PlaygroundError as exc:
        result.status, result.message = "error", str(exc)
    except Exception as exc:  # noqa: BLE001 - the worker must end with a message, not a crash
        if _is_oom(exc):
            result.status = "oom"
            result.message = (f"out of memory with batch size {config.batch_size}: try a "
                              f"smaller batch (e.g. {max(1, config.batch_size // 2)}) or a "
                              "smaller input")
        else:
            result.status = "error"
            result.message = f"{type(exc).__name__}: {exc}"
            if os.environ.get("PLAYGROUND_DEBUG"):
                traceback.print_exc()
    emit({"kind": "done", "status": result.status, "message": result.message,
          "history": result.history, "evaluation": result.evaluation,
          "run_dir": result.run_dir})
    return result


def _run(graph, config, dataset, emit, log, stop, run_dir, resume, init_weights, freeze,
         save_path, export_dir, keep_runs, batch_every, batch_interval,
         result: RunResult) -> RunResult:
    config = RunConfig.from_dict(config.to_dict())  # validated private copy
    graph = graph.copy()
    for node_id in freeze or []:
        if node_id not in graph.node_ids:
            raise PlaygroundError(f"--freeze: no node {node_id!r} in the graph")
        graph.set_trainable(node_id, False)
    model_shape = input_shape_of(graph)
    if dataset is None:
        from playground.data.dataset import load_dataset

        log(f"loading dataset {config.dataset}")
        dataset = load_dataset(config.dataset, model_shape)
    result.dataset = dataset
    for note in dataset.notes:
        log(note)
    from playground.core.retarget import find_heads, set_classes

    heads = find_heads(graph)
    widths = {h: graph.node(h).params.get("units", graph.node(h).params.get("filters"))
              for h in heads}
    if heads and any(w != dataset.num_classes for w in widths.values()):
        set_classes(graph, dataset.num_classes)
        log(f"classes: {dataset.num_classes} in {dataset.name}; head(s) "
            f"{', '.join(f'{h} ({widths[h]} -> {dataset.num_classes})' for h in heads)} "
            "retargeted")
    from playground.core.shapes import analyze
    from playground.keras_build.compile import CompileError, check_fits

    analysis = analyze(graph)
    if not analysis.valid:
        lines = "; ".join(str(p) for p in analysis.errors[:5])
        raise CompileError(f"the graph has {len(analysis.errors)} error(s): {lines}")
    check_fits(analysis, config.batch_size)

    import keras

    from playground.data.adapt import adapt_array, dataset_summary, make_dataset, split_indices
    from playground.data.augment import build_augmenter
    from playground.keras_build.compile import build
    from playground.training import device, runs
    from playground.training.callbacks import ProgressCallback
    from playground.training.telemetry import Telemetry

    emit({"kind": "device", "text": device.setup_devices()})
    # Multi-worker strategies must exist before TensorFlow runs any op (data adaptation does).
    strategy = device.make_strategy(config.strategy)
    keras.utils.set_random_seed(config.seed)
    log(dataset_summary(dataset, model_shape))
    split = split_indices(len(dataset.x), config.val_split,
                          config.test_split if dataset.x_test is None else 0.0,
                          seed=config.seed, labels=dataset.y)
    x_all = adapt_array(dataset.x, model_shape)
    x_train, y_train = x_all[split.train], dataset.y[split.train]
    x_val, y_val = x_all[split.val], dataset.y[split.val]
    if dataset.x_test is not None:
        x_test, y_test, test_rows = adapt_array(dataset.x_test, model_shape), dataset.y_test, None
    else:
        x_test, y_test, test_rows = x_all[split.test], dataset.y[split.test], split.test
    log(f"split: {len(x_train)} train, {len(x_val)} validation, {len(x_test)} test "
        f"(seed {config.seed})")

    # ----- the run folder
    if run_dir is None and keep_runs:
        run_dir = runs.new_run_dir(f"{graph.name}-{dataset.name}")
    if run_dir is not None:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        if not resume and (run_dir / "backup").exists():
            import shutil

            shutil.rmtree(run_dir / "backup")
        runs.write_config(run_dir, {"config": config.to_dict(), "dataset": dataset.describe(),
                                    "classes": dataset.class_names, "graph": to_document(graph),
                                    "started": time.strftime("%Y-%m-%d %H:%M:%S")})
        result.run_dir = str(run_dir)
        log(f"run folder: {run_dir}")
    history_rows = runs.read_history(run_dir) if (run_dir is not None and resume) else []

    # ----- model
    if config.strategy != "default":
        log(f"strategy: {type(strategy).__name__} with {strategy.num_replicas_in_sync} "
            "replica(s)")
    with strategy.scope(), device.precision_policy(config.mixed_precision) as policy:
        built = build(graph, analysis)
        model = built.model
        if init_weights and init_weights.lower() == "imagenet":
            # Keras' published weights for keras.applications twins (cached, or an offline
            # message naming the file and the folder to place it in).
            from playground.keras_build.imagenet import load_imagenet

            for line in load_imagenet(model, graph).lines():
                log(line)
        elif init_weights:
            from playground.training.transfer import load_init_weights

            report = load_init_weights(model, init_weights)
            for line in report.lines(init_weights):
                log(line)
        n_out = len(model.outputs)
        model.compile(optimizer=_optimizer(config),
                      loss=["sparse_categorical_crossentropy"] * n_out if n_out > 1
                      else "sparse_categorical_crossentropy",
                      metrics=[["accuracy"]] * n_out if n_out > 1 else ["accuracy"],
                      jit_compile=bool(config.xla))
    if config.mixed_precision:
        log(f"mixed precision: {policy}")
    frozen = [n.id for n in graph.nodes if not n.trainable]
    trainable = int(sum(np.prod(v.shape) for v in model.trainable_weights))
    log(f"model: {model.count_params():,} params, {trainable:,} trainable"
        + (f"; frozen: {', '.join(frozen)}" if frozen else ""))
    result.model, result.built, result.graph = model, built, graph
    result.raw_shape, result.model_shape = dataset.image_shape, model_shape

    def targets(y):
        return tuple([y] * n_out) if n_out > 1 else y

    global_batch = config.batch_size
    augmenter = build_augmenter(config.augment, model_shape, seed=config.seed)
    if augmenter is not None:
        log(f"augmentation: {', '.join(config.augment)}")
    train_ds = make_dataset(x_train, y_train, global_batch, shuffle=True, seed=config.seed,
                            augment=augmenter)
    if n_out > 1:
        train_ds = train_ds.map(lambda a, b: (a, targets(b)))
    val_ds = None
    if len(x_val):
        val_ds = make_dataset(x_val, y_val, global_batch, shuffle=False, seed=config.seed)
        if n_out > 1:
            val_ds = val_ds.map(lambda a, b: (a, targets(b)))
    steps = int(math.ceil(len(x_train) / global_batch))

    telemetry = None
    if config.telemetry and config.strategy == "default":
        probe_rows = (np.arange(len(x_val)) if len(x_val) else np.arange(len(x_train)))
        probe_rows = probe_rows[: config.probe_size]
        px = x_val[probe_rows] if len(x_val) else x_train[probe_rows]
        py = y_val[probe_rows] if len(x_val) else y_train[probe_rows]
        telemetry = Telemetry(built, px, py)
    progress = ProgressCallback(emit, stop=stop, epochs=config.epochs, steps=steps,
                                batch_size=global_batch, telemetry=telemetry,
                                run_dir=str(run_dir) if run_dir is not None else None,
                                history=history_rows, batch_every=batch_every,
                                batch_interval=batch_interval)
    callbacks = [*_schedule_callbacks(config, val_ds is not None), progress]
    early = None
    if config.early_stopping:
        early = keras.callbacks.EarlyStopping(
            monitor="val_loss" if val_ds is not None else "loss",
            patience=config.early_stopping, restore_best_weights=True)
        callbacks.append(early)
    if run_dir is not None and config.strategy != "multiworker":
        from playground.training.callbacks import ThrottledBackup

        callbacks.append(ThrottledBackup(str(run_dir / "backup"), epochs=config.epochs))
        if resume and (run_dir / "backup").exists():
            log("resuming from the last checkpoint (weights, optimizer state, epoch)")

    log(f"training: {config.epochs} epoch(s), batch {global_batch}, {config.optimizer} "
        f"lr {config.lr:g}, schedule {config.schedule}")
    if config.strategy == "multiworker":
        from playground.training.multiworker import fit_multiworker

        fit_multiworker(model, strategy, train_ds, val_ds, epochs=config.epochs,
                        train_samples=len(x_train), val_samples=len(x_val),
                        global_batch=global_batch, callbacks=callbacks)
    else:
        from playground.training import feature_cache

        # A frozen, deterministic prefix runs once per image; the epochs train the rest.
        cut = feature_cache.choose_cut(
            graph, analysis, built.layers_by_node, enabled=config.feature_cache,
            random_input=augmenter is not None, resume=resume,
            run_dir=str(run_dir) if run_dir is not None else None, log=log)
        if cut is not None:
            def compile_head(head):
                with strategy.scope():
                    head.compile(optimizer=_optimizer(config), loss=model.loss,
                                 metrics=[["accuracy"]] * n_out if n_out > 1 else ["accuracy"],
                                 jit_compile=bool(config.xla))

            fitted = feature_cache.fit_on_features(
                built, cut, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val,
                batch_size=global_batch, seed=config.seed, epochs=config.epochs,
                callbacks=callbacks, compile_head=compile_head,
                targets=targets if n_out > 1 else None,
                run_dir=str(run_dir) if run_dir is not None else None, log=log,
                model_scope=lambda: device.precision_policy(config.mixed_precision))
            feature_cache.save_best_of_full_model(progress, fitted.head, model,
                                                  str(run_dir) if run_dir is not None else None)
        else:
            # shuffle=False: the tf.data pipeline already shuffles (Keras warns otherwise).
            model.fit(train_ds, validation_data=val_ds, epochs=config.epochs,
                      callbacks=callbacks, verbose=0, shuffle=False)
    result.history = progress.history
    if progress.nan_batch is not None:
        epoch, batch = progress.nan_batch
        result.status = "nan"
        result.message = (f"the loss became NaN at epoch {epoch}, batch {batch}; training "
                          "stopped and the last good weights were kept (try a smaller learning "
                          "rate)")
    elif progress.stopped_by_user:
        result.status, result.message = "stopped", "stopped; the weights so far are kept"
    elif early is not None and early.stopped_epoch > 0:
        result.status = "early_stopped"
        result.message = (f"early stopping after epoch {early.stopped_epoch + 1}; best weights "
                          "restored")
    else:
        result.status, result.message = "finished", "finished"

    if run_dir is not None:
        from playground.training.callbacks import _save_weights_atomic

        _save_weights_atomic(model, str(run_dir / "last.weights.h5"))

    # ----- evaluation on the test split if there is one, else validation
    from playground.training.evaluation import evaluate_predictions

    if len(x_test):
        ex, ey, split_name = x_test, y_test, "test"
        result.eval_source = "test" if dataset.x_test is not None else "train"
        result.eval_indices = test_rows if test_rows is not None else np.arange(len(x_test))
    else:
        ex, ey, split_name = x_val, y_val, "validation"
        result.eval_source, result.eval_indices = "train", split.val
    if len(ex):
        probs = model.predict(ex, batch_size=max(global_batch, 128), verbose=0)
        if isinstance(probs, (list, tuple)):
            probs = probs[0]
        result.evaluation = evaluate_predictions(np.asarray(probs, np.float64), ey,
                                                 dataset.class_names, split_name)
        ev = result.evaluation
        log(f"{split_name}: accuracy {ev['accuracy']:.4f}, loss {ev['loss']:.4f}"
            + (f", top-5 {ev['top5']:.4f}" if "top5" in ev else ""))
    if save_path:
        _save_keras(model, save_path)
        log(f"saved {save_path}")
    if export_dir:
        from playground.exporters import write as write_export
        from playground.exporters.source import ExportSource

        source = ExportSource.from_result(result)
        os.makedirs(os.path.dirname(os.path.abspath(export_dir)), exist_ok=True)
        write_export("savedmodel", source, export_dir, force=True)
        log(f"exported SavedModel to {export_dir} (input: raw images of any size with "
            f"{source.raw_channels} channel(s), 0..255; this run's weights)")
    emit({"kind": "done", "status": result.status, "message": result.message,
          "history": result.history, "evaluation": result.evaluation,
          "run_dir": result.run_dir})
    return result


def _save_keras(model: Any, path: str) -> None:
    """``.keras`` through the one atomic writer (``keras_build.export.save_keras``)."""
    if not path.endswith(".keras"):
        raise PlaygroundError(f"--save {path}: the file name must end in .keras")
    from playground.keras_build.export import save_keras

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save_keras(model, path, force=True)
