"""What a node sees: its feature maps, a conv layer's kernels, Grad-CAM and a saliency map.

Grad-CAM follows Selvaraju et al. (2017): the gradient of the class's score *before* the
softmax with respect to the node's output A (h x w x c), channel weights = the gradient's
spatial mean, map = ReLU(sum_k w_k A_k), divided by its maximum. The saliency map is the plain
one of Simonyan et al. (2014): |d score / d input|, the maximum over the input's channels.

The score before the softmax is found from the model's first output: a ``Dense`` with a softmax
activation gives ``x @ kernel + bias`` of its input; an ``Activation("softmax")`` or ``Softmax``
node gives its input; an output without a softmax is its own score (said in ``note``).
TensorFlow is imported inside the functions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from playground.core.errors import PlaygroundError
from playground.inspect.model import LoadedModel


class InspectError(PlaygroundError):
    """A node or class that cannot be inspected; the message names it and says why."""


@dataclass
class NodeMaps:
    """Everything drawn for one image and one node."""

    node: str
    probs: np.ndarray                  # class probabilities of the first output
    class_index: int                   # the class Grad-CAM explains
    features: np.ndarray | None        # h x w x c activations, None without a spatial map
    gradcam: np.ndarray | None         # h x w, ReLU'ed, max 1 (all 0 when nothing is positive)
    saliency: np.ndarray               # H x W at the model's input resolution, raw gradients
    kernel: np.ndarray | None = None   # kh x kw x cin x cout, for conv nodes
    first_layer: bool = False          # the kernel reads the image itself (drawn in colour)
    reason: str = ""                   # why there are no feature maps / Grad-CAM
    score_note: str = ""               # how the pre-softmax score was found


def _tf():
    from playground.tfimport import import_tensorflow

    return import_tensorflow()


def _is_softmax(fn: Any) -> bool:
    return getattr(fn, "__name__", "") == "softmax"


def score_head(loaded: LoadedModel) -> tuple[Any, Any, str]:
    """``(tensor, fn, note)``: the symbolic tensor the score is computed from and the function
    turning it into per-class scores before the softmax."""
    import keras

    out = loaded.model.outputs[0]
    layer = out._keras_history.operation
    if isinstance(layer, keras.layers.Dense) and _is_softmax(layer.activation):
        def dense_logits(h, layer=layer):
            z = keras.ops.matmul(h, layer.kernel)
            return z + layer.bias if layer.use_bias else z
        return layer.input, dense_logits, f"score: {layer.name}'s logits (before its softmax)"
    if isinstance(layer, keras.layers.Softmax) or (
            isinstance(layer, keras.layers.Activation) and _is_softmax(layer.activation)):
        return layer.input, (lambda h: h), f"score: the input of {layer.name} (before the softmax)"
    return out, (lambda h: h), f"score: {layer.name}'s output (the model has no final softmax)"


def spatial_reason(loaded: LoadedModel, node_id: str) -> str:
    """'' when the node has a spatial map (N x h x w x c), else why there is nothing to draw."""
    tensor = node_tensor(loaded, node_id)
    shape = tuple(tensor.shape)
    if len(shape) == 4:
        return ""
    node_type = loaded.graph.node(node_id).type
    dims = "x".join(str(d) for d in shape[1:])
    return (f"node {node_id} ({node_type}) outputs a vector of {dims} values, not a spatial "
            "map: there are no feature maps or Grad-CAM to draw (pick a convolution or pooling "
            "node before the Flatten/pooling)")


def node_tensor(loaded: LoadedModel, node_id: str) -> Any:
    if node_id not in loaded.node_tensors:
        raise InspectError(f"no node {node_id!r} in {loaded.graph.name} (the node ids are: "
                           f"{', '.join(list(loaded.node_tensors)[:12])}...)")
    return loaded.node_tensors[node_id]


def node_kernel(loaded: LoadedModel, node_id: str) -> tuple[np.ndarray | None, str]:
    """The node's conv kernel as kh x kw x cin x cout (transposed convolutions turned round,
    depthwise kernels one input channel per tile), or None and why not."""
    import keras

    layers = [lay for lay in loaded.layers_by_node.get(node_id, [])
              if isinstance(lay, keras.layers.Layer)]
    convs = [lay for lay in layers if isinstance(lay, (keras.layers.Conv2D,
                                                       keras.layers.Conv2DTranspose,
                                                       keras.layers.DepthwiseConv2D,
                                                       keras.layers.SeparableConv2D))]
    if len(convs) != 1 or len(layers) != 1:
        kind = loaded.graph.node(node_id).type
        if len(convs) > 1:
            return None, (f"node {node_id} ({kind}) holds {len(convs)} convolutions; its "
                          "filters are not drawn as one grid")
        return None, f"node {node_id} ({kind}) has no learned convolution kernels"
    layer = convs[0]
    if isinstance(layer, (keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)):
        # Keras 3: DepthwiseConv2D.kernel, SeparableConv2D.depthwise_kernel (kh, kw, cin, mult)
        k = np.asarray(layer.kernel if isinstance(layer, keras.layers.DepthwiseConv2D)
                       else layer.depthwise_kernel)
        kh, kw, cin, mult = k.shape
        return k.reshape(kh, kw, 1, cin * mult), ""
    k = np.asarray(layer.kernel)
    if isinstance(layer, keras.layers.Conv2DTranspose):
        k = k.transpose(0, 1, 3, 2)                     # kh, kw, cout, cin -> cin, cout
    return k, ""


def _reads_image(loaded: LoadedModel, node_id: str) -> bool:
    preds = loaded.graph.inputs_of(node_id)
    return len(preds) == 1 and loaded.graph.node(preds[0]).type == "Input"


# The whole-model pass keeps every spatial node's activations and gradients of the last image:
# used when they fit in this many bytes (VGG-16: 116 MiB), else one function per node.
WHOLE_MODEL_BYTES = 256 * 1024 * 1024


class Inspector:
    """Maps for one image and one node, fast when a GUI asks again and again.

    The full backward pass the saliency map needs (the input's gradient) goes through every
    node's output on its way, so one compiled function per *model* returns the activations and
    gradients of all spatial nodes at once: it is traced once (not once per node; a VGG-16
    trace costs about as much as a run), and the last image's results are kept, so looking at
    another node of the same image costs no TensorFlow work at all. Models whose maps would
    not fit in ``WHOLE_MODEL_BYTES`` (DenseNet-121, Inception-ResNet-v2 at full size) get one
    compiled function per node instead, cached as well. Either way one backward pass serves
    both gradients (a second one from the score down to the node would repeat work)."""

    def __init__(self, loaded: LoadedModel, whole_model_bytes: int = WHOLE_MODEL_BYTES) -> None:
        self.loaded = loaded
        self.head_tensor, self.head_fn, self.score_note = score_head(loaded)
        self._models: dict[str, Any] = {}
        self._fns: dict[str, Any] = {}
        # Spatial nodes, one per distinct tensor, in the model's order.
        self._slots: dict[str, int] = {}
        tensors: list[Any] = []
        for node_id, tensor in loaded.node_tensors.items():
            if len(tuple(tensor.shape)) != 4:
                continue
            for i, seen in enumerate(tensors):
                if seen is tensor:
                    self._slots[node_id] = i
                    break
            else:
                self._slots[node_id] = len(tensors)
                tensors.append(tensor)
        self._tensors = tensors
        size = sum(int(np.prod([int(d or 1) for d in t.shape[1:]])) for t in tensors)
        self.whole_model = 2 * 4 * size <= whole_model_bytes
        self._whole_fn: Any = None
        self._last: tuple[tuple[Any, ...], Any] | None = None   # (image + class, outputs)

    def _sub(self, node_id: str) -> Any:
        import keras

        if node_id not in self._models:
            self._models[node_id] = keras.Model(self.loaded.model.inputs,
                                                [node_tensor(self.loaded, node_id),
                                                 self.head_tensor, self.loaded.model.outputs[0]])
        return self._models[node_id]

    def _signature(self) -> list[Any]:
        tf = _tf()
        return [tf.TensorSpec([None, *self.loaded.input_shape], tf.float32),
                tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.bool)]

    def _all_nodes(self) -> Any:
        """The per-model function: probabilities, the input's gradient, the class explained,
        and every spatial node's activations, score gradients and whether the score depends
        on it (a node feeding only another output does not)."""
        if self._whole_fn is None:
            import keras

            tf = _tf()
            sub = keras.Model(self.loaded.model.inputs,
                              [*self._tensors, self.head_tensor, self.loaded.model.outputs[0]])
            head_fn, n = self.head_fn, len(self._tensors)

            @tf.function(input_signature=self._signature())
            def everything(x, chosen, use_predicted):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    outs = sub(x, training=False)
                    acts, head, probs = list(outs[:n]), outs[n], outs[n + 1]
                    k = tf.where(use_predicted, tf.argmax(probs[0], output_type=tf.int32),
                                 chosen)
                    score = tf.gather(head_fn(head), k, axis=1)
                grads = tape.gradient(score, [x, *acts])
                connected = [g is not None for g in grads[1:]]
                grads_a = [tf.zeros_like(a) if g is None else g
                           for a, g in zip(acts, grads[1:], strict=True)]
                return probs, grads[0], k, acts, grads_a, tf.constant(connected or [True])

            self._whole_fn = everything
        return self._whole_fn

    def _gradients(self, node_id: str) -> Any:
        """One compiled function per node (models too big for ``_all_nodes``): forward, the
        class score before the softmax, and one backward pass to the node's output and on to
        the input."""
        if node_id not in self._fns:
            tf = _tf()
            sub, head_fn = self._sub(node_id), self.head_fn

            @tf.function(input_signature=self._signature())
            def gradients(x, chosen, use_predicted):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    act, head, probs = sub(x, training=False)
                    logits = head_fn(head)
                    k = tf.where(use_predicted, tf.argmax(probs[0], output_type=tf.int32),
                                 chosen)
                    score = tf.gather(logits, k, axis=1)
                grad_x, grad_a = tape.gradient(score, [x, act])
                connected = tf.constant(grad_a is not None)
                if grad_a is None:
                    grad_a = tf.zeros_like(act)
                return act, probs, grad_x, grad_a, k, connected

            self._fns[node_id] = gradients
        return self._fns[node_id]

    def _node_outputs(self, x: np.ndarray, node_id: str, class_index: int | None
                      ) -> tuple[Any, Any, Any, Any, Any, Any]:
        """(activations, probs, input gradient, node gradient, class, connected)."""
        args = (x, np.int32(class_index or 0), np.bool_(class_index is None))
        if not self.whole_model:
            return self._gradients(node_id)(*args)
        key = (x.shape, hashlib.blake2b(x.tobytes(), digest_size=16).digest(), class_index)
        if self._last is None or self._last[0] != key:
            self._last = None                       # free the old image's maps first
            self._last = (key, self._all_nodes()(*args))
        probs, grad_x, k, acts, grads_a, connected = self._last[1]
        slot = self._slots.get(node_id)
        if slot is None:                            # no spatial map: no activations needed
            return None, probs, grad_x, None, k, True
        return acts[slot], probs, grad_x, grads_a[slot], k, connected[slot]

    def warm_up(self) -> None:
        """Trace the whole-model function on a blank image (a service can do this right after
        loading, so the first node asked for is answered at run speed); no-op per node."""
        if self.whole_model:
            self.run(np.zeros((1, *self.loaded.input_shape), np.float32),
                     next(iter(self.loaded.node_tensors)))
            self.forget()

    def forget(self) -> None:
        """Drop the last image's kept maps (VGG-16: 116 MiB) when the view closes."""
        self._last = None

    def run(self, x: np.ndarray, node_id: str, class_index: int | None = None) -> NodeMaps:
        """All maps for one adapted image ``x`` (1 x H x W x C)."""
        reason = spatial_reason(self.loaded, node_id)
        n = self.loaded.num_classes
        if class_index is not None and not 0 <= int(class_index) < n:
            raise InspectError(f"class {class_index} is out of range: the model has {n} "
                               f"classes (0..{n - 1})")
        x = np.ascontiguousarray(x, np.float32)
        act, probs, grad_x, grad_a, k, connected = self._node_outputs(
            x, node_id, None if class_index is None else int(class_index))
        saliency = np.max(np.abs(np.asarray(grad_x)[0]), axis=-1).astype(np.float32)
        features = cam = None
        if not reason:
            a = np.asarray(act)[0]
            features = a.astype(np.float32)
            if not bool(connected):
                reason = (f"the class score does not depend on node {node_id} (it feeds "
                          "another output); Grad-CAM is empty")
                cam = np.zeros(a.shape[:2], np.float32)
            else:
                cam = gradcam_from(a, np.asarray(grad_a)[0])
        kernel, _why = node_kernel(self.loaded, node_id)
        return NodeMaps(node_id, np.asarray(probs, np.float64)[0], int(k), features, cam,
                        saliency, kernel, _reads_image(self.loaded, node_id), reason,
                        self.score_note)


def gradcam_from(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM from one image's activations and score gradients (both h x w x c)."""
    weights = gradients.astype(np.float64).mean(axis=(0, 1))              # c
    cam = np.maximum((activations.astype(np.float64) * weights).sum(axis=-1), 0.0)
    top = cam.max()
    return (cam / top if top > 0 else cam).astype(np.float32)
