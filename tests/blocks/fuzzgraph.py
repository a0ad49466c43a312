"""Differential fuzzing of the shape checker against Keras itself (issue 11).

Random graphs are drawn from the whole catalogue (every block type but ``Input``, primitives and
composites alike, so a block added to ``playground/blocks/`` is fuzzed without touching this file),
with params drawn inside each param's declared range and biased to its edges. Each graph is judged
twice: by the checker (``playground.core.shapes.analyze``) and by Keras (the project's compiler
``playground.keras_build.compile.build``, then a forward pass on a batch of 2, in inference and in
training mode). A disagreement is one of:

- ``accepted``: the checker calls the graph valid but Keras refuses it at build or forward pass;
- ``refused``: the checker refuses a node with a reason that is false (Keras builds and runs it),
  unless the refusal is one of the deliberate strictnesses listed in docs/FORMAT.md
  (``DELIBERATE``);
- ``shape`` / ``params``: a node's output shape or its trainable / non-trainable weight counts
  differ from Keras'.

Used by ``tests/blocks/test_fuzz_checker.py`` (fixed seed, bounded examples) and by
``bench/fuzz_checker.py`` (long runs that list every disagreement found).
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from playground.blocks import CATALOGUE
from playground.blocks.spec import ACTIVATIONS, BlockSpec, Param, Shape, resolve_params
from playground.core.graph import Graph, Node
from playground.core.shapes import Analysis, Checker, analyze

MAX_SIDE = 12          # input height / width; small so that every forward pass is cheap
MAX_CHANNELS = 5
SPAN = 4               # how far above its minimum a size-like param is drawn
FLOAT_SPAN = 3.0       # the same for a float without a maximum


# ------------------------------------------------------------------------- deliberate strictness
# (block types, words of the checker's message): refusals where Keras builds and runs the graph
# but the checker refuses on purpose. Each one is explained in docs/FORMAT.md ("Where the checker
# is stricter than Keras").
DELIBERATE: tuple[tuple[tuple[str, ...], str], ...] = (
    (("Softmax",), "axis 0 is the batch"),                    # softmax over the batch
    (("Concatenate",), "axis 0 is the batch"),                # joining samples of the batch
    # (An InceptionModule reduce whose branch is off is refused by its plan, which the compiler
    # runs too: a refusal on both sides, no longer a strictness.)
    (("Resizing",), "needs a H x W x C image tensor"),        # Keras resizes across the batch
)


def deliberate(block_type: str, message: str) -> bool:
    return any(block_type in types and words in message for types, words in DELIBERATE)


# ------------------------------------------------------------------------------- param strategies
def _int_range(p: Param) -> tuple[int, int]:
    lo = int(p.minimum) if p.minimum is not None else -SPAN
    lo = max(lo, -SPAN)
    hi = max(lo, 0) + SPAN
    if p.maximum is not None:
        hi = min(hi, int(p.maximum) - (1 if p.exclusive_max else 0))
    return lo, max(lo, hi)


def _ints(p: Param) -> st.SearchStrategy[int]:
    """Uniform in the range, with the minimum (the plain case: stride 1, no dilation) likelier."""
    lo, hi = _int_range(p)
    return st.just(max(lo, 1) if lo < 1 <= hi else lo) | st.integers(lo, hi) | st.integers(lo, hi)


def _floats(p: Param) -> st.SearchStrategy[float]:
    lo = float(p.minimum) if p.minimum is not None else -FLOAT_SPAN
    hi = float(p.maximum) if p.maximum is not None else lo + 2 * FLOAT_SPAN
    edges = [v for v in (lo, hi, 0.0, 1.0, 6.0, -1.0, 0.5)
             if lo <= v <= hi and not (p.exclusive_max and v >= hi)]
    plain = st.floats(lo, hi, exclude_max=p.exclusive_max, allow_nan=False,
                      allow_infinity=False).map(lambda v: round(v, 3)).filter(
        lambda v: lo <= v and (v < hi if p.exclusive_max else v <= hi))
    return st.sampled_from(edges) | plain if edges else plain


def _pair(p: Param) -> st.SearchStrategy[Any]:
    one = _ints(p)
    return one | st.lists(one, min_size=2, max_size=2)


def _pad2(p: Param) -> st.SearchStrategy[Any]:
    one = _ints(p)
    pair = st.lists(one, min_size=2, max_size=2)
    return one | pair | st.lists(pair, min_size=2, max_size=2)


def param_strategy(p: Param) -> st.SearchStrategy[Any]:
    """Any value the declaration allows (sizes kept small), edges included."""
    kind = p.kind
    if kind == "int":
        base: st.SearchStrategy[Any] = _ints(p)
    elif kind == "float":
        base = _floats(p)
    elif kind == "bool":
        base = st.booleans()
    elif kind == "choice":
        base = st.sampled_from(p.choices)
    elif kind == "activation":
        base = st.sampled_from(ACTIVATIONS)
    elif kind == "pair":
        base = _pair(p)
    elif kind == "pad2":
        base = _pad2(p)
    elif kind == "floats":  # a number or one per channel (any length: a wrong one is refused)
        base = _floats(p) | st.lists(_floats(p), min_size=1, max_size=4)
    elif kind in ("shape", "int_list"):
        base = st.lists(_ints(p), min_size=1, max_size=4)
    else:  # a kind this fuzzer does not know yet: the default is always allowed
        base = st.just(p.default)
    return st.none() | base if p.nullable else base


@st.composite
def reshape_target(draw: Any, in_shape: Shape) -> list[int]:
    """Mostly a factorization of the input's size (one entry maybe -1), sometimes any list."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.lists(st.integers(-2, 8), min_size=1, max_size=4))
    total = math.prod(in_shape)
    dims: list[int] = []
    rank = draw(st.integers(1, 4))
    left = total
    for _ in range(rank - 1):
        divisors = [d for d in range(1, left + 1) if left % d == 0 and d <= 64]
        d = draw(st.sampled_from(divisors))
        dims.append(d)
        left //= d
    dims.append(left)
    if draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return dims


