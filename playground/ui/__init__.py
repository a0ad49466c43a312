"""The desktop editor (PySide6). Nothing outside ``playground.ui`` imports it.

The window only mirrors the document model (``playground.core.graph.Graph``): edits go through core
commands wrapped for ``QUndoStack``, and every view redraws from the model and the latest analysis.
"""

from playground.ui._compat import immortalize_none

immortalize_none()
