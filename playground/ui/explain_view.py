"""The inspector's Explain tab: the selected node's numbers with the arithmetic behind them.

A view of ``core.explain`` (the same text the ``explain`` CLI prints): output size per axis,
weights, MACs, activation memory, receptive field, and a composite's branch table. It redraws
after every analysis, so an edit of a kernel size shows its new arithmetic at once.
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import QFrame, QTextBrowser, QVBoxLayout, QWidget

from playground.blocks.explain import Term, num
from playground.core.explain import (
    ExplainError,
    NodeExplanation,
    branch_table,
    explain_node,
    growth_text,
)
from playground.core.summary_table import human_bytes
from playground.ui.document import Document

_LABEL = "color:#8a939e"
_MONO = "font-family:'DejaVu Sans Mono',monospace"


class ExplainView(QWidget):
    """Shows ``explanation`` (None when no node, or the node has no shape: ``message`` says)."""

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.node_id: str | None = None
        self.explanation: NodeExplanation | None = None
        self.message = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.browser = QTextBrowser(self)
        self.browser.setObjectName("explainText")
        self.browser.setOpenLinks(False)
        self.browser.setFrameShape(QFrame.Shape.NoFrame)
        layout.addWidget(self.browser)
        doc.analyzed.connect(lambda _a: self.refresh())
        doc.graph_changed.connect(self._on_graph_changed)
        doc.reset.connect(lambda: self.show_node(None))
        self.refresh()

    def show_node(self, node_id: str | None) -> None:
        self.node_id = node_id
        self.refresh()

    def _on_graph_changed(self, kind: str, details: dict) -> None:
        if kind == "renamed" and details.get("old") == self.node_id:
            self.node_id = details.get("new")
        elif kind == "node_removed" and details.get("node_id") == self.node_id:
            self.show_node(None)

    def refresh(self) -> None:
        """Explain the node again from the document's latest analysis."""
        self.explanation = None
        if self.node_id is None or self.node_id not in self.doc.graph:
            self.node_id = None
            self.message = ("Select a node to see why its output size, parameters, MACs, "
                            "memory and receptive field are what they are.")
        else:
            try:
                self.explanation = explain_node(self.doc.graph, self.node_id, self.doc.analysis)
                self.message = ""
            except ExplainError as exc:
                self.message = str(exc)
            except Exception as exc:  # noqa: BLE001 - a rule's bug must not break the editor
                self.message = f"cannot explain {self.node_id}: {type(exc).__name__}: {exc}"
        self.browser.setHtml(self.html())

    def text(self) -> str:
        return self.browser.toPlainText()

    # ------------------------------------------------------------------ html
    def html(self) -> str:
        e = self.explanation
        if e is None:
            return f"<p style='{_LABEL}'>{html.escape(self.message)}</p>"
        parts = [f"<p><b>{html.escape(e.id)}</b> <span style='{_LABEL}'>({e.type})</span></p>"]
        shape = "\u00d7".join(str(d) for d in e.output.value)
        parts.append(_section("Output", shape, _axes_html(e.output.terms)))
        params = [_term_html("", e.params.terms[0])]
        if e.params.note:
            params.append(f"<span style='{_LABEL}'>{html.escape(e.params.note)}</span>")
        parts.append(_section("Parameters", f"{e.params.value:,}", params))
        parts.append(_section("MACs", f"{e.macs.value:,}", [_term_html("", e.macs.terms[0])]))
        parts.append(_section("Memory", f"{human_bytes(e.memory.value)} per sample",
                              [_term_html("", e.memory.terms[0], " B")]))
        rf = e.receptive_field
        if rf.value is None:
            parts.append(_section("Receptive field", "whole input",
                                  [f"<span style='{_LABEL}'>{html.escape(rf.formula)}</span>"]))
        else:
            lines = _axes_html(rf.terms) + _axes_html(e.jump.terms, "jump ")
            if len(e.rf_growth) > 1:
                path = growth_text(e.rf_growth, limit=8).replace(" -> ", " \u2192 ")
                lines.append(f"<span style='{_LABEL}'>growth</span> {html.escape(path)}")
            parts.append(_section("Receptive field", f"{_pair(rf.value)} px", lines))
        if e.branches:
            table = branch_table(e)
            parts.append(f"<p><b>Branches</b> <span style='{_LABEL}'>(they sum to the totals)"
                         f"</span></p><pre style='{_MONO};font-size:8pt'>"
                         + html.escape("\n".join(table)) + "</pre>")
        for note in e.notes:
            parts.append(f"<p style='{_LABEL}'>{html.escape(note)}</p>")
        return "".join(parts)


def _section(title: str, value: str, lines: list[str]) -> str:
    body = "".join(f"<div style='margin-left:8px;margin-top:2px'>{line}</div>"
                   for line in lines)
    return f"<p style='margin-bottom:0'><b>{title}</b> &nbsp;{html.escape(value)}</p>{body}"


def _term_html(name: str, term: Term, unit: str = "") -> str:
    """``name  formula = value`` in monospace, the note dimmed on the line below."""
    value = num(term.value) + unit
    body = f"{term.formula} = {value}" if term.formula and term.formula != value else value
    label = f"<span style='{_LABEL}'>{html.escape(name)}</span> " if name else ""
    note = (f"<br><span style='{_LABEL};font-size:8pt'>{html.escape(term.note)}</span>"
            if term.note else "")
    return f"{label}<span style='{_MONO}'>{html.escape(body)}</span>{note}"


def _axes_html(terms: list[Term], prefix: str = "") -> list[str]:
    """One line per axis; height and width share one when their arithmetic is the same."""
    lines, i = [], 0
    while i < len(terms):
        term = terms[i]
        if (term.name == "height" and i + 1 < len(terms) and terms[i + 1].name == "width"
                and terms[i + 1].text() == term.text()):
            lines.append(_term_html(f"{prefix}height, width", term))
            i += 2
            continue
        lines.append(_term_html(prefix + term.name, term))
        i += 1
    return lines


def _pair(value: list[float]) -> str:
    h, w = value
    return num(h) if h == w else f"{num(h)}\u00d7{num(w)}"
