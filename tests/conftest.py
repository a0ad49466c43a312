"""Suite-wide settings: headless Qt, quiet TensorFlow, no Keras downloads, no leaked threads."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

import hypothesis
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PLAYGROUND_NO_SETTINGS", "1")  # tests never touch the user's QSettings
os.environ.setdefault("KERAS_HOME", os.path.join(os.path.dirname(__file__), ".keras-test-home"))
# The `train` command trains in a thread of the test's process, not a child (each child costs
# ~8 s of TensorFlow import); tests of the child itself unset it (tests/child_hooks.py).
os.environ.setdefault("PLAYGROUND_TRAIN_IN_PROCESS", "1")
# Tests never write into the user's real autosave or runs folders (a test graph left in the real
# autosave folder was offered for recovery at the next start). Set, not defaulted: a user's own
# settings must not leak into the suite either. Fixtures may point them elsewhere again.
_SCRATCH = tempfile.mkdtemp(prefix="playground-tests-")
os.environ["PLAYGROUND_AUTOSAVE_DIR"] = os.path.join(_SCRATCH, "autosave")
os.environ["PLAYGROUND_RUNS_DIR"] = os.path.join(_SCRATCH, "runs")
atexit.register(shutil.rmtree, _SCRATCH, True)

# Property tests draw the same examples on every run (CI must not pass on one run and fail on
# the next); a long random search belongs in bench/.
hypothesis.settings.register_profile("playground", derandomize=True, database=None,
                                     print_blob=True)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "playground"))


@pytest.fixture(autouse=True)
def _no_network_checks(monkeypatch):
    """Tests never ask the network whether a download host answers, so an offline machine and
    an online one run the same paths: the twin-download check hears "no certain answer" (as with
    a proxy) and Keras' (patched) download decides, unless a test sets its own answer."""
    from playground.core import twin_download

    monkeypatch.setattr(twin_download, "unreachable", lambda url, seconds=3.0: None)


@pytest.fixture(autouse=True)
def _no_running_qthreads():
    """Fail any test that leaves a QThread (or a training worker thread) running."""
    yield
    if "playground.training.worker" in sys.modules:
        from playground.training import worker

        if worker.live_threads():
            count = worker.stop_all(timeout=60)
            pytest.fail(f"test left {count} training worker thread(s) running")
    if "playground.training.session" in sys.modules:
        from playground.training import session

        if session.live_sessions():
            count = session.stop_all(timeout=30)
            pytest.fail(f"test left {count} training session(s) running")
    if "playground.inspect.service" in sys.modules:
        from playground.inspect import service

        if service.live_services():
            count = service.close_all()
            pytest.fail(f"test left {count} inference process(es) running")
    if "PySide6.QtCore" not in sys.modules:
        return
    from PySide6.QtCore import QThread
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return
    running = [t for t in app.findChildren(QThread) if t.isRunning()]
    leaked = getattr(QThread, "_playground_live", None)
    live = [t for t in (leaked or set()) if t.isRunning()]
    if running or live:
        for t in running + live:
            t.quit()
            t.wait(5000)
        pytest.fail(f"test left {len(running) + len(live)} QThread(s) running")


@pytest.fixture(autouse=True)
def _collect_qt_garbage_on_the_main_thread(request):
    """Widgets a test left in reference cycles are freed here, on the GUI thread.

    Left for the cycle collector, they could be freed later from a worker thread of another test,
    which deadlocks Qt (see playground/ui/gc_guard.py). Only tests that had a Qt application
    can leave widgets; a full collection with TensorFlow loaded costs ~0.15 s, so others skip it.
    """
    yield
    if "PySide6.QtCore" in sys.modules and {"qtbot", "qapp"} & set(request.fixturenames):
        import gc

        gc.collect()


_exit_status: list[int] = []


def pytest_sessionfinish(session, exitstatus):
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """After the summary is printed, leave without the C++ exit handlers once Qt was loaded.

    With Qt and TensorFlow both loaded, a Qt global static destroyed after Python's finalization
    calls back into a Python wrapper that no longer exists (segfault at exit, exit code 139, after
    every test passed). The app's own quit path does the same (playground/ui/app.py).
    """
    if "PySide6.QtCore" in sys.modules and _exit_status:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])
