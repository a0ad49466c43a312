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
    disk_failed: bool = False    # a write to the run folder failed: nothing more is written
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

    @property
    def has_model(self) -> bool:
        """Trained weights to export or inspect (cheap: never builds anything)."""
        return self.model is not None


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
    emit: Sink = _tolerant(sink) if sink is not None else (lambda event: None)

    def log(text: str) -> None:
        emit({"kind": "log", "text": text})

    result = RunResult("error")
    stage = ["preparing the run"]  # what the run was doing when an unexpected error came
    try:
        return _run(graph, config, dataset, emit, log, stop or threading.Event(), run_dir,
                    resume, init_weights, freeze, save_path, export_dir, keep_runs,
                    batch_every, batch_interval, result, stage)
    except PlaygroundError as exc:
        result.status, result.message = "error", str(exc)
        from playground.data.dataset import DatasetError
        from playground.training.checkpoint import CheckpointWriteError

        result.bad_data = isinstance(exc, DatasetError)
        result.disk_failed = isinstance(exc, CheckpointWriteError)
    except Exception as exc:  # noqa: BLE001 - the worker must end with a message, not a crash
        if _is_oom(exc):
            result.status = "oom"
            result.message = (f"out of memory with batch size {config.batch_size}: try a "
                              f"smaller batch (e.g. {max(1, config.batch_size // 2)}) or a "
                              "smaller input")
        else:
            result.status = "error"
            result.message = _unexpected(exc, stage[0])
            if os.environ.get("PLAYGROUND_DEBUG"):
                traceback.print_exc()
    finally:
        if result.feeds is not None:
            result.feeds.cleanup()
    _keep_weights(result)
    emit(done_event(result))
    return result


def _keep_weights(result: RunResult) -> None:
    """After a failure mid-run, the weights trained so far (when finite) go to the run folder:
    a view in another process exports or inspects them from there, as after a finished run."""
    if result.model is None or not result.run_dir:
        return
    try:
        weights = result.model.get_weights()
        if result.disk_failed:
            # A write failed: try only where the disk plainly has room for the file (a full
            # disk would leave a partial file and HDF5 errors behind).
            import shutil

            need = sum(w.nbytes for w in weights) + 2**20
            if shutil.disk_usage(result.run_dir).free < 2 * need:
                return
        if all(np.isfinite(w).all() for w in weights):
            from playground.training.callbacks import _save_weights_atomic

            _save_weights_atomic(result.model, os.path.join(result.run_dir, "last.weights.h5"))
    except Exception:  # noqa: BLE001 - a full disk, say: the run's own message stands
        pass


def done_event(result: RunResult) -> dict[str, Any]:
    """The run's last event: how it ended, plus what a view in another process needs to show
    and export the run without the model or the data in memory: the image shapes and the
    pictures of the most confidently wrong samples (``wrong_images``, in ``wrong`` order)."""
    return {"kind": "done", "status": result.status, "message": result.message,
            "history": result.history, "evaluation": result.evaluation,
            "run_dir": result.run_dir, "bad_data": result.bad_data,
            "raw_shape": list(result.raw_shape) if result.raw_shape else None,
            "model_shape": list(result.model_shape) if result.model_shape else None,
            "wrong_images": _wrong_images(result),
            "eval_source": result.eval_source,
            "eval_indices": (None if result.eval_indices is None
                             else [int(i) for i in result.eval_indices])}


def _wrong_images(result: RunResult) -> list[Any]:
    """The raw images of the evaluation's most confidently wrong samples (a few, decoded on
    demand for a streamed set); [] when there is no evaluation or the images cannot be had."""
    ev, data, rows = result.evaluation, result.dataset, result.eval_indices
    if not ev or data is None or rows is None:
        return []
    try:
        source = data.x_test if result.eval_source == "test" else data.x
        if source is None:
            return []
        return [np.asarray(source[int(rows[i])], dtype=np.uint8)
                for i in ev.get("wrong", []) if 0 <= i < len(rows)]
    except Exception:  # noqa: BLE001 - pictures are a nicety; the figures stand without them
        return []


def _tolerant(sink: Sink) -> Sink:
    """The sink, except that an output error (a closed pipe, a full terminal log) is dropped:
    printing progress must never stop the training or the saving after it."""

    def emit(event: dict[str, Any]) -> None:
        try:
            sink(event)
        except OSError:
            pass

    return emit