# Params whose useful values depend on the input shape: (block type, param) -> strategy factory.
SHAPE_AWARE = {
    ("Reshape", "target_shape"): reshape_target,
}


@st.composite
def block_params(draw: Any, spec: BlockSpec, in_shapes: list[Shape], keep: int = 1
                 ) -> dict[str, Any]:
    """A random subset of the params, each drawn within its range (the rest stay default);
    each param keeps its default with odds 1 in ``keep + 1``."""
    params: dict[str, Any] = {}
    for p in spec.params:
        aware = SHAPE_AWARE.get((spec.type, p.name))
        if aware is not None:
            params[p.name] = draw(aware(in_shapes[0]))
        elif draw(st.integers(0, keep)):
            params[p.name] = draw(param_strategy(p))
    return params


@st.composite
def input_shape(draw: Any) -> list[int]:
    rank = draw(st.sampled_from((3,) * 9 + (1, 2, 4)))
    side = st.sampled_from((1, 2)) | st.integers(3, MAX_SIDE) | st.integers(6, MAX_SIDE)
    if rank == 1:
        return [draw(st.integers(1, 3 * MAX_SIDE))]
    if rank == 2:
        return [draw(side), draw(st.integers(1, MAX_CHANNELS))]
    if rank == 3:
        return [draw(side), draw(side), draw(st.integers(1, MAX_CHANNELS))]
    return [draw(st.integers(1, 4)) for _ in range(4)]


def fuzz_specs() -> list[BlockSpec]:
    """Every block type of the catalogue but Input, in a stable order."""
    return [CATALOGUE[t] for t in sorted(CATALOGUE) if t != "Input"]


def _add_block(draw: Any, g: Graph, spec: BlockSpec, nid: str, analysis: Analysis,
               keep: int = 1) -> bool:
    """Append a node of ``spec`` fed by nodes that are valid so far (merges prefer inputs of
    equal shape); False when too few such nodes exist."""
    shapes = {n: r.shape for n, r in analysis.nodes.items() if r.shape is not None}
    candidates = sorted(shapes)
    hi = spec.max_inputs if spec.max_inputs is not None else spec.min_inputs + 1
    hi = max(spec.min_inputs, min(hi, len(candidates)))
    n_in = draw(st.integers(spec.min_inputs, hi))
    if n_in > len(candidates) or n_in == 0:
        return False
    images = [c for c in candidates if len(shapes[c]) == 3]  # most blocks want one
    first = draw(st.sampled_from(images if images and draw(st.integers(0, 3)) else candidates))
    sources = [first]
    for _ in range(n_in - 1):
        rest = [c for c in candidates if c not in sources]
        same = [c for c in rest if shapes[c] == shapes[first]]
        pool = same if same and draw(st.integers(0, 3)) else rest
        sources.append(draw(st.sampled_from(pool)))
    params = draw(block_params(spec, [shapes[s] for s in sources], keep))
    g.add_node(Node(nid, spec.type, params, trainable=draw(st.integers(0, 5)) > 0))
    for s in sources:
        g.add_edge(s, nid)
    return True


