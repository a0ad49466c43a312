"""How much the graph compiler costs over writing the same model by hand with keras.layers.

    python bench/bench_compile.py [--repeat 7] [--graph presets/resnet34.json]

Times, in one process and interleaved (so both see the same machine load):
- ``compile``: ``playground.keras_build.compile.build(graph)`` for ResNet-34 (the checker pass,
  the memory check and the functional model), from an already loaded graph;
- ``by hand``: the same ResNet-34 (same layers, names and shapes) written directly with
  ``keras.layers`` (no graph, no checker).
Prints the median of each and their ratio (target <= 1.2x). ``keras.backend.clear_session()``
runs before every build so neither side pays for the other's leftovers. Both models are checked
to have the same parameter count and the same layer names before timing.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TARGET_RATIO = 1.2
STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # ResNet-34: filters, blocks, stride


def resnet34_graph():
    """The bundled preset when present, else the same network built from ResidualBlocks."""
    from playground.core import fileformat
    from playground.core.graph import Graph, Node

    preset = ROOT / "presets" / "resnet34.json"
    if preset.is_file():
        return fileformat.load(preset)
    g = Graph("ResNet-34")
    chain = [("input", "Input", {"shape": [224, 224, 3]}),
             ("conv1_pad", "ZeroPadding2D", {"padding": 3}),
             ("conv1_conv", "Conv2D", {"filters": 64, "kernel_size": 7, "strides": 2,
                                       "use_bias": False}),
             ("conv1_bn", "BatchNormalization", {"epsilon": 1e-5}),
             ("conv1_relu", "Activation", {"activation": "relu"}),
             ("pool1_pad", "ZeroPadding2D", {"padding": 1}),
             ("pool1_pool", "MaxPooling2D", {"pool_size": 3, "strides": 2})]
    for stage, (filters, blocks, stride) in enumerate(STAGES, start=2):
        for b in range(1, blocks + 1):
            chain.append((f"conv{stage}_block{b}", "ResidualBlock",
                          {"filters": filters, "strides": stride if b == 1 else 1}))
    chain += [("avg_pool", "GlobalAveragePooling2D", {}),
              ("predictions", "Dense", {"units": 1000, "activation": "softmax"})]
    previous = None
    for nid, node_type, params in chain:
        g.add_node(Node(nid, node_type, params))
        if previous:
            g.add_edge(previous, nid)
        previous = nid
    return g


def resnet34_by_hand():
    """ResNet-34 written the usual way (keras.applications style block functions)."""
    import keras

    layers = keras.layers

    def block(x, filters, stride, name):
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False,
                          name=f"{name}_1_conv")(x)
        y = layers.BatchNormalization(epsilon=1e-5, name=f"{name}_1_bn")(y)
        y = layers.Activation("relu", name=f"{name}_1_relu")(y)
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
        y = layers.BatchNormalization(epsilon=1e-5, name=f"{name}_2_bn")(y)
        if stride != 1 or x.shape[-1] != filters:
            x = layers.Conv2D(filters, 1, strides=stride, use_bias=False,
                              name=f"{name}_0_conv")(x)
            x = layers.BatchNormalization(epsilon=1e-5, name=f"{name}_0_bn")(x)
        y = layers.Add(name=f"{name}_add")([x, y])
        return layers.Activation("relu", name=f"{name}_out")(y)

    inputs = keras.Input((224, 224, 3), name="input")
    x = layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.BatchNormalization(epsilon=1e-5, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, blocks, stride) in enumerate(STAGES, start=2):
        for b in range(1, blocks + 1):
            x = block(x, filters, stride if b == 1 else 1, f"conv{stage}_block{b}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dense(1000, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, x, name="ResNet-34")


def timed(fn) -> tuple[float, object]:
    import keras

    keras.backend.clear_session()
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    import keras

    from playground.keras_build.compile import build

    graph = resnet34_graph()
    # Warm-up (first Keras calls initialise TensorFlow) and equivalence check.
    ours = build(graph).model
    hand = resnet34_by_hand()
    assert ours.count_params() == hand.count_params(), (ours.count_params(),
                                                        hand.count_params())
    assert sorted(layer.name for layer in ours.layers) == sorted(
        layer.name for layer in hand.layers)
    compile_times, hand_times = [], []
    for i in range(args.repeat):
        # Alternate which goes first, so a drift in machine load favours neither side.
        if i % 2:
            hand_times.append(timed(resnet34_by_hand)[0])
            compile_times.append(timed(lambda: build(graph).model)[0])
        else:
            compile_times.append(timed(lambda: build(graph).model)[0])
            hand_times.append(timed(resnet34_by_hand)[0])
    c, h = statistics.median(compile_times), statistics.median(hand_times)
    ratio = c / h
    print(f"ResNet-34: {ours.count_params():,} params, {len(ours.layers)} Keras layers")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, Keras {keras.__version__}")
    print(f"compile (graph -> keras.Model): median {c * 1000:.0f} ms "
          f"(min {min(compile_times) * 1000:.0f}, max {max(compile_times) * 1000:.0f}) "
          f"over {args.repeat} runs")
    print(f"by hand (keras.layers):         median {h * 1000:.0f} ms "
          f"(min {min(hand_times) * 1000:.0f}, max {max(hand_times) * 1000:.0f})")
    print(f"ratio of the fastest runs (least disturbed by other load): "
          f"{min(compile_times) / min(hand_times):.2f}x")
    print(f"ratio of medians: {ratio:.2f}x (target <= {TARGET_RATIO}x) "
          f"{'OK' if ratio <= TARGET_RATIO else 'OVER TARGET'}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