def _unexpected(exc: BaseException, stage: str) -> str:
    """A plain sentence for an error no check foresaw (often Keras refusing something), with the
    first line of the original text; never a multi-line Keras dump."""
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return (f"training failed while {stage} ({type(exc).__name__}: {text}); set "
            "PLAYGROUND_DEBUG=1 to see the details")


def _stopped_early(result: RunResult, stop: threading.Event, emit: Sink, when: str) -> bool:
    """A Stop during start-up: end now, before the next expensive step."""
    if not stop.is_set():
        return False
    result.status = "stopped"
    result.message = f"stopped {when}; nothing was trained"
    emit(done_event(result))
    return True


def _run(graph, config, dataset, emit, log, stop, run_dir, resume, init_weights, freeze,
         save_path, export_dir, keep_runs, batch_every, batch_interval,
         result: RunResult, stage: list[str]) -> RunResult:
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
        stage[0] = "loading the dataset"
        dataset = load_dataset(config.dataset, model_shape, bad_images=config.bad_images,
                               progress=log)
    result.dataset = dataset
    if _stopped_early(result, stop, emit, "while loading the dataset"):
        return result
    for note in dataset.notes:
        log(note)
    from playground.core.retarget import find_heads, set_classes
    from playground.data.segdata import is_segmentation

    seg = is_segmentation(dataset)  # masks: the per-pixel path (training/segmentation.py)
    heads = [] if seg else find_heads(graph)
    widths = {h: graph.node(h).params.get("units", graph.node(h).params.get("filters"))
              for h in heads}
    if seg:
        from playground.training import segmentation

        segmentation.retarget_head(graph, dataset.num_classes, log)
    if heads and any(w != dataset.num_classes for w in widths.values()):
        set_classes(graph, dataset.num_classes)
        log(f"classes: {dataset.num_classes} in {dataset.name}; head(s) "
            f"{', '.join(f'{h} ({widths[h]} -> {dataset.num_classes})' for h in heads)} "
            "retargeted")
    from playground.core.loss_outputs import training_output_problems
    from playground.core.shapes import analyze
    from playground.keras_build.compile import CompileError, check_fits

    analysis = analyze(graph)
    if not analysis.valid:
        lines = "; ".join(str(p) for p in analysis.errors[:5])
        raise CompileError(f"the graph has {len(analysis.errors)} error(s): {lines}")
    outputs = training_output_problems(analysis, "segmentation" if seg else "classification",
                                       dataset.name)
    if outputs:
        raise CompileError("; ".join(outputs))
    check_fits(analysis, config.batch_size, training=True, optimizer=config.optimizer,
               momentum=config.momentum)

    import keras

    from playground.data.adapt import dataset_summary
    from playground.data.augment import build_augmenter
    from playground.data.feeds import DataFeeds
    from playground.keras_build.compile import build
    from playground.training import device, runs
    from playground.training.callbacks import ProgressCallback, StopBeforeTraining
    from playground.training.telemetry import Telemetry

    stage[0] = "preparing the data"
    emit({"kind": "device", "text": device.setup_devices()})
    # Multi-worker strategies must exist before TensorFlow runs any op (data adaptation does).
    strategy = device.make_strategy(config.strategy)
    keras.utils.set_random_seed(config.seed)
    log(dataset_summary(dataset, model_shape))
    # Folders and CSV indexes stream from disk (playground.data.stream); arrays are sliced.
    if seg:
        out_shape = segmentation.check_output(analysis, dataset.num_classes)
        feeds = segmentation.SegFeeds(dataset, model_shape, out_shape, config, log)
    else:
        feeds = DataFeeds(dataset, model_shape, config, log)
    for line in feeds.describe_split():
        log(line)
    result.feeds = feeds  # run_training removes its cache files however the run ends

    if _stopped_early(result, stop, emit, "while preparing the data"):
        return result
    # ----- the run folder
    if run_dir is None and keep_runs:
        run_dir = runs.new_run_dir(f"{graph.name}-{dataset.name}")
    if run_dir is not None:
        from playground.training import rundir
        from playground.training.checkpoint import remove_partials

        stage[0] = f"writing the run folder {run_dir}"
        rundir.check(run_dir, resume)   # never a folder of the user's own files
        run_dir = rundir.claim(Path(run_dir))
        note = rundir.killed_note(run_dir)
        if note:
            log(f"note: {note}")
        remove_partials(str(run_dir))
        remove_partials(str(run_dir / "backup"))
        if not resume and (run_dir / "backup").exists():
            import shutil

            shutil.rmtree(run_dir / "backup")
        runs.write_config(run_dir, {"config": config.to_dict(), "dataset": dataset.describe(),
                                    "classes": dataset.class_names, "graph": to_document(graph),
                                    "started": time.strftime("%Y-%m-%d %H:%M:%S")})
        if not resume or not (run_dir / "history.csv").exists():
            runs.write_history(run_dir, [])  # a run folder always holds both files
        result.run_dir = str(run_dir)
        log(f"run folder: {run_dir}")
    history_rows = runs.read_history(run_dir) if (run_dir is not None and resume) else []

    # ----- model
    if config.strategy != "default":
        log(f"strategy: {type(strategy).__name__} with {strategy.num_replicas_in_sync} "
            "replica(s)")
    from playground.training.steps import choose_steps

    per_call = choose_steps(
        config.steps_per_execution, analysis.macs, config.batch_size,
        streamed=feeds.streamed, distributed=config.strategy != "default",
        steps_per_epoch=max(1, math.ceil(feeds.n_train / config.batch_size)))
    log(per_call.line())
    stage[0] = "building the Keras model"
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
        stage[0] = "compiling the model"
        if seg:  # per-pixel loss; pixel accuracy (as "accuracy") and mean IoU per epoch
            seg_loss, seg_metrics = segmentation.compile_args(out_shape[2], dataset.num_classes)
            model.compile(optimizer=_optimizer(config), loss=seg_loss, metrics=seg_metrics,
                          jit_compile=bool(config.xla), steps_per_execution=per_call.steps)
        else:
            model.compile(optimizer=_optimizer(config),
                          loss=["sparse_categorical_crossentropy"] * n_out if n_out > 1
                          else "sparse_categorical_crossentropy",
                          metrics=[["accuracy"]] * n_out if n_out > 1 else ["accuracy"],
                          jit_compile=bool(config.xla), steps_per_execution=per_call.steps)
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
    augmenter = (feeds.image_augmenter(pca) if seg else  # masks: colour on the image only
                 build_augmenter(config.augment, model_shape, seed=config.seed, pca=pca))
    if augmenter is not None and not seg:  # SegFeeds says which options move the masks
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
        if seg:
            log("class weights: not applied (a segmentation set's classes are pixels)")
        elif n_out > 1:
            log("class weights: not applied (the model has several outputs)")
        else:
            class_weight = feeds.class_weight()
            log("class weights: " + ", ".join(
                f"{name} {class_weight[i]:.3g}" for i, name in enumerate(dataset.class_names)
                if i < 20))

    telemetry = None
    if config.telemetry and config.strategy == "default" and not seg:
        px, py = feeds.probe(config.probe_size)
        telemetry = Telemetry(built, px, py)
    progress = ProgressCallback(emit, stop=stop, epochs=config.epochs, steps=steps,
                                batch_size=global_batch, telemetry=telemetry,
                                run_dir=str(run_dir) if run_dir is not None else None,
                                history=history_rows, batch_every=batch_every,
                                batch_interval=batch_interval)
    callbacks = [*_schedule_callbacks(config, val_ds is not None), progress]
    if seg:  # a log line per epoch: IoU and Dice per class
        callbacks.append(segmentation.epoch_log(emit, dataset.class_names, progress))
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

    if _stopped_early(result, stop, emit, "while building the model"):
        return result
    log(f"training: {config.epochs} epoch(s), batch {global_batch}, {config.optimizer} "
        f"lr {config.lr:g}, schedule {config.schedule}")
    stage[0] = "training"
    if run_dir is not None:
        from playground.training import rundir

        rundir.begin(run_dir)  # a kill the process cannot report is found at the next start
    try:
        if config.strategy == "multiworker":
            from playground.training.multiworker import fit_multiworker

            fit_multiworker(model, strategy, train_ds, val_ds, epochs=config.epochs,
                            train_samples=feeds.n_train, val_samples=feeds.n_val,
                            global_batch=global_batch, callbacks=callbacks)
        else:
            from playground.training import feature_cache

            # A frozen, deterministic prefix runs once per image; the epochs train the rest.
            cut = feature_cache.choose_cut(
                graph, analysis, built.layers_by_node,
                enabled=config.feature_cache and not seg,
                random_input=augmenter is not None, resume=resume,
                run_dir=str(run_dir) if run_dir is not None else None, log=log)
            if cut is not None:
                # The head's steps are far shorter than the whole model's: more per call.
                head_call = choose_steps(
                    config.steps_per_execution,
                    sum(analysis.nodes[n].macs for n in cut.rest if n in analysis.nodes),
                    config.batch_size, streamed=False,
                    distributed=config.strategy != "default",
                    steps_per_epoch=max(1, math.ceil(feeds.n_train / config.batch_size)))
                if head_call.steps != per_call.steps:
                    log(f"trained on cached features: {head_call.line()}")

                def compile_head(head):
                    with strategy.scope():
                        head.compile(optimizer=_optimizer(config), loss=model.loss,
                                     metrics=[["accuracy"]] * n_out if n_out > 1
                                     else ["accuracy"], jit_compile=bool(config.xla),
                                     steps_per_execution=head_call.steps)

                x_tr, y_tr, x_va, y_va = feeds.ordered(global_batch)
                fitted = feature_cache.fit_on_features(
                    built, cut, x_train=x_tr, y_train=y_tr, x_val=x_va, y_val=y_va,
                    batch_size=global_batch, seed=config.seed, epochs=config.epochs,
                    callbacks=callbacks, compile_head=compile_head,
                    targets=targets if n_out > 1 else None,
                    run_dir=str(run_dir) if run_dir is not None else None, log=log,
                    model_scope=lambda: device.precision_policy(config.mixed_precision))
                feature_cache.save_best_of_full_model(progress, fitted.head, model,
                                                      str(run_dir) if run_dir is not None
                                                      else None)
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
                except StopBeforeTraining:
                    raise
                except Exception as exc:  # a file that fails to decode mid-epoch: name it
                    culprit = feeds.name_bad_file(exc) if _is_decode_error(exc) else None
                    if culprit is None:
                        raise
                    from playground.data.dataset import DatasetError

                    raise DatasetError(culprit) from None
                if feeds.skipped:
                    log(f"skipped {len(feeds.skipped)} unreadable image(s) during training")
    except StopBeforeTraining:
        _stopped_early(result, stop, emit, "before the first training step")
        return result
    finally:
        result.history = progress.history
        if run_dir is not None:
            rundir.end(run_dir)
    if progress.nan_batch is not None:
        epoch, batch = progress.nan_batch
        first = progress.nan_from
        where = (f"batch {batch}" if not first or first >= batch
                 else f"batch {batch} or earlier (batches {first}-{batch} ran in one compiled "
                      "call)")
        result.status = "nan"
        result.message = (f"the loss became NaN at epoch {epoch}, {where}; training "
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

    # ----- evaluation on the test split if there is one, else validation (skipped after a
    # Stop: the user asked for the run to end, and a big model's evaluation takes minutes)
    from playground.training.evaluation import evaluate_predictions

    stage[0] = "evaluating"
    plan = None if stop.is_set() else feeds.evaluation(max(global_batch, 128))
    if stop.is_set():
        log("evaluation skipped (stopped)")
    if plan is not None:
        split_name = plan.split
        if seg:  # batch by batch: no split-sized array of per-pixel probabilities
            result.evaluation = feeds.evaluate(model, plan, max(global_batch, 128))
            rows = result.evaluation.pop("evaluated_rows")
            result.eval_source, result.eval_indices = plan.source, rows
            log(segmentation.summary_line(result.evaluation))
        else:
            probs, ey, rows = plan.predict(model)
            result.eval_source, result.eval_indices = plan.source, rows
            result.evaluation = evaluate_predictions(np.asarray(probs, np.float64), ey,
                                                     dataset.class_names, split_name)
        if getattr(dataset, "streamed", False) and result.eval_source == "train":
            # The evaluation view's images, decoded here rather than on the UI thread.
            dataset.keep_decoded(rows[result.evaluation.get("wrong", [])])
        ev = result.evaluation
        if not seg:
            log(f"{split_name}: accuracy {ev['accuracy']:.4f}, loss {ev['loss']:.4f}"
                + (f", top-5 {ev['top5']:.4f}" if "top5" in ev else ""))
    stage[0] = "saving the model"
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
    emit(done_event(result))
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
    """``.keras`` through the one atomic writer (``keras_build.export.save_keras``)."""
    if not path.endswith(".keras"):
        raise PlaygroundError(f"--save {path}: the file name must end in .keras")
    from playground.keras_build.export import save_keras

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save_keras(model, path, force=True)
