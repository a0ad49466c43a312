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
import warnings
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
    feeds: Any = None        # playground.data.feeds.DataFeeds: split, pipelines, cache files
    bad_data: bool = False   # the failure is the dataset's (a file named in the message)
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
        from playground.data.dataset import DatasetError

        result.bad_data = isinstance(exc, DatasetError)
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
    finally:
        if result.feeds is not None:
            result.feeds.cleanup()
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
        dataset = load_dataset(config.dataset, model_shape, bad_images=config.bad_images,
                               progress=log)
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

    from playground.data.adapt import dataset_summary
    from playground.data.augment import build_augmenter
    from playground.data.feeds import DataFeeds
    from playground.keras_build.compile import build
    from playground.training import device, runs
    from playground.training.callbacks import ProgressCallback
    from playground.training.telemetry import Telemetry

    emit({"kind": "device", "text": device.setup_devices()})
    # Multi-worker strategies must exist before TensorFlow runs any op (data adaptation does).
    strategy = device.make_strategy(config.strategy)
    keras.utils.set_random_seed(config.seed)
    log(dataset_summary(dataset, model_shape))
    # Folders and CSV indexes stream from disk (playground.data.stream); arrays are sliced.
    feeds = DataFeeds(dataset, model_shape, config, log)
    for line in feeds.describe_split():
        log(line)
    result.feeds = feeds  # run_training removes its cache files however the run ends

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
    pca = None
    if "pca" in config.augment:  # AlexNet's fancy PCA: eigenvectors of the training pixels
        from playground.data.augment import training_pca

        pca = training_pca(dataset, feeds.split.train, seed=config.seed,
                           channels=model_shape[2])
    augmenter = build_augmenter(config.augment, model_shape, seed=config.seed, pca=pca)
    if augmenter is not None:
        log(f"augmentation: {', '.join(config.augment)}")
    train_ds, val_ds = feeds.pipelines(global_batch, augmenter,
                                       str(run_dir) if run_dir is not None else None)
    if n_out > 1:
        train_ds = train_ds.map(lambda a, b: (a, targets(b)))
        if val_ds is not None:
            val_ds = val_ds.map(lambda a, b: (a, targets(b)))
    steps = int(math.ceil(feeds.n_train / global_batch))
    class_weight = None
    if config.class_weights:
        if n_out > 1:
            log("class weights: not applied (the model has several outputs)")
        else:
            class_weight = feeds.class_weight()
            log("class weights: " + ", ".join(
                f"{name} {class_weight[i]:.3g}" for i, name in enumerate(dataset.class_names)
                if i < 20))

    telemetry = None
    if config.telemetry and config.strategy == "default":
        px, py = feeds.probe(config.probe_size)
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
                        train_samples=feeds.n_train, val_samples=feeds.n_val,
                        global_batch=global_batch, callbacks=callbacks)
    else:
        # shuffle=False: the tf.data pipeline already shuffles (Keras warns otherwise).
        try:
            with warnings.catch_warnings():
                # A streamed split whose length TensorFlow cannot know in advance (skipped
                # files, device prefetch) ends each epoch this way; it is not a problem.
                warnings.filterwarnings("ignore", message="Your input ran out of data")
                model.fit(train_ds, validation_data=val_ds, epochs=config.epochs,
                          callbacks=callbacks, verbose=0, shuffle=False,
                          class_weight=class_weight)
        except Exception as exc:  # a file that fails to decode mid-epoch: name it
            culprit = feeds.name_bad_file(exc) if _is_decode_error(exc) else None
            if culprit is None:
                raise
            from playground.data.dataset import DatasetError

            raise DatasetError(culprit) from None
        if feeds.skipped:
            log(f"skipped {len(feeds.skipped)} unreadable image(s) during training")
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

    plan = feeds.evaluation(max(global_batch, 128))
    if plan is not None:
        split_name = plan.split
        probs, ey, rows = plan.predict(model)
        result.eval_source, result.eval_indices = plan.source, rows
        result.evaluation = evaluate_predictions(np.asarray(probs, np.float64), ey,
                                                 dataset.class_names, split_name)
        if getattr(dataset, "streamed", False) and result.eval_source == "train":
            # The evaluation view's images, decoded here rather than on the UI thread.
            dataset.keep_decoded(rows[result.evaluation.get("wrong", [])])
        ev = result.evaluation
        log(f"{split_name}: accuracy {ev['accuracy']:.4f}, loss {ev['loss']:.4f}"
            + (f", top-5 {ev['top5']:.4f}" if "top5" in ev else ""))
    if save_path:
        _save_keras(model, save_path)
        log(f"saved {save_path}")
    if export_dir:
        from playground.training.export import export_savedmodel

        export_savedmodel(model, export_dir, dataset.image_shape, model_shape)
        log(f"exported SavedModel to {export_dir} (input: raw {dataset.image_shape} images "
            "0..255)")
    emit({"kind": "done", "status": result.status, "message": result.message,
          "history": result.history, "evaluation": result.evaluation,
          "run_dir": result.run_dir})
    return result


def _is_decode_error(exc: BaseException) -> bool:
    """A TensorFlow op error raised by the input pipeline (decode/read), not by the model."""
    try:
        import tensorflow as tf
    except ImportError:
        return False
    text = str(exc)[:5000]
    return isinstance(exc, (tf.errors.InvalidArgumentError, tf.errors.NotFoundError,
                            tf.errors.DataLossError, tf.errors.UnknownError)) and (
        "Decode" in text or "ReadFile" in text or "image" in text.lower())


def _save_keras(model: Any, path: str) -> None:
    """``.keras`` through a temp file in the same folder, then moved into place."""
    if not path.endswith(".keras"):
        raise PlaygroundError(f"--save {path}: the file name must end in .keras")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)[:-6]}.tmp-{os.getpid()}.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
