"""The shape checker: one topological pass computing, per node, output shape, parameter counts,
MACs, activation memory and receptive field, plus every problem with its culprit and a fix.

It is pure Python (the catalogue's rules) so it runs on each edit. Results of a node depend only on
its type, params and input shapes, so they are memoized on exactly that key: after a single edit
only the edited node and the nodes whose input shapes changed are recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from playground.blocks import get_spec
from playground.blocks.geometry import fmt_shape
from playground.blocks.spec import BlockProblem, Inference, InnerLayer, Shape, resolve_params
from playground.core.graph import Graph
from playground.core.loss_outputs import (
    HEAD_FIX,
    SOFTMAX_FIX,
    head_without_softmax,
    headless_message,
    headless_output,
    non_vector_outputs,
    softmax_message,
)
from playground.core.loss_outputs import checker_message as loss_message

BYTES_PER_VALUE = 4  # float32


@dataclass
class Problem:
    severity: str            # "error" or "warning"
    message: str
    node: str | None = None
    edge: tuple[str, str] | None = None
    param: str | None = None
    fix: str | None = None   # quick-fix code the editor may offer
    # The spatial size ran out at this node (a larger input would pass it); see
    # BlockProblem.too_small. core.minimum_input searches on this, not on the message.
    too_small: bool = False

    @property
    def location(self) -> str:
        if self.node is not None:
            return f"node {self.node}"
        if self.edge is not None:
            return f"edge {self.edge[0]} -> {self.edge[1]}"
        return "graph"

    def __str__(self) -> str:
        return f"{self.severity}: {self.location}: {self.message}"


@dataclass
class NodeReport:
    id: str
    type: str
    shape: Shape | None = None
    params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    macs: int = 0
    memory_bytes: int = 0
    rf_size: tuple[float, float] | None = None
    rf_jump: tuple[float, float] | None = None
    depth: int = 0
    inner: list[InnerLayer] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # params with defaults, normalized
    problems: list[Problem] = field(default_factory=list)

    @property
    def has_error(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


@dataclass
class Analysis:
    nodes: dict[str, NodeReport]
    problems: list[Problem]
    order: list[str]
    inputs: list[str]
    outputs: list[str]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not self.errors

    def _sum(self, attr: str) -> int:
        return sum(getattr(r, attr) for r in self.nodes.values())

    @property
    def total_params(self) -> int:
        return self._sum("params")

    @property
    def trainable_params(self) -> int:
        return self._sum("trainable_params")

    @property
    def non_trainable_params(self) -> int:
        return self._sum("non_trainable_params")

    @property
    def macs(self) -> int:
        return self._sum("macs")

    @property
    def memory_bytes(self) -> int:
        return self._sum("memory_bytes")

    @property
    def depth(self) -> int:
        return max((r.depth for r in self.nodes.values()), default=0)

    def output_shapes(self) -> list[Shape | None]:
        return [self.nodes[o].shape for o in self.outputs]


@dataclass
class _Cached:
    values: dict[str, Any]
    param_problems: list[BlockProblem]
    inference: Inference | None
    problem: BlockProblem | None


class Checker:
    """Runs the pass; keeps a memo so re-checking after an edit is cheap."""

    def __init__(self, memo_size: int = 20_000) -> None:
        self._memo: dict[tuple[str, Any, tuple[Shape, ...] | None], _Cached] = {}
        self._memo_size = memo_size

    def analyze(self, graph: Graph) -> Analysis:
        return _analyze(graph, self)

    def evaluate(self, type_name: str, params: dict[str, Any], in_shapes: list[Shape] | None
                 ) -> _Cached:
        """Resolve params and, given input shapes, run the block's shape rule.

        Any exception of a rule becomes a problem of the node: a bug in one rule must not take
        the editor or the CLI down.
        """
        pkey = _params_key(params)
        key = (type_name, pkey, tuple(in_shapes) if in_shapes is not None else None)
        hit = self._memo.get(key) if pkey is not None else None
        if hit is not None:
            return hit
        spec = get_spec(type_name)
        assert spec is not None
        try:
            values, param_problems = resolve_params(spec, params)
        except Exception as exc:  # noqa: BLE001 - params that are not JSON data at all
            values, param_problems = spec.defaults(), [BlockProblem(
                f"cannot read the params ({type(exc).__name__}: {exc})")]
        inference, problem = None, None
        if not param_problems and in_shapes is not None:
            try:
                inference = spec.infer(values, list(in_shapes))
                bad = [d for d in inference.shape if d <= 0]
                if bad:
                    raise BlockProblem(f"the output shape {fmt_shape(inference.shape)} has a "
                                       "size of zero or below; the input is too small here",
                                       too_small=True)
            except BlockProblem as exc:
                problem = exc
            except Exception as exc:  # noqa: BLE001 - see docstring
                problem = BlockProblem(f"cannot compute the output shape ({type(exc).__name__}: "
                                       f"{exc})")
        cached = _Cached(values, param_problems, inference, problem)
        if pkey is None:
            return cached
        if len(self._memo) >= self._memo_size:
            self._memo.clear()
        self._memo[key] = cached
        return cached


_SCALARS = frozenset((str, int, float, bool, type(None)))
_ENCODE_NESTED = json.JSONEncoder(sort_keys=True, allow_nan=True).encode


def _params_key(params: Any) -> tuple[Any, ...] | None:
    """A memo key that tells apart what JSON tells apart (3, 3.0, true and "3" differ: the type
    is part of the key); None when the params cannot be serialized (then the node is evaluated
    without the memo). Flat scalars skip JSON encoding: this runs for every node on every edit."""
    try:
        items = []
        for key, value in params.items():
            kind = type(value)
            if kind in _SCALARS:
                items.append((key, kind, value))
            else:
                items.append((key, list, _ENCODE_NESTED(value)))
        items.sort(key=_first)
        return tuple(items)
    except (TypeError, ValueError, RecursionError, AttributeError):
        return None


def _first(item: tuple[Any, ...]) -> Any:
    return item[0]


_DEFAULT_CHECKER = Checker()


def analyze(graph: Graph, checker: Checker | None = None) -> Analysis:
    """Check the whole graph; never raises for a bad graph (problems are in the result)."""
    return (checker or _DEFAULT_CHECKER).analyze(graph)


def _analyze(graph: Graph, checker: Checker) -> Analysis:
    reports: dict[str, NodeReport] = {}
    problems: list[Problem] = []

    def error(node_id: str | None, message: str, **kw: Any) -> None:
        p = Problem("error", message, node=node_id, **kw)
        problems.append(p)
        if node_id is not None and node_id in reports:
            reports[node_id].problems.append(p)

    def warning(node_id: str, message: str, fix: str | None = None) -> None:
        p = Problem("warning", message, node=node_id, fix=fix)
        problems.append(p)
        reports[node_id].problems.append(p)

    specs = {}
    for node in graph.nodes:
        reports[node.id] = NodeReport(node.id, node.type)
        spec = get_spec(node.type)
        specs[node.id] = spec
        if spec is None:
            error(node.id, f"unknown block type {node.type!r}; it is not in the catalogue "
                  "(see `python main.py blocks`)")
            continue
        n_in = len(graph.inputs_of(node.id))
        if n_in < spec.min_inputs or (spec.max_inputs is not None and n_in > spec.max_inputs):
            error(node.id, f"{node.type} takes {spec.arity_text()}, but {n_in} "
                  f"{'is' if n_in == 1 else 'are'} connected")

    inputs = [n.id for n in graph.nodes if n.type == "Input"]
    if not inputs:
        error(None, "the graph has no Input node; add one (palette: input)")
    for nid in inputs:
        if not graph.outputs_of(nid) and len(graph) > 1:
            error(nid, "this Input feeds no layer; connect it or delete it")

    order = graph.topological_order()
    in_cycle: set[str] = set()
    if order is None:
        order = _report_cycles(graph, in_cycle, error)

    reachable = _reachable_from(graph, inputs)
    head_warnings: dict[str, list[tuple[str, str | None]]] = {}
    for nid in order:
        node = graph.node(nid)
        report = reports[nid]
        spec = specs[nid]
        if spec is None or nid in in_cycle:
            continue
        sources = graph.inputs_of(nid)
        in_shapes = [reports[s].shape for s in sources]
        blocked = (report.has_error or any(s is None for s in in_shapes)
                   or (nid not in reachable and node.type != "Input"))
        cached = checker.evaluate(node.type, node.params, None if blocked else in_shapes)
        report.values = cached.values
        for pp in cached.param_problems:
            error(nid, str(pp), param=pp.param)
        if blocked:
            if nid not in reachable and node.type != "Input" and not report.has_error:
                error(nid, "not reachable from any Input; connect it to the network")
            # Otherwise an upstream node failed; that node carries the message.
            continue
        if cached.problem is not None:
            error(nid, str(cached.problem), param=cached.problem.param, fix=cached.problem.fix,
                  too_small=cached.problem.too_small)
            continue
        inf = cached.inference
        if inf is None:
            continue
        report.shape = inf.shape
        report.params = inf.params + inf.fixed_params
        report.trainable_params = inf.params if node.trainable else 0
        report.non_trainable_params = inf.fixed_params + (0 if node.trainable else inf.params)
        report.macs = inf.macs
        report.memory_bytes = (inf.activations or 0) * BYTES_PER_VALUE
        report.inner = inf.inner
        report.depth = max((reports[s].depth for s in sources), default=0) + (inf.depth or 0)
        _receptive_field(report, inf, [reports[s] for s in sources], node.type == "Input")
        for message, fix in inf.warnings:
            warning(nid, message, fix)
        if inf.head_warnings:
            head_warnings[nid] = inf.head_warnings

    if head_warnings:
        for nid in _heads(graph, order, reports, specs):
            for message, fix in head_warnings.get(nid, ()):
                warning(nid, message, fix)

    outputs = [nid for nid in graph.sinks() if specs.get(nid) is not None]
    # A classifier's output that is not a vector cannot feed the loss (issue 11).
    unlossable = set(non_vector_outputs({nid: reports[nid].shape for nid in outputs}))
    for nid in outputs:
        if nid in unlossable and not reports[nid].has_error:
            warning(nid, loss_message(reports[nid].shape))
    # A classifier head without softmax, or none at all, would train badly (wave 5).
    vectors = [nid for nid in outputs if reports[nid].shape is not None
               and len(reports[nid].shape) == 1 and not reports[nid].has_error]
    values = {k: r.values for k, r in reports.items()} if vectors else {}
    for nid in vectors:
        shape = reports[nid].shape
        found = head_without_softmax(graph, nid, values, specs)
        if found is not None:
            warning(found[0], softmax_message(nid, *found), SOFTMAX_FIX)
        features = headless_output(graph, nid, values, specs)
        if features is not None:
            warning(features, headless_message(nid, features, shape[0]), HEAD_FIX)
    if len(outputs) > 1:
        for nid in outputs:
            if nid in unlossable:
                continue
            # Natural model outputs (BlockSpec.natural_output) are not flagged.
            if not specs[nid].natural_output and not reports[nid].has_error:
                warning(nid, "has no outgoing edge, so it becomes an extra model output; "
                        "connect it onwards or delete it")
    return Analysis(reports, problems, order, inputs, outputs)


def _heads(graph: Graph, order: list[str], reports: dict[str, NodeReport],
           specs: dict[str, Any]) -> list[str]:
    """Nodes with a shape whose output reaches the model's outputs unchanged in rank, through
    pass-through blocks only (an Activation, a Dropout): the network's head, in ``order``.
    A node feeding a merge, a weight layer or a pooling is inside the network."""
    head: dict[str, bool] = {}
    for nid in reversed(order):
        shape = reports[nid].shape
        if shape is None or specs.get(nid) is None:
            head[nid] = False
            continue
        head[nid] = all(
            specs.get(c) is not None and specs[c].pass_through and head.get(c, False)
            and reports[c].shape is not None and len(reports[c].shape) == len(shape)
            for c in graph.outputs_of(nid))
    return [nid for nid in order if head[nid]]


def _receptive_field(report: NodeReport, inf: Inference, sources: list[NodeReport],
                     is_input: bool) -> None:
    if inf.rf is None:
        return
    if is_input:
        size, jump = (1.0, 1.0), (1.0, 1.0)
    else:
        # A broadcast gate (1 x 1 x C, no receptive field of its own) does not end the field.
        sources = [s for s in sources if s.rf_size is not None and s.rf_jump is not None]
        if not sources:
            return
        size = (max(s.rf_size[0] for s in sources), max(s.rf_size[1] for s in sources))  # type: ignore[index]
        jump = (max(s.rf_jump[0] for s in sources), max(s.rf_jump[1] for s in sources))  # type: ignore[index]
    k, st = inf.rf.kernel, inf.rf.stride
    report.rf_size = (size[0] + (k[0] - 1) * jump[0], size[1] + (k[1] - 1) * jump[1])
    report.rf_jump = (jump[0] * st[0], jump[1] * st[1])


def _reachable_from(graph: Graph, starts: Iterable[str]) -> set[str]:
    seen = set(starts)
    stack = list(seen)
    while stack:
        nid = stack.pop()
        for nxt in graph.outputs_of(nid):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _report_cycles(graph: Graph, in_cycle: set[str], error: Any) -> list[str]:
    """Name each cycle's nodes; return an order of the nodes outside cycles and after them."""
    import networkx as nx

    g = graph.to_networkx()
    rank = {nid: i for i, nid in enumerate(graph.node_ids)}
    components = sorted((c for c in nx.strongly_connected_components(g) if len(c) > 1),
                        key=lambda c: min(rank[n] for n in c))
    for component in components:
        if len(component) < 2:
            continue
        sub = g.subgraph(component)
        first = min(component, key=rank.__getitem__)
        cycle_edges = nx.find_cycle(sub, source=first)
        path = [u for u, _ in cycle_edges] + [cycle_edges[0][0]]
        in_cycle.update(component)
        error(first, "part of a cycle: " + " -> ".join(path) + "; remove one of these edges")
    # Nodes downstream of a cycle get no shape; order the rest by a DAG of the condensation.
    condensed = nx.condensation(g)
    order: list[str] = []
    for comp in nx.topological_sort(condensed):
        members = condensed.nodes[comp]["members"]
        order.extend(sorted(members, key=rank.__getitem__))
    return order
