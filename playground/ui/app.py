"""Starting the desktop app, or rendering its window to a PNG (``open --screenshot``).

Only PySide6 and the pure core are imported here; TensorFlow stays out of start-up.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def _icon():
    from playground.ui.icons import app_icon

    return app_icon()


def make_window(path: str | None = None, offer_recovery: bool = True):
    """Create the application (if needed) and the main window, with ``path`` loaded.

    Raises ``GraphFileError`` for a file that cannot be opened (the CLI maps it to exit codes).
    """
    from playground.core import fileformat
    from playground.ui.main_window import MainWindow, application

    app = application()
    # Qt's own file dialogs follow the app's theme (a desktop's native one may not: pale text on
    # white in a dark app) and start where file_dialogs says.
    from PySide6.QtCore import Qt

    app.setAttribute(Qt.ApplicationAttribute.AA_DontUseNativeDialogs, True)
    if not app.styleSheet():
        from playground.ui import themes

        themes.apply(app, themes.preferred_choice())  # dark unless View > Theme says otherwise
        app.setWindowIcon(_icon())
    graph = fileformat.load(path) if path else None
    window = MainWindow(graph, str(Path(path).resolve()) if path else None,
                        offer_recovery=offer_recovery)
    if path:
        window._add_recent(str(Path(path).resolve()))
    return app, window


def open_start_document(window) -> bool:
    """With no file and nothing recovered, start on an untitled copy of LeNet-5: the digits
    dataset is the training panel's default, so a first-time user (even offline) can press Train.
    """
    from playground.core.presets import preset_path

    if len(window.doc.graph):
        return False
    try:
        path = preset_path("lenet5")
    except KeyError:
        return False
    return window.open_file(path, as_copy=True, ask=False)


def apply_view(window, select: str | None = None, tab: str | None = None) -> None:
    """``open --select NODE --tab explain``: select a node and raise a panel. An unknown node is
    a bad argument (``ValueError`` naming it and the graph's nodes)."""
    if select is not None:
        if select not in window.doc.graph:
            known = ", ".join(window.doc.graph.node_ids[:12])
            raise ValueError(f"--select {select}: no such node (nodes: {known})")
        window.scene.select_nodes([select])
    if tab in ("parameters", "explain"):
        window.inspector_dock.raise_()
        tabs = window.inspector_tabs
        tabs.setCurrentWidget(tabs.explain if tab == "explain" else tabs.inspector)
    elif tab == "layers":
        window.layers_dock.raise_()


def run(path: str | None = None, select: str | None = None, tab: str | None = None) -> int:
    app, window = make_window(path)
    if path is None:
        open_start_document(window)
    try:
        apply_view(window, select, tab)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    window.show()
    window.view.fit_all()
    _leave_source_folder()
    code = int(app.exec())
    # The window asked about unsaved work before closing and autosave is flushed; leave now.
    # Running the C++ exit handlers after Python's finalization lets a Qt global static destroy
    # objects whose Python wrappers are already gone (a segfault at exit, seen after training:
    # Shiboken::Object::destroy with no thread state), which would turn a clean quit into a crash.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def screenshot(path: str | None, out: str, size: tuple[int, int] = (1400, 900),
               select: str | None = None, tab: str | None = None) -> int:
    """Render the real main window with the graph (fitted to the view) to ``out`` (PNG), or,
    for an ``out`` ending in .svg, the diagram alone as a vector image."""
    from PySide6.QtCore import QCoreApplication

    app, window = make_window(path, offer_recovery=False)
    window.persist_settings = False  # a scripted render must not move the user's window
    window.resize(*size)
    try:
        apply_view(window, select, tab)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        window.close()
        return 2
    window.show()
    for _ in range(3):
        QCoreApplication.processEvents()
    window.doc.current_analysis()
    window.view.fit_all()
    QCoreApplication.processEvents()
    if out.lower().endswith(".svg"):
        return _save_diagram(window, out)
    if not save_window_png(window, out):
        return 1
    window.doc.undo_stack.setClean()
    window.close()
    return 0


def save_window_png(window, out: str) -> bool:
    """The window as drawn now, written to ``out`` as PNG atomically (a half-written picture
    never replaces a good one); False, with the error printed, when it cannot be encoded."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    from playground.core.atomic import write_bytes_atomic

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not window.grab().toImage().save(buffer, "PNG"):
        print(f"error: could not encode the screenshot for {out}", file=sys.stderr)
        return False
    buffer.close()
    write_bytes_atomic(out, bytes(data.data()))
    return True


def _save_diagram(window, out: str) -> int:
    from playground.core.errors import PlaygroundError
    from playground.ui.diagram_export import save_diagram

    try:
        save_diagram(window.scene, out, title=window.doc.graph.name)
    except PlaygroundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        window.doc.undo_stack.setClean()
        window.close()
    return 0


def prefer_offscreen() -> None:
    """Screenshots need no display: render offscreen unless a platform was chosen, and keep the
    offscreen plugin's harmless "does not support propagateSizeHints()" line out of the output."""
    if "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import qInstallMessageHandler

    def handler(_mode, _context, message: str) -> None:
        if "propagateSizeHints" not in message:
            sys.stderr.write(message + "\n")

    qInstallMessageHandler(handler)


def _leave_source_folder() -> None:
    """Started from the clone (``python main.py``), the working directory is the app's source
    folder, where a dialog given no folder would open; move to the user's documents (or the
    last folder used). Paths from the command line are already absolute by now."""
    try:
        if Path.cwd().resolve() != RESOURCES.parent.resolve():
            return
        from playground.ui.file_dialogs import start_dir

        os.chdir(start_dir())
    except OSError:
        pass
