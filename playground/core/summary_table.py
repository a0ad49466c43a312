"""An ``Analysis`` as text (a ``model.summary()``-like table) or as a JSON-ready dict.

Pure formatting, no Keras: the CLI's ``summary`` prints it and the GUI can show the same text or
feed the same rows to a table widget. Counts are the checker's, which match Keras' own
``count_params()`` (tests compare them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from playground.core.graph import Graph
from playground.core.shapes import Analysis, NodeReport
from playground.core.text import one_line

BYTES_PER_VALUE = 4


@dataclass(frozen=True)
class Row:
    """One line of the table: a node, or (``inner``) one Keras layer inside a composite."""

    name: str
    type: str
    shape: tuple[int, ...] | None
    params: int
    trainable_params: int
    non_trainable_params: int
    macs: int
    memory_bytes: int
    receptive_field: tuple[float, float] | None
    inputs: tuple[str, ...] = ()
    inner: bool = False


# ------------------------------------------------------------------ number formatting
def human_count(value: float, unit: str = "") -> str:
    """1_819_066_368 -> '1.82 G' (SI prefixes, as MACs and FLOPs are usually quoted)."""
    if _beyond_float(value):
        return f"{_scientific(value)} {unit}".rstrip()
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value:g} {unit}".rstrip()


def human_bytes(value: float) -> str:
    """Binary units, as memory is usually quoted: 9_633_792 -> '9.19 MiB'."""
    if _beyond_float(value):
        return f"{_scientific(value)} B"
    for factor, prefix in ((1024**4, "TiB"), (1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}"
    return f"{int(value)} B"


def _beyond_float(value: float) -> bool:
    """An int no float can hold (10**400): dividing it would raise OverflowError."""
    return isinstance(value, int) and abs(value) >= 10**300


def _scientific(value: int) -> str:
    digits = str(abs(value))
    return f"{'-' if value < 0 else ''}{digits[0]}.{digits[1:3]}e{len(digits) - 1}"


def shape_text(shape: tuple[int, ...] | None) -> str:
    """(None, 32, 32, 3)-style text like Keras' summary; '?' when the shape is unknown."""
    if shape is None:
        return "?"
    return "(None, " + ", ".join(str(d) for d in shape) + ")"


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 3)


def rf_text(rf: tuple[float, float] | None) -> str:
    if rf is None:
        return "-"
    h, w = (_num(v) for v in rf)
    return f"{h}" if h == w else f"{h}x{w}"


# ------------------------------------------------------------------ rows
def inner_name(node_id: str, part: str) -> str:
    """The Keras name of a composite's inner layer (``<id>_<part>``, contract section 1)."""
    return part if part.startswith(f"{node_id}_") else f"{node_id}_{part}"


def rows(graph: Graph, analysis: Analysis, inner: bool = False) -> list[Row]:
    """Nodes in topological order (the order the model runs them), composites optionally
    followed by their inner layers."""
    out: list[Row] = []
    for nid in analysis.order:
        if nid not in analysis.nodes:
            continue
        report = analysis.nodes[nid]
        out.append(_node_row(graph, report))
        if inner and report.inner:
            trainable = graph.node(nid).trainable if nid in graph else True
            for layer in report.inner:
                total = layer.params + layer.fixed_params
                out.append(Row(
                    name=inner_name(nid, layer.name), type=layer.type, shape=layer.shape,
                    params=total,
                    trainable_params=layer.params if trainable else 0,
                    non_trainable_params=layer.fixed_params + (0 if trainable else layer.params),
                    macs=layer.macs, memory_bytes=math.prod(layer.shape) * BYTES_PER_VALUE,
                    receptive_field=None, inner=True))
    return out


def _node_row(graph: Graph, report: NodeReport) -> Row:
    inputs = tuple(graph.inputs_of(report.id)) if report.id in graph else ()
    return Row(name=report.id, type=report.type, shape=report.shape, params=report.params,
               trainable_params=report.trainable_params,
               non_trainable_params=report.non_trainable_params, macs=report.macs,
               memory_bytes=report.memory_bytes, receptive_field=report.rf_size, inputs=inputs)


# ------------------------------------------------------------------ text
HEADERS = ("Layer (type)", "Output shape", "Params", "MACs", "Memory", "RF", "Connected to")