@st.composite
def graphs(draw: Any, max_nodes: int = 4, focus: str | None = None) -> Graph:
    """``Input -> ...`` with up to ``max_nodes`` blocks of any type.

    Without ``focus``, drawing stops at the first node the checker refuses, so a refused graph
    has exactly one culprit, its last node. With ``focus`` (a block type), the blocks before the
    last are kept only where the checker accepts them, and the last block is of that type."""
    g = Graph("fuzz")
    g.add_node(Node("in0", "Input", {"shape": draw(input_shape())}))
    specs = fuzz_specs()
    checker = Checker()
    analysis = analyze(g, checker)
    count = draw(st.integers(1, max_nodes))
    for k in range(count - (1 if focus else 0)):
        if not _add_block(draw, g, draw(st.sampled_from(specs)), f"n{k}", analysis):
            continue
        analysis = analyze(g, checker)
        if not analysis.valid:
            if focus is None:
                return g
            g.remove_node(f"n{k}")
            analysis = analyze(g, checker)
    if focus is not None:
        spec = CATALOGUE[focus]
        while len(g) < spec.min_inputs:  # enough valid nodes to feed a merge
            nid = f"id{len(g)}"
            g.add_node(Node(nid, "Activation", {"activation": "linear"}))
            g.add_edge("in0", nid)
            analysis = analyze(g, checker)
        _add_block(draw, g, spec, "focus", analysis, keep=3)  # most params set
    return g


# ---------------------------------------------------------------------------------------- oracle
@dataclass
class Disagreement:
    kind: str        # accepted, refused, shape, params
    node: str
    block: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: node {self.node} ({self.block}): {self.detail}"


def graph_json(g: Graph) -> str:
    return json.dumps({"nodes": [{"id": n.id, "type": n.type, "params": n.params,
                                  **({} if n.trainable else {"trainable": False})}
                                 for n in g.nodes],
                       "edges": [[e.src, e.dst] for e in g.edges]})


def _batch(shape: Shape) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((2, *shape)).astype("float32")


def _counts(layers: list[Any]) -> tuple[int, int]:
    trainable = sum(math.prod(w.shape) for layer in layers for w in layer.trainable_weights)
    fixed = sum(math.prod(w.shape) for layer in layers for w in layer.non_trainable_weights)
    return trainable, fixed


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}"


def judge(g: Graph) -> list[Disagreement]:
    """Every disagreement between the checker and Keras on this graph."""
    analysis = analyze(g, Checker())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' UserWarnings are not refusals
        if analysis.valid:
            return _judge_accepted(g, analysis)
        return _judge_refused(g, analysis)


