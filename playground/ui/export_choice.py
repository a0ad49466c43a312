"""File > Export after a training run: the run's weights or the untrained graph, never silently.

The editor's graph is untrained; a finished run in the training panel holds trained weights (of
the graph as it was when the run started). When both exist, the user chooses; the default is the
run's weights, since exporting an untrained model by mistake gives chance-level predictions.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

RUN, UNTRAINED = "run", "untrained"


def trained_run(panel: Any) -> Any:
    """The training panel's last run when it has a model to export (and nothing is running)."""
    if panel is None:
        return None
    try:
        if panel.is_running():
            return None
    except Exception:  # noqa: BLE001 - a panel in a broken state offers no run
        return None
    result = getattr(panel, "last_result", None)
    if result is None or not getattr(result, "has_model", False):
        return None
    return result


def run_label(result: Any) -> str:
    name = os.path.basename(str(result.run_dir).rstrip("/")) if result.run_dir else "last run"
    evaluation = result.evaluation or {}
    acc = evaluation.get("accuracy")
    return f"{name} ({evaluation.get('split', 'validation')} accuracy {acc:.1%})" \
        if isinstance(acc, float) else name


def ask_export_weights(parent: QWidget | None, result: Any, what: str) -> str | None:
    """``RUN``, ``UNTRAINED`` or None (cancelled): which weights ``what`` should carry."""
    box = QMessageBox(parent)
    box.setObjectName("exportWeightsQuestion")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Export which weights?")
    box.setText(f"Export {what} with the weights of run {run_label(result)}, or the untrained "
                "model of the current graph?")
    box.setInformativeText("The run's weights belong to the graph as it was when the run "
                           "started.")
    run_button = box.addButton("Weights of the run", QMessageBox.ButtonRole.AcceptRole)
    untrained_button = box.addButton("Untrained", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(run_button)
    box.exec()
    clicked = box.clickedButton()
    if clicked is run_button:
        return RUN
    if clicked is untrained_button:
        return UNTRAINED
    return None
