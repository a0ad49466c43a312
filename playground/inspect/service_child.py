"""The inference process (``python -m playground.inspect.service_child FD``), started by
:class:`playground.inspect.service.InferenceService`.

TensorFlow lives here, never in the editor: the window keeps breathing while it loads, and a
crash inside it ends this process only. The main thread reads requests from the socket; each
lane ("model", "predict", "maps", "eval", "data") has its own worker thread, so a slow Grad-CAM never
holds up the live bars. Answers are plain data (dicts, numpy arrays, dataclasses), never Keras
objects. The editor closing its end (or dying) ends this process.

Models are named by a *source spec* (a dict, see ``service.run_source`` and friends) and turned
into a :class:`~playground.inspect.model.LoadedModel` by :func:`resolve_source`, the one place
that knows the kinds (a new kind is one function in ``RESOLVERS``).
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from playground.core.errors import PlaygroundError
from playground.inspect.service import LANES, ModelInfo

TOP_K = 5


class SourceError(PlaygroundError):
    """A source spec the child cannot use (an unknown kind, a missing field)."""


# ---------------------------------------------------------------------------- sources
def _graph_of(spec: dict[str, Any]) -> Any:
    from playground.core.fileformat import from_document

    document = spec.get("document")
    if not isinstance(document, dict):
        raise SourceError(f"a {spec.get('kind')!r} source needs the graph document")
    return from_document(document, source=spec.get("label") or "the canvas graph")


def _from_path(spec: dict[str, Any]) -> Any:
    from playground.inspect.model import load_model_source

    path = spec.get("path")
    if not isinstance(path, str) or not path:
        raise SourceError(f"a {spec.get('kind')!r} source needs a path")
    return load_model_source(path, masks=True)


def _from_graph(spec: dict[str, Any]) -> Any:
    from playground.core.graph_weights import recorded_weights
    from playground.inspect.model import from_graph

    graph = _graph_of(spec)
    weights, problem = recorded_weights(graph, spec.get("path"))
    notes = [problem] if problem else []
    label = str(spec.get("label") or graph.name)
    return from_graph(graph, None, label, str(weights) if weights else None, notes, masks=True)


def _from_imagenet(spec: dict[str, Any]) -> Any:
    try:
        from playground.inspect.twin import load_imagenet_twin
    except ImportError:
        raise SourceError("ImageNet weights for a twin are not available in this version "
                          "(playground.inspect.twin is missing)") from None
    return load_imagenet_twin(_graph_of(spec))


RESOLVERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "run": _from_path, "keras": _from_path, "graph": _from_graph, "imagenet": _from_imagenet,
}


def resolve_source(spec: dict[str, Any]) -> Any:
    """The ``LoadedModel`` a source spec names (segmenters accepted)."""
    kind = spec.get("kind") if isinstance(spec, dict) else None
    resolver = RESOLVERS.get(kind) if isinstance(kind, str) else None
    if resolver is None:
        raise SourceError(f"unknown model source {kind!r}; known: {', '.join(RESOLVERS)}")
    return resolver(spec)


def model_info(loaded: Any, model_id: int, kind: str, seconds: float,
               forward_s: float = 0.0) -> ModelInfo:
    output = tuple(int(d) for d in loaded.model.outputs[0].shape[1:])
    return ModelInfo(model_id, kind, str(loaded.source), str(loaded.graph.name),
                     loaded.weights, [str(c) for c in loaded.class_names],
                     tuple(loaded.input_shape), output, list(loaded.node_tensors),
                     str(loaded.dataset or ""), str(loaded.pipeline), loaded.raw_size,
                     [str(n) for n in loaded.notes], seconds, forward_s)


def forward_seconds(loaded: Any) -> float:
    """One traced forward pass of one image, timed after the warm-up: the model's size as this
    machine feels it, which scales the editor's deadlines for later calls (``Deadlines``)."""
    from playground.inspect.model import logits_and_probabilities

    x = np.zeros((1, *loaded.input_shape), np.float32)
    start = time.perf_counter()
    logits_and_probabilities(loaded, x)
    return time.perf_counter() - start


# ---------------------------------------------------------------------------- the work
def shrink_drawing(pixels: np.ndarray, drawing: bool, raw_size: Any
                   ) -> tuple[np.ndarray, list[str]]:
    """A drawing is shrunk to the dataset's own image size by box averaging (the way the digits
    were made from 32x32 bitmaps) before the training pipeline's adaptation; a picture (a
    sample, a file) is left as it is. Returns the pixels and the words for it."""
    pixels = np.asarray(pixels, np.uint8)
    if not drawing or raw_size is None or tuple(raw_size) == pixels.shape[:2]:
        return pixels, []
    from PIL import Image

    h, w = (int(d) for d in raw_size)
    small = Image.fromarray(pixels[:, :, 0]).resize((w, h), Image.Resampling.BOX)
    return (np.asarray(small, np.uint8)[:, :, None],
            [f"drawing {pixels.shape[0]}x{pixels.shape[1]} -> {h}x{w} (box average, the "
             "dataset's own size)"])


