"""The smallest square input a graph accepts, so the app can say "AlexNet needs at least
67x67x3" instead of leaving the user to shrink the input until an error appears.

Pure Python: it re-runs the shape checker (``core.shapes.analyze``) on copies of the graph with
other input sizes. Whether the size "runs out" somewhere (a window larger than its input, a size
of zero: an error with ``Problem.too_small`` set) only gets worse as the input shrinks, so a
binary search finds that threshold in a few checks. Validity itself need not be monotone: a
U-Net's skips only line up at multiples of 16, so above the threshold the sizes are tried one by
one up to the first valid one.
"""

from __future__ import annotations

from playground.blocks import get_spec
from playground.core.graph import Graph
from playground.core.shapes import Analysis, Checker, Problem

# The largest size searched when the graph's own input size runs out.
MAX_SIZE = 8192
# How many sizes above the threshold are tried for one that is valid (a U-Net with five
# poolings needs a multiple of 32; this allows far deeper ones).
SCAN_LIMIT = 256


def _single_input(graph: Graph) -> tuple[str, list[int]] | None:
    inputs = [n for n in graph.nodes if n.type == "Input"]
    if len(inputs) != 1:
        return None
    # An Input without a shape param has the catalogue's default shape.
    shape = inputs[0].params.get("shape", get_spec("Input").param("shape").default)
    if (not isinstance(shape, list) or len(shape) != 3
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)):
        return None
    return inputs[0].id, shape


class _Prober:
    """Checks the graph at square sizes, remembering each answer."""

    def __init__(self, graph: Graph, input_id: str, channels: int) -> None:
        self.graph = graph.copy()
        self.input_id = input_id
        self.channels = channels
        self.checker = Checker()
        self.results: dict[int, Analysis] = {}

    def analysis(self, size: int) -> Analysis:
        if size not in self.results:
            self.graph.node(self.input_id).params["shape"] = [size, size, self.channels]
            self.results[size] = self.checker.analyze(self.graph)
        return self.results[size]

    def runs_out(self, size: int) -> bool:
        return size_problem(self.analysis(size)) is not None

    def valid(self, size: int) -> bool:
        return self.analysis(size).valid


def size_problem(analysis: Analysis) -> Problem | None:
    """The first error that says the input became too small (its node is where it runs out).

    Read from ``Problem.too_small``, which the block rules set where the size runs out, so
    rewording a message cannot silently turn the hint off.
    """
    for problem in analysis.errors:
        if problem.too_small:
            return problem
    return None


def smallest_input(graph: Graph) -> list[int] | None:
    """The smallest ``[s, s, channels]`` input for which the graph checks valid.

    None when the graph has no single Input with an H x W x C shape, or when no square size
    makes it valid (its errors do not depend on the input size: then up to ``SCAN_LIMIT``
    sizes are checked before giving up).
    """
    found = _single_input(graph)
    if found is None:
        return None
    input_id, shape = found
    probe = _Prober(graph, input_id, shape[2])
    high = max(shape[0], shape[1])
    while probe.runs_out(high):
        if high >= MAX_SIZE:
            return None
        high = min(high * 2, MAX_SIZE)
    # Smallest size that does not run out: the threshold of a monotone property.
    low = 1
    while low < high:
        middle = (low + high) // 2
        if probe.runs_out(middle):
            low = middle + 1
        else:
            high = middle
    for size in range(low, min(low + SCAN_LIMIT, MAX_SIZE) + 1):
        if probe.valid(size):
            return [size, size, shape[2]]
    return None


def minimum_input_message(graph: Graph) -> str | None:
    """``"AlexNet needs at least a 67x67x3 input"``, or None when no size works."""
    size = smallest_input(graph)
    if size is None:
        return None
    return f"{graph.name} needs at least a {size[0]}x{size[1]}x{size[2]} input"
