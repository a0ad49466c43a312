"""The editor tests' fixtures (a main window with scripted message boxes), shared here."""

from tests.ui.conftest import answers, autosave_dir, window  # noqa: F401