class Worker:
    """The loaded model and the per-model caches; one method per request."""

    def __init__(self) -> None:
        self.loaded: Any = None
        self.model_id = 0
        self.inspector: Any = None
        self._lock = threading.Lock()
        self._dataset: tuple[Any, Any] | None = None     # the last dataset asked for samples
        self._rng = np.random.default_rng(0)

    def current(self, model_id: Any) -> Any:
        with self._lock:
            if self.loaded is None or model_id != self.model_id:
                raise StaleModel(f"model {model_id} is not the loaded one ({self.model_id})")
            return self.loaded

    def load(self, request_id: int, spec: dict[str, Any]) -> ModelInfo:
        from playground.inspect.model import warm_up

        start = time.perf_counter()
        loaded = resolve_source(spec)
        warm_up(loaded)
        seconds = time.perf_counter() - start
        forward = forward_seconds(loaded)
        with self._lock:
            self.loaded, self.model_id, self.inspector = loaded, request_id, None
        return model_info(loaded, request_id, str(spec.get("kind")), seconds, forward)

    def predict(self, model: int, pixels: np.ndarray, top: int = TOP_K, drawing: bool = False,
                raw_size: Any = None) -> dict[str, Any]:
        from playground.inspect.images import adapt, adaptation_steps
        from playground.inspect.model import logits_and_probabilities, mask_shares, top_k

        loaded = self.current(model)
        pixels, steps = shrink_drawing(pixels, drawing, raw_size)
        x = adapt(pixels, loaded.input_shape, loaded.pipeline)
        probs = logits_and_probabilities(loaded, x)[0]
        steps += adaptation_steps(np.shape(pixels), loaded.input_shape, loaded.pipeline)
        if probs.ndim == 3:
            # A segmenter: a class per pixel (K = 1: a sigmoid mask of the second class).
            mask = ((probs[..., 0] >= 0.5) if probs.shape[-1] == 1 else probs.argmax(-1))
            return {"top": mask_shares(probs, loaded.class_names), "steps": steps,
                    "mask": mask.astype(np.uint8 if loaded.num_classes <= 255 else np.int32)}
        return {"top": top_k(probs, top, loaded.class_names), "probs": probs, "steps": steps}

    def maps(self, model: int, pixels: np.ndarray, node: str, class_index: int | None = None,
             drawing: bool = False, raw_size: Any = None
             ) -> tuple[Any, dict[str, np.ndarray], str]:
        from playground.inspect import render
        from playground.inspect.images import adapt, view_image
        from playground.inspect.maps import Inspector, node_kernel

        loaded = self.current(model)
        pixels, _steps = shrink_drawing(pixels, drawing, raw_size)
        x = adapt(pixels, loaded.input_shape, loaded.pipeline)
        if len(loaded.model.outputs[0].shape) == 4:
            maps = self._segmenter_maps(loaded, x, node)
        else:
            with self._lock:
                if self.inspector is None or self.inspector.loaded is not loaded:
                    self.inspector = Inspector(loaded)
                inspector = self.inspector
            maps = inspector.run(x, node, class_index)
        images: dict[str, np.ndarray] = {}
        seen = view_image(x[0], loaded.pipeline)   # a twin's input is BGR/mean-shifted
        if maps.gradcam is not None:
            images["gradcam"] = render.overlay(seen, maps.gradcam)
        sal = maps.saliency
        if sal is not None and sal.size:
            images["saliency"] = render.overlay(seen, sal / sal.max() if sal.max() > 0 else sal,
                                                alpha=0.6)
        if maps.features is not None:
            images["features"] = render.feature_grid(maps.features)
        if maps.kernel is not None:
            images["filters"] = render.filter_grid(maps.kernel, colour=maps.first_layer)
        _kernel, why = node_kernel(loaded, node)
        return maps, images, why

    def _segmenter_maps(self, loaded: Any, x: np.ndarray, node: str) -> Any:
        """A segmenter has one class score per pixel, not one per image: its feature maps and
        kernels are drawn, Grad-CAM and the saliency map (one class score each) are not."""
        import keras

        from playground.inspect.maps import NodeMaps, node_kernel, node_tensor, spatial_reason

        reason = spatial_reason(loaded, node)
        sub = keras.Model(loaded.model.inputs, [node_tensor(loaded, node),
                                                loaded.model.outputs[0]])
        act, out = sub(np.asarray(x, np.float32), training=False)
        out = np.asarray(out, np.float64)[0]
        shares = np.bincount(out.argmax(-1).ravel(), minlength=out.shape[-1]) / out[..., 0].size
        kernel, _why = node_kernel(loaded, node)
        features = None if reason else np.asarray(act, np.float32)[0]
        note = ("a segmenter scores every pixel: Grad-CAM and the saliency map explain one "
                "class score of a classifier, so they are not drawn here")
        preds = loaded.graph.inputs_of(node)
        first = len(preds) == 1 and loaded.graph.node(preds[0]).type == "Input"
        return NodeMaps(node=node, probs=shares, class_index=int(shares.argmax()),
                        features=features, gradcam=None, saliency=np.zeros((0, 0), np.float32),
                        kernel=kernel, first_layer=first, reason=reason or note,
                        score_note="per-pixel classes (the share of pixels per class)")

    def sample(self, dataset: str, index: int | None = None,
               input_shape: Any = None) -> dict[str, Any]:
        """One image of a dataset (random without ``index``) as uint8 pixels, with its label
        in words; the dataset is kept for the next sample. ``input_shape`` (the model's) loads
        the set as training loaded it: the generated ``shapes`` are drawn at the model's size
        (a 64x64 drawing shrunk to 32x32 is not a picture the model was trained on)."""
        from playground.data.dataset import load_dataset

        shape = tuple(int(d) for d in input_shape) if input_shape else None
        if self._dataset is None or self._dataset[0] != (dataset, shape):
            # A random sample to look at: an unreadable file is simply not offered.
            self._dataset = ((dataset, shape), load_dataset(dataset, shape, bad_images="skip"))
        data = self._dataset[1]
        count = len(data.x)
        i = int(self._rng.integers(count)) if index is None else int(index) % count
        label = np.asarray(data.y[i])
        if label.ndim == 0:
            words = data.class_names[int(label)]
        else:  # a segmentation set: the sample's label is a mask
            from playground.data.segdata import mask_caption

            words = "mask: " + mask_caption(label, data.class_names)
        return {"pixels": np.ascontiguousarray(np.asarray(data.x[i]), np.uint8), "index": i,
                "name": str(data.name), "label": words, "count": count}

    def evaluate(self, runs: list[str], wrong: int = 6) -> tuple[Any, Any]:
        from playground.inspect.evaluate import compare, wrong_samples

        result = compare(list(runs), tta=True)
        picture_rows = wrong_samples(result, int(wrong))
        # Only what the dock shows crosses back: no Keras models, no held-out pixels.
        data = replace(result.data, x=np.zeros((0,), np.uint8))
        rows = [replace(r, probs=np.zeros((0, 0))) for r in result.rows]
        return replace(result, rows=rows, data=data, models=[]), picture_rows