def _judge_accepted(g: Graph, analysis: Analysis) -> list[Disagreement]:
    import keras

    from playground.keras_build.compile import build

    last = analysis.order[-1]
    try:
        built = build(g, analysis)
    except Exception as exc:  # noqa: BLE001 - any refusal is the finding
        culprit = _walk(g, analysis.order)[2] or last
        return [Disagreement("accepted", culprit, g.node(culprit).type,
                             f"Keras build: {_why(exc)}")]
    nodes = [n for n in analysis.order if g.node(n).type != "Input"]
    if not nodes:
        return []
    outs = [built.layers_by_node[n][-1].output for n in nodes]
    found: list[Disagreement] = []
    for nid, tensor in zip(nodes, outs, strict=True):
        report = analysis.nodes[nid]
        want = tuple(tensor.shape[1:])
        if report.shape != want:
            found.append(Disagreement("shape", nid, report.type,
                                      f"checker {report.shape}, Keras {want}"))
        counts = _counts(built.layers_by_node[nid])
        if (report.trainable_params, report.non_trainable_params) != counts:
            found.append(Disagreement(
                "params", nid, report.type,
                f"checker trainable/non-trainable {report.trainable_params}/"
                f"{report.non_trainable_params}, Keras {counts[0]}/{counts[1]}"))
    probe = keras.Model(built.model.inputs, outs)
    batch = [_batch(analysis.nodes[i].shape) for i in analysis.inputs]  # type: ignore[arg-type]
    for training in (False, True):
        try:
            results = probe(batch if len(batch) > 1 else batch[0], training=training)
        except Exception as exc:  # noqa: BLE001
            culprit = _forward_culprit(built, nodes, batch, training) or last
            return found + [Disagreement(
                "accepted", culprit, g.node(culprit).type,
                f"forward pass (training={training}): {_why(exc)}")]
        results = results if isinstance(results, list | tuple) else [results]
        for nid, value in zip(nodes, results, strict=True):
            got = tuple(value.shape[1:])
            if got != analysis.nodes[nid].shape:
                found.append(Disagreement("shape", nid, g.node(nid).type,
                                          f"checker {analysis.nodes[nid].shape}, Keras forward "
                                          f"pass {got}"))
    return found


def _forward_culprit(built: Any, nodes: list[str], batch: list[np.ndarray],
                     training: bool) -> str | None:
    """The first node (in order) whose output cannot be computed."""
    import keras

    for nid in nodes:
        model = keras.Model(built.model.inputs, built.layers_by_node[nid][-1].output)
        try:
            model(batch if len(batch) > 1 else batch[0], training=training)
        except Exception:  # noqa: BLE001
            return nid
    return None


def _walk(g: Graph, order: list[str], stop: str | None = None
          ) -> tuple[dict[str, Any], list[Any], str | None, BaseException | None]:
    """Build the graph with each block's own Keras builder, node by node, up to ``stop``:
    (tensors, input tensors, the first node whose build fails, its exception)."""
    from playground.keras_build.compile import _Context

    tensors: dict[str, Any] = {}
    inputs: list[Any] = []
    for nid in order:
        node = g.node(nid)
        spec = CATALOGUE[node.type]
        values, problems = resolve_params(spec, node.params)
        try:
            if problems:
                raise ValueError(str(problems[0]))
            tensors[nid] = spec.build(_Context(nid), values, [tensors[s] for s in g.inputs_of(nid)])
        except Exception as exc:  # noqa: BLE001 - any refusal is an answer
            return tensors, inputs, nid, exc
        if node.type == "Input":
            inputs.append(tensors[nid])
        if nid == stop:
            break
    return tensors, inputs, None, None


def _judge_refused(g: Graph, analysis: Analysis) -> list[Disagreement]:
    """The checker refuses a node: Keras must refuse it too (build or forward pass)."""
    import keras

    errors = [p for p in analysis.errors if p.node is not None]
    if not errors:
        return []  # graph-level policy (no Input...), not a shape rule
    culprit = errors[0].node
    assert culprit is not None
    block = g.node(culprit).type
    messages = [p.message for p in errors if p.node == culprit]
    if all(deliberate(block, m) for m in messages):
        return []
    tensors, inputs, failed, exc = _walk(g, analysis.order, stop=culprit)
    if failed == culprit:
        return []  # Keras refuses it too
    if failed is not None:
        return [Disagreement("accepted", failed, g.node(failed).type,
                             f"Keras build: {_why(exc)}")]  # type: ignore[arg-type]
    model = keras.Model(inputs if len(inputs) > 1 else inputs[0], tensors[culprit])
    batch = [_batch(tuple(t.shape[1:])) for t in inputs]
    declared = tuple(tensors[culprit].shape[1:])
    for training in (False, True):
        try:
            out = np.asarray(model(batch if len(batch) > 1 else batch[0], training=training))
        except Exception:  # noqa: BLE001
            return []  # refused at the forward pass: the checker was right
        # A model that breaks its own declared shape (Rescaling with 4 scales on 1 channel) or
        # turns finite inputs into NaN (a negative variance) is broken: the refusal stands.
        if out.shape[1:] != declared or not np.isfinite(out).all():
            return []
    return [Disagreement("refused", culprit, block,
                         f"the checker says {messages[0]!r}, but Keras builds and runs it "
                         f"(output {tuple(tensors[culprit].shape[1:])})")]