def format_table(graph: Graph, analysis: Analysis, inner: bool = False) -> str:
    """The summary as text: one row per node, then the totals (and problems, if any)."""
    table: list[tuple[str, ...]] = []
    for row in rows(graph, analysis, inner):
        label = f"{row.name} ({row.type})"
        if row.inner:
            label = "  - " + label
        table.append((label, shape_text(row.shape), f"{row.params:,}",
                      human_count(row.macs) if row.macs else "0",
                      human_bytes(row.memory_bytes) if row.shape is not None else "?",
                      "" if row.inner else rf_text(row.receptive_field),
                      ", ".join(row.inputs)))
    widths = [max([len(h)] + [len(r[i]) for r in table]) for i, h in enumerate(HEADERS)]
    right = {2, 3, 4, 5}

    def line(cells: tuple[str, ...]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(parts).rstrip()

    rule = "-" * len(line(HEADERS))
    title = f'Model: "{one_line(graph.name)}"'   # a stranger's name never drives the terminal
    lines = [title, rule, line(HEADERS), rule.replace("-", "=")]
    lines += [line(cells) for cells in table]
    lines.append(rule)
    lines += totals_lines(analysis)
    if analysis.problems:
        lines.append(rule)
        lines += [str(p) for p in analysis.problems]
    return "\n".join(lines)


def totals_lines(analysis: Analysis) -> list[str]:
    total = analysis.total_params
    lines = [
        f"Total params: {total:,} ({human_bytes(total * BYTES_PER_VALUE)})",
        f"Trainable params: {analysis.trainable_params:,} "
        f"({human_bytes(analysis.trainable_params * BYTES_PER_VALUE)})",
        f"Non-trainable params: {analysis.non_trainable_params:,} "
        f"({human_bytes(analysis.non_trainable_params * BYTES_PER_VALUE)})",
        f"MACs: {human_count(analysis.macs)} ({analysis.macs:,}) per sample",
        f"Activation memory: {human_bytes(analysis.memory_bytes)} per sample (float32)",
        f"Depth: {analysis.depth} weight layer(s) on the longest path",
    ]
    if not analysis.valid:
        lines.append(f"INVALID: {len(analysis.errors)} error(s); the totals cover only the "
                     "nodes whose shape is known")
    return lines


# ------------------------------------------------------------------ JSON
def _rf_json(rf: tuple[float, float] | None) -> list[int | float] | None:
    return None if rf is None else [_num(v) for v in rf]


def _row_json(row: Row) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": row.name, "type": row.type,
        "output_shape": list(row.shape) if row.shape is not None else None,
        "params": row.params, "trainable_params": row.trainable_params,
        "non_trainable_params": row.non_trainable_params, "macs": row.macs,
        "memory_bytes": row.memory_bytes if row.shape is not None else None,
    }
    if not row.inner:
        data["receptive_field"] = _rf_json(row.receptive_field)
        data["inputs"] = list(row.inputs)
    return data


def to_json(graph: Graph, analysis: Analysis, inner: bool = False) -> dict[str, Any]:
    """The contract's ``summary --json`` object.

    ``output_shape`` has no batch axis and is ``null`` where the checker could not compute it
    (an invalid graph); ``receptive_field`` is ``[h, w]`` in input pixels or ``null`` once the
    tensor is no longer spatial. With ``inner`` each composite node gets an ``inner`` list.
    """
    nodes = []
    for nid in analysis.order:
        if nid not in analysis.nodes:
            continue
        report = analysis.nodes[nid]
        data = _row_json(_node_row(graph, report))
        data["depth"] = report.depth
        data["trainable"] = graph.node(nid).trainable if nid in graph else True
        data["problems"] = [p.message for p in report.problems]
        if inner:
            data["inner"] = [_row_json(r) for r in rows(graph, _only(analysis, nid), True)
                             if r.inner]
        nodes.append(data)
    return {
        "name": graph.name,
        "nodes": nodes,
        "inputs": list(analysis.inputs),
        "outputs": list(analysis.outputs),
        "output_shapes": [list(s) if s is not None else None for s in analysis.output_shapes()],
        "total_params": analysis.total_params,
        "trainable_params": analysis.trainable_params,
        "non_trainable_params": analysis.non_trainable_params,
        "macs": analysis.macs,
        "memory_bytes": analysis.memory_bytes,
        "params_bytes": analysis.total_params * BYTES_PER_VALUE,
        "depth": analysis.depth,
        "valid": analysis.valid,
        "problems": [str(p) for p in analysis.problems],
    }


def dumps(data: dict[str, Any]) -> str:
    """JSON text with one node per line: valid JSON that is still readable and diffable."""
    import json

    parts = []
    for key, value in data.items():
        if key == "nodes":
            items = ",\n".join("  " + json.dumps(n) for n in value)
            parts.append(f' "nodes": [\n{items}\n ]' if value else ' "nodes": []')
        else:
            parts.append(f" {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}"


def _only(analysis: Analysis, nid: str) -> Analysis:
    """A one-node view of an analysis (to reuse ``rows`` for one composite)."""
    return Analysis({nid: analysis.nodes[nid]}, [], [nid], [], [])