class StaleModel(Exception):
    """A request for a model that was replaced meanwhile (the editor ignores its answer)."""


def _message(exc: BaseException) -> str:
    if isinstance(exc, PlaygroundError):
        return str(exc)
    if isinstance(exc, ImportError) and "tensorflow" in str(exc).lower():
        return (f"TensorFlow cannot be imported in {sys.executable} ({exc}); install it "
                "(pip install tensorflow) to predict")
    return f"{type(exc).__name__}: {exc}"


def handle(worker: Worker, request: dict[str, Any]) -> dict[str, Any]:
    """One request -> its answer (``result`` or ``error``), never an exception."""
    op, args = request.get("op"), request.get("args") or {}
    start = time.perf_counter()
    try:
        if op == "load":
            result = worker.load(int(request["id"]), args["spec"])
        elif op == "predict":
            result = worker.predict(args["model"], args["pixels"], int(args.get("top", TOP_K)),
                                    bool(args.get("drawing")), args.get("raw_size"))
        elif op == "maps":
            result = worker.maps(args["model"], args["pixels"], str(args["node"]),
                                 args.get("class_index"), bool(args.get("drawing")),
                                 args.get("raw_size"))
        elif op == "sample":
            result = worker.sample(str(args["dataset"]), args.get("index"),
                                   args.get("input_shape"))
        elif op == "evaluate":
            result = worker.evaluate(list(args["runs"]), int(args.get("wrong", 6)))
        else:
            raise SourceError(f"unknown request {op!r}")
    except StaleModel as exc:
        return {"id": request.get("id"), "error": f"stale: {exc}", "stale": True}
    except Exception as exc:  # noqa: BLE001 - the editor shows the message
        return {"id": request.get("id"), "error": _message(exc) or type(exc).__name__}
    return {"id": request.get("id"), "result": result,
            "ms": (time.perf_counter() - start) * 1000.0}


def serve(conn: Any) -> None:
    """Read requests until "quit" or the editor's end closes; answer each from its lane."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    worker = Worker()
    send_lock = threading.Lock()
    queues: dict[str, queue.SimpleQueue] = {lane: queue.SimpleQueue() for lane in LANES}

    def lane_loop(q: queue.SimpleQueue) -> None:
        while True:
            request = q.get()
            if request is None:
                return
            answer = handle(worker, request)
            with send_lock:
                try:
                    conn.send(answer)
                except (OSError, ValueError, EOFError):
                    os._exit(0)            # the editor is gone
                except Exception as exc:  # noqa: BLE001 - an answer that does not pickle
                    conn.send({"id": request.get("id"), "error": _message(exc)})

    for lane, q in queues.items():
        threading.Thread(target=lane_loop, args=(q,), name=f"inference-{lane}",
                         daemon=True).start()
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if not isinstance(request, dict) or request.get("op") == "quit":
            return
        queues.get(str(request.get("lane")), queues["predict"]).put(request)


def main(argv: list[str] | None = None) -> int:
    from multiprocessing.connection import Connection

    args = sys.argv[1:] if argv is None else argv
    conn = Connection(int(args[0]))
    serve(conn)
    # Leave without TensorFlow's slow interpreter teardown (a second or more).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())
