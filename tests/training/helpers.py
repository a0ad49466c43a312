"""Graph builders for training tests (tiny models; LeNet-5 built with the core API)."""

from __future__ import annotations

from playground.core.graph import Graph, Node


def chain(name: str, specs: list[tuple[str, str, dict]], trainable: dict | None = None) -> Graph:
    graph = Graph(name)
    prev = None
    for nid, typ, params in specs:
        graph.add_node(Node(nid, typ, dict(params), (trainable or {}).get(nid, True)))
        if prev is not None:
            graph.add_edge(prev, nid)
        prev = nid
    return graph


def lenet5() -> Graph:
    return chain("LeNet-5", [
        ("input", "Input", {"shape": [32, 32, 1]}),
        ("conv1", "Conv2D", {"filters": 6, "kernel_size": 5, "activation": "tanh"}),
        ("pool1", "AveragePooling2D", {"pool_size": 2}),
        ("conv2", "Conv2D", {"filters": 16, "kernel_size": 5, "activation": "tanh"}),
        ("pool2", "AveragePooling2D", {"pool_size": 2}),
        ("flatten", "Flatten", {}),
        ("fc1", "Dense", {"units": 120, "activation": "tanh"}),
        ("fc2", "Dense", {"units": 84, "activation": "tanh"}),
        ("out", "Dense", {"units": 10, "activation": "softmax"}),
    ])


def tiny(shape=(8, 8, 1), classes: int = 10, bn: bool = False, activation: str = "relu"
         ) -> Graph:
    """A few hundred parameters: trains in a second on 8x8 digits."""
    specs = [("input", "Input", {"shape": list(shape)}),
             ("conv", "Conv2D", {"filters": 4, "kernel_size": 3, "activation": activation})]
    if bn:
        specs.append(("bn", "BatchNormalization", {}))
    specs += [("pool", "MaxPooling2D", {"pool_size": 2}),
              ("flatten", "Flatten", {}),
              ("out", "Dense", {"units": classes, "activation": "softmax"})]
    return chain("tiny", specs)


# The file keras.applications.VGG16 reads its ImageNet weights without the classifier from.
NOTOP = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


def twin_graph():
    """A tiny graph that claims VGG16 as its twin; its conv is named like VGG16's first layer."""
    graph = chain("tiny VGG", [
        ("input", "Input", {"shape": [8, 8, 1]}),
        ("block1_conv1", "Conv2D", {"filters": 4, "kernel_size": 3, "activation": "relu"}),
        ("pool", "MaxPooling2D", {"pool_size": 2}),
        ("flatten", "Flatten", {}),
        ("out", "Dense", {"units": 10, "activation": "softmax"}),
    ])
    graph.extra["keras_application"] = "VGG16"
    return graph
