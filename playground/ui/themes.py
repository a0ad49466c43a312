"""The app's two themes, dark (the default) and light, or the desktop's choice ("system").

One :class:`Theme` names every colour a panel uses; :func:`apply` turns it into the QPalette
(which also reaches what no stylesheet names: text views, combo-box popups, Qt's file dialogs)
and the stylesheet (``resources/style.qss`` with ``$name`` slots), and restyles the pyqtgraph
plots. Every text colour is chosen to reach WCAG AA (4.5:1) on the background it is drawn on;
``tests/firsthour/test_theme_contrast.py`` checks the pairs and the rendered widgets. The canvas
keeps its own dark colours (playground.ui.theme) in both themes, like a slide on a light desk.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from string import Template

from PySide6.QtGui import QColor, QGuiApplication, QPalette

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
CHOICES = ("dark", "light", "system")
SETTINGS_KEY = "view/theme"


@dataclass(frozen=True)
class Theme:
    name: str
    window: str          # window and dialog background
    panel: str           # dock titles, menus, status bar, tabs
    base: str            # text views, lists, trees
    alt_base: str
    input: str           # line edits, spin boxes, combo boxes
    text: str
    subtext: str         # hints, headers: muted but still AA on every background above
    disabled_text: str   # disabled controls (WCAG exempts them; still readable)
    border: str
    focus: str
    button: str
    button_hover: str
    tab_selected: str
    highlight: str
    highlight_text: str
    link: str
    error: str           # error text (status lines, problems)
    ok: str              # "valid" text
    warning: str
    ok_button: str       # the Problems panel's Fix button (white text on it)
    ok_button_hover: str
    plot_bg: str
    plot_fg: str         # axis lines, tick labels, plot titles

    def colors(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if k != "name"}


DARK = Theme(
    name="dark", window="#1e2125", panel="#2a2e34", base="#24282d", alt_base="#272b31",
    input="#2d3238", text="#e6ebf0", subtext="#aab4c0", disabled_text="#a6afb9",
    border="#46525f", focus="#5b8cc8", button="#34404d", button_hover="#3d4b5a",
    tab_selected="#3a4049", highlight="#3d5a80", highlight_text="#ffffff", link="#8cc4ff",
    error="#ff8080", ok="#6fdc6f", warning="#f0c040", ok_button="#2f6f4f",
    ok_button_hover="#357a57", plot_bg="#24282d", plot_fg="#c7d0da")

LIGHT = Theme(
    name="light", window="#f3f4f6", panel="#e4e7eb", base="#ffffff", alt_base="#f4f6f8",
    input="#ffffff", text="#1b2026", subtext="#4a5561", disabled_text="#5f6a75",
    border="#aab3be", focus="#2f6db5", button="#e9ecf0", button_hover="#dce1e7",
    tab_selected="#ffffff", highlight="#2f6db5", highlight_text="#ffffff", link="#1a5fb4",
    error="#b00020", ok="#17692b", warning="#7a5600", ok_button="#2f6f4f",
    ok_button_hover="#357a57", plot_bg="#ffffff", plot_fg="#2b323a")

THEMES = {"dark": DARK, "light": LIGHT}
_current: Theme = DARK
_choice = "dark"


def current() -> Theme:
    """The theme in use (dark until :func:`apply` says otherwise)."""
    return _current


def choice() -> str:
    return _choice


def system_prefers_dark() -> bool:
    """The desktop's colour scheme (Qt 6.5+), else whether its palette is dark."""
    app = QGuiApplication.instance()
    if app is None:
        return True
    try:
        from PySide6.QtCore import Qt

        scheme = QGuiApplication.styleHints().colorScheme()
        if scheme == Qt.ColorScheme.Dark:
            return True
        if scheme == Qt.ColorScheme.Light:
            return False
    except AttributeError:
        pass
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def resolve(name: str) -> Theme:
    """``dark``, ``light`` or ``system`` (unknown names: dark)."""
    if name == "system":
        return DARK if system_prefers_dark() else LIGHT
    return THEMES.get(name, DARK)


def stylesheet(theme: Theme) -> str:
    try:
        template = (RESOURCES / "style.qss").read_text(encoding="utf-8")
    except OSError:
        return ""
    return Template(template).safe_substitute(theme.colors())


def palette(theme: Theme) -> QPalette:
    """The QPalette for ``theme`` (Fusion draws every widget from it)."""
    R, G = QPalette.ColorRole, QPalette.ColorGroup  # noqa: N806
    pal = QPalette()
    roles = {
        R.Window: theme.window, R.WindowText: theme.text, R.Base: theme.base,
        R.AlternateBase: theme.alt_base, R.Text: theme.text, R.Button: theme.button,
        R.ButtonText: theme.text, R.BrightText: theme.error, R.Highlight: theme.highlight,
        R.HighlightedText: theme.highlight_text, R.ToolTipBase: theme.panel,
        R.ToolTipText: theme.text, R.PlaceholderText: theme.subtext, R.Link: theme.link,
        R.LinkVisited: theme.link, R.Light: theme.button_hover, R.Midlight: theme.button,
        R.Mid: theme.border, R.Dark: theme.panel, R.Shadow: "#000000",
    }
    for role, color in roles.items():
        pal.setColor(role, QColor(color))
    for role in (R.WindowText, R.Text, R.ButtonText):
        pal.setColor(G.Disabled, role, QColor(theme.disabled_text))
    return pal


def preferred_choice() -> str:
    """The saved choice (View > Theme), ``$PLAYGROUND_THEME``, else dark."""
    env = os.environ.get("PLAYGROUND_THEME", "")
    if env in CHOICES:
        return env
    if os.environ.get("PLAYGROUND_NO_SETTINGS") == "1":
        return "dark"
    from PySide6.QtCore import QSettings

    value = QSettings("KerasPlayground", "KerasArchitecturePlayground").value(SETTINGS_KEY, "")
    return value if isinstance(value, str) and value in CHOICES else "dark"


def save_choice(name: str) -> None:
    if os.environ.get("PLAYGROUND_NO_SETTINGS") == "1":
        return
    from PySide6.QtCore import QSettings

    QSettings("KerasPlayground", "KerasArchitecturePlayground").setValue(SETTINGS_KEY, name)


def apply(app, name: str = "dark") -> Theme:
    """Theme the whole application (``dark``, ``light`` or ``system``) and the open plots."""
    global _current, _choice
    theme = resolve(name)
    _current, _choice = theme, name if name in CHOICES else "dark"
    app.setStyle("Fusion")
    app.setPalette(palette(theme))
    app.setStyleSheet(stylesheet(theme))
    import pyqtgraph as pg

    pg.setConfigOption("background", theme.plot_bg)
    pg.setConfigOption("foreground", theme.plot_fg)
    for widget in app.allWidgets():
        restyle = getattr(widget, "apply_theme", None)
        if callable(restyle):
            restyle(theme)
    return theme


def style_plot(plot, theme: Theme | None = None) -> None:
    """A pyqtgraph PlotItem in the theme's colours: axes, tick labels and title."""
    import pyqtgraph as pg

    theme = theme or current()
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(theme.plot_fg))
        axis.setTextPen(pg.mkPen(theme.plot_fg))
    title = plot.titleLabel
    if title is not None and title.text:
        title.setText(title.text, color=theme.plot_fg)
