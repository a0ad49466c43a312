"""Every number of a node explained: output size per axis, weights, MACs, activation memory and
receptive field, each as the arithmetic that gives it, with the node's own values.

The block's own explain rule (``BlockSpec.explain``, see ``playground.blocks.explain``) writes
the output size, weights and MACs; this module adds what depends on the graph around the node
(the receptive field grown from its inputs', the frozen/trainable split, the memory), and, for a
composite, the table of its branches and their layers, which sums to the node's totals.

The CLI's ``explain`` command, the inspector's Explain tab and the layer table all read this one
module. Pure Python: no Qt, no TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from playground.blocks import explain as ex
from playground.blocks import get_spec
from playground.blocks.explain import BYTES_PER_VALUE, Explanation, Term, num
from playground.blocks.spec import InnerLayer, Shape
from playground.core.errors import PlaygroundError
from playground.core.graph import Graph
from playground.core.shapes import Analysis, NodeReport, analyze
from playground.core.summary_table import human_bytes, inner_name


class ExplainError(PlaygroundError):
    """The node cannot be explained: it does not exist, or the checker found no shape for it."""


@dataclass
class Quantity:
    """A value and the formula behind it; ``terms`` are its parts (one per axis for the output,
    one per axis for the receptive field)."""

    value: Any
    formula: str
    note: str = ""
    terms: list[Term] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "formula": self.formula}


@dataclass
class LayerRow:
    """One Keras layer inside a composite."""

    name: str
    type: str
    output: Shape
    params: int
    macs: int
    params_formula: str = ""
    macs_formula: str = ""


@dataclass
class Branch:
    name: str
    layers: list[LayerRow]

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def output(self) -> Shape:
        return self.layers[-1].output


@dataclass
class NodeExplanation:
    id: str
    type: str
    output: Quantity
    params: Quantity
    trainable_params: int
    non_trainable_params: int
    macs: Quantity
    memory: Quantity
    receptive_field: Quantity
    jump: Quantity
    branches: list[Branch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    has_rule: bool = True
    # How the receptive field grew from the Input to here, along the widest inputs:
    # (node id, receptive field [h, w], jump [h, w]), the Input first, this node last.
    rf_growth: list[tuple[str, list[float], list[float]]] = field(default_factory=list)


# ------------------------------------------------------------------ building
def explain_node(graph: Graph, node_id: str, analysis: Analysis | None = None
                 ) -> NodeExplanation:
    """The explanation of one node; ``ExplainError`` names the node when there is none."""
    if node_id not in graph:
        known = ", ".join(graph.node_ids[:12]) + (", ..." if len(graph) > 12 else "")
        raise ExplainError(f"no node {node_id!r} in {graph.name or 'the graph'} "
                           f"(nodes: {known or 'none'})")
    analysis = analysis or analyze(graph)
    report = analysis.nodes.get(node_id)
    node = graph.node(node_id)
    spec = get_spec(node.type)
    if spec is None or report is None or report.shape is None:
        problems = report.problems if report is not None else []
        reason = (problems[0].message if problems else
                  "its shape is unknown (an upstream node has an error)")
        raise ExplainError(f"node {node_id}: cannot explain it: {reason}")
    sources = [analysis.nodes[s] for s in graph.inputs_of(node_id)]
    in_shapes = [s.shape for s in sources]
    rule = spec.explain or ex.generic
    try:
        inference = spec.infer(report.values, list(in_shapes))  # type: ignore[arg-type]
        explained: Explanation = rule(report.values, list(in_shapes), inference)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - a bug in one rule must not hide the other nodes
        raise ExplainError(f"node {node_id}: the explain rule of {node.type} failed "
                           f"({type(exc).__name__}: {exc})") from None

    output = Quantity(tuple(report.shape), _axes_formula(explained.axes), terms=explained.axes)
    params = Quantity(explained.params.value, _formula(explained.params),
                      _params_note(report, explained.params), terms=[explained.params])
    macs = Quantity(explained.macs.value, _formula(explained.macs), explained.macs.note,
                    terms=[explained.macs])
    memory = _memory(report, inference.inner)
    rf, jump = _receptive_field(report, sources, inference.rf, node.type == "Input")
    branches = _branches(node_id, inference.inner, explained.branch_of)
    return NodeExplanation(
        id=node_id, type=node.type, output=output, params=params,
        trainable_params=report.trainable_params,
        non_trainable_params=report.non_trainable_params, macs=macs, memory=memory,
        receptive_field=rf, jump=jump, branches=branches, notes=list(explained.notes),
        has_rule=spec.explain is not None, rf_growth=rf_growth(graph, node_id, analysis))


def rf_growth(graph: Graph, node_id: str, analysis: Analysis
              ) -> list[tuple[str, list[float], list[float]]]:
    """The receptive field node by node from the Input, following at each merge the input with
    the widest field (the one the checker's max picks). Empty once the tensor is flat."""
    path = []
    nid: str | None = node_id
    seen = set()
    while nid is not None and nid not in seen:
        seen.add(nid)
        report = analysis.nodes.get(nid)
        if report is None or report.rf_size is None or report.rf_jump is None:
            return [] if nid == node_id else list(reversed(path))
        path.append((nid, [_clean(v) for v in report.rf_size],
                     [_clean(v) for v in report.rf_jump]))
        sources = [s for s in graph.inputs_of(nid)
                   if s in analysis.nodes and analysis.nodes[s].rf_size is not None]
        nid = max(sources, key=lambda s: sum(analysis.nodes[s].rf_size),  # type: ignore[arg-type]
                  default=None)
    return list(reversed(path))


def growth_text(growth: list[tuple[str, list[float], list[float]]], limit: int = 12) -> str:
    """``input 1 -> conv1 11 -> pool1 19 -> conv2 51``; the middle elided past ``limit``."""
    steps = [f"{nid} {_pair(rf)}" for nid, rf, _jump in growth]
    if len(steps) > limit:
        steps = steps[:2] + [f"... ({len(steps) - limit + 2} more)"] + steps[-(limit - 3):]
    return " -> ".join(steps)


def explain_graph(graph: Graph, analysis: Analysis | None = None
                  ) -> tuple[list[NodeExplanation], list[str]]:
    """Every node that has a shape, in the order the model runs them, and the lines of the
    nodes that cannot be explained (``node <id>: cannot explain it: ...``)."""
    analysis = analysis or analyze(graph)
    done, skipped = [], []
    for nid in analysis.order:
        try:
            done.append(explain_node(graph, nid, analysis))
        except ExplainError as exc:
            skipped.append(str(exc))
    return done, skipped


def _formula(term: Term) -> str:
    return term.text()


def _axes_formula(axes: list[Term]) -> str:
    """``height, width: (227 - 11 + 2*0) / 4 + 1 = 55 ("valid": no padding); channels: 96``.
    Height and width share a line when their arithmetic is the same."""
    parts = []
    i = 0
    while i < len(axes):
        term = axes[i]
        if (term.name == "height" and i + 1 < len(axes) and axes[i + 1].name == "width"
                and axes[i + 1].text() == term.text()):
            parts.append(f"height, width: {term.text()}")
            i += 2
            continue
        parts.append(f"{term.name}: {term.text()}")
        i += 1
    return "; ".join(parts)


def _params_note(report: NodeReport, term: Term) -> str:
    """The trainable / non-trainable split (it depends on the node's freeze, not its rule)."""
    if report.params and report.trainable_params == 0:
        return f"frozen: all {report.params:,} are non-trainable"
    if report.non_trainable_params:
        return (f"{report.trainable_params:,} trainable, {report.non_trainable_params:,} "
                "non-trainable")
    return ""


def _memory(report: NodeReport, inner: list[InnerLayer]) -> Quantity:
    """float32 values the node's layers produce per sample, 4 bytes each."""
    shapes = [layer.shape for layer in inner] if inner else [report.shape]
    values = sum(math.prod(s) for s in shapes if s is not None)
    if len(shapes) == 1:
        formula = f"{ex.product_text(shapes[0])} * {BYTES_PER_VALUE}"  # type: ignore[arg-type]
        note = "float32 outputs per sample, 4 bytes each"
    else:
        formula = "(" + " + ".join(ex.product_text(s) for s in shapes) + f") * {BYTES_PER_VALUE}"
        note = f"the outputs of its {len(shapes)} layers, float32, per sample"
    total = values * BYTES_PER_VALUE
    return Quantity(total, f"{formula} = {num(total)} B ({human_bytes(total)}; {note})", note,
                    terms=[Term(total, formula, note)])


def _receptive_field(report: NodeReport, sources: list[NodeReport], step: Any, is_input: bool
                     ) -> tuple[Quantity, Quantity]:
    """r = r_in + (k - 1) * j_in and j = j_in * s per axis (the checker's rule, written out)."""
    if report.rf_size is None or report.rf_jump is None or step is None:
        note = "not spatial any more: each value can depend on the whole input"
        return Quantity(None, note, note), Quantity(None, "", "")
    if is_input:
        size, jump = (1.0, 1.0), (1.0, 1.0)
        terms = [Term(1, "", "one pixel sees itself", "height"),
                 Term(1, "", "one pixel sees itself", "width")]
        return (Quantity([1, 1], "1 (one pixel sees itself)", terms=terms),
                Quantity([1, 1], "1"))
    # Like the checker: a broadcast gate (1 x 1 x C, e.g. a squeeze-excite scale) has no field.
    sources = [s for s in sources if s.rf_size is not None and s.rf_jump is not None]
    size = (max(s.rf_size[0] for s in sources),  # type: ignore[index]
            max(s.rf_size[1] for s in sources))  # type: ignore[index]
    jump = (max(s.rf_jump[0] for s in sources),  # type: ignore[index]
            max(s.rf_jump[1] for s in sources))  # type: ignore[index]
    widest = " (the widest of its inputs)" if len(sources) > 1 else ""
    rf_terms, jump_terms = [], []
    for axis, name in enumerate(("height", "width")):
        k, s = step.kernel[axis], step.stride[axis]
        r_in, j_in = size[axis], jump[axis]
        r_out, j_out = report.rf_size[axis], report.rf_jump[axis]
        if k == 1:
            rf_terms.append(Term(_clean(r_out), "", f"unchanged: a 1-wide window{widest}", name))
        else:
            rf_terms.append(Term(_clean(r_out), f"{num(r_in)} + ({num(k)} - 1)*{num(j_in)}",
                                 f"r_in + (k - 1) * jump_in{widest}", name))
        jump_terms.append(Term(_clean(j_out), f"{num(j_in)}*{num(s)}" if s != 1 else "",
                               "jump_in * stride: input pixels between neighbouring outputs",
                               name))
    value = [_clean(v) for v in report.rf_size]
    return (Quantity(value, _axes_formula(rf_terms), terms=rf_terms),
            Quantity([_clean(v) for v in report.rf_jump], _axes_formula(jump_terms),
                     terms=jump_terms))


def _clean(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _branches(node_id: str, inner: list[InnerLayer], branch_of: Any) -> list[Branch]:
    if not inner:
        return []
    groups: dict[str, list[LayerRow]] = {}
    for layer in inner:
        name = branch_of(layer.name) if branch_of is not None else "layers"
        groups.setdefault(name, []).append(LayerRow(
            inner_name(node_id, layer.name), layer.type, tuple(layer.shape),
            layer.params + layer.fixed_params, layer.macs, layer.params_formula,
            layer.macs_formula))
    return [Branch(name, rows) for name, rows in groups.items()]


# ------------------------------------------------------------------ output
def to_json(expl: NodeExplanation) -> dict[str, Any]:
    """The contract's object: ``output``, ``params``, ``macs``, ``receptive_field`` as
    ``{"value", "formula"}`` (``output.value`` without the batch axis); composites add
    ``branches``."""
    data: dict[str, Any] = {
        "id": expl.id, "type": expl.type,
        "output": {**expl.output.to_json(), "value": list(expl.output.value),
                   "axes": [_term_json(t) for t in expl.output.terms]},
        "params": {**expl.params.to_json(), "trainable": expl.trainable_params,
                   "non_trainable": expl.non_trainable_params},
        "macs": expl.macs.to_json(),
        "memory_bytes": expl.memory.to_json(),
        "receptive_field": {**expl.receptive_field.to_json(), "jump": expl.jump.value,
                            "growth": [{"node": nid, "value": rf, "jump": jump}
                                       for nid, rf, jump in expl.rf_growth]},
    }
    if expl.branches:
        data["branches"] = [{
            "name": b.name, "output": list(b.output), "params": b.params, "macs": b.macs,
            "layers": [{"name": r.name, "type": r.type, "output": list(r.output),
                        "params": r.params, "macs": r.macs,
                        "params_formula": r.params_formula, "macs_formula": r.macs_formula}
                       for r in b.layers]} for b in expl.branches]
    if expl.notes:
        data["notes"] = list(expl.notes)
    return data


def _term_json(term: Term) -> dict[str, Any]:
    return {"name": term.name, "value": term.value, "formula": term.text()}


def format_text(expl: NodeExplanation) -> str:
    """The explanation as plain text (the CLI's output; one node)."""
    lines = [f"{expl.id} ({expl.type})"]
    lines.append(f"  output {_shape(expl.output.value)}")
    lines += [f"    {line}" for line in axis_lines(expl.output.terms)]
    lines.append(f"  params {expl.params.value:,}")
    lines.append(f"    {expl.params.formula}")
    if expl.params.note:
        lines.append(f"    {expl.params.note}")
    lines.append(f"  MACs {expl.macs.value:,}")
    lines.append(f"    {expl.macs.formula}")
    lines.append(f"  memory {human_bytes(expl.memory.value)} per sample")
    lines.append(f"    {expl.memory.formula}")
    rf = expl.receptive_field
    if rf.value is None:
        lines.append(f"  receptive field: {rf.formula}")
    else:
        lines.append(f"  receptive field {_pair(rf.value)} input pixels")
        lines += [f"    {line}" for line in axis_lines(rf.terms)]
        lines.append(f"    jump {_pair(expl.jump.value)}: {expl.jump.formula}")
        if len(expl.rf_growth) > 1:
            lines.append(f"    growth: {growth_text(expl.rf_growth)}")
    if expl.branches:
        lines.append("  branches (they sum to the totals above)")
        lines += ["    " + line for line in branch_table(expl)]
    lines += [f"  note: {n}" for n in expl.notes]
    return "\n".join(lines)


def axis_lines(terms: list[Term]) -> list[str]:
    """``["height, width: (227 - 11 + 2*0) / 4 + 1 = 55 (...)", "channels: 96 (...)"]``."""
    return _axes_formula(terms).split("; ") if terms else []


def _shape(shape: Shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _pair(value: list[float]) -> str:
    h, w = value
    return num(h) if h == w else f"{num(h)}x{num(w)}"


def branch_table(expl: NodeExplanation) -> list[str]:
    """Branch, layer, output, params, MACs: one line per inner layer, a subtotal per branch,
    the node's totals last."""
    rows = [("branch", "layer", "output", "params", "MACs", "MACs as")]
    for b in expl.branches:
        for i, r in enumerate(b.layers):
            rows.append((b.name if i == 0 else "", f"{r.name} ({r.type})", _shape(r.output),
                         f"{r.params:,}", f"{r.macs:,}", r.macs_formula))
        if len(b.layers) > 1:
            rows.append(("", f"= {b.name}", _shape(b.output), f"{b.params:,}", f"{b.macs:,}",
                         ""))
    rows.append(("total", "", _shape(expl.output.value), f"{expl.params.value:,}",
                 f"{expl.macs.value:,}", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    out = []
    for r in rows:
        cells = [c.ljust(w) if i in (0, 1, 2, 5) else c.rjust(w) for i, (c, w) in
                 enumerate(zip(r, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
    return out
