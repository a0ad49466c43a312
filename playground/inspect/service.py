"""Inference in a child process: the editor asks, a separate interpreter runs TensorFlow.

Why a process and not a thread: loading TensorFlow's native library holds the GIL for ~2 s, so a
background *thread* still froze the window the first time someone drew a digit; a full cycle
collection over TensorFlow's half a million objects took ~0.7 s on the GUI thread; and a crash
inside TensorFlow would end the editor. Here the editor never imports TensorFlow for predictions,
maps or evaluations; it sends small requests (a picture as uint8 pixels) over a socket pair and
reads small answers.

Qt-free. The Predict dock polls :meth:`InferenceService.poll` from a timer; scripts and the bench
use the blocking :meth:`InferenceService.call`::

    from playground.inspect.service import InferenceService, run_source
    with InferenceService() as service:
        info = service.call("load", {"spec": run_source("runs/lenet")})
        answer = service.call("predict", {"model": info.model_id, "pixels": image})

Requests go in *lanes* ("model", "predict", "maps", "eval", "data"): each lane has at most one request
in the child and one waiting here; a newer request replaces the waiting one (a stroke sends many,
only the newest matters), so the child never queues stale work. The child works the lanes in
parallel threads, so a slow Grad-CAM never holds up the live bars.

The model is described by a plain dict, a *source spec*, resolved in the child by one function
(``service_child.resolve_source``); the builders below make them. The child is started on the
first request, with ``python -m playground.inspect.service_child`` (a fresh interpreter, like the
training child); if it dies (a crash, a kill, TensorFlow missing) every open request gets a clear
error and the next request starts a new one.

A child can also hang without dying (a deadlock inside TensorFlow, a huge model's first call
swapping): its requests would stay open for ever. So every request has a *deadline* suited to its
kind (:class:`Deadlines`): generous for what traces or loads (a model, a model's first
prediction, a node's first maps, a dataset's first sample, an evaluation), short for the calls
that follow, scaled by the model's own measured forward pass. The reader thread watches them;
past one, the child is killed and every open request is answered "the inference process did not
answer within N s", so the next request starts a fresh child. Nothing of this runs on the
caller's thread: the editor never waits for the child.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.core.graph import Graph

LANES = ("model", "predict", "maps", "eval", "data")
CHILD_MODULE = "playground.inspect.service_child"
QUIT_GRACE = 2.0        # seconds the child has to leave after "quit" before it is terminated
WATCH_EVERY = 0.1       # seconds between the reader thread's looks at the open requests' deadlines


@dataclass(frozen=True)
class Deadlines:
    """Seconds a request may stay unanswered before its child is taken for hung and killed.

    Why these sizes: a *first* call traces a ``tf.function`` (or loads a model or a dataset),
    which for a big model on a busy CPU takes tens of seconds and, swapping, minutes; a *later*
    call of the same model is one forward pass (maps: one backward pass too), milliseconds to a
    second. So first calls get a generous fixed allowance, or a multiple of the model's measured
    load time when that is longer; later calls get a short floor plus a multiple of the model's
    measured forward pass (``ModelInfo.forward_s``), the model's size as this machine feels it,
    with room for a training run sharing the cores."""

    load: float = 300.0               # build a model (import TensorFlow...), load a dataset
    first: float = 120.0              # a model's first predict, a node's first maps
    first_per_load: float = 8.0       # ... or this many times the model's load time if longer
    later: float = 10.0               # a later predict or sample (maps: ``maps_factor`` times)
    later_per_forward: float = 100.0  # ... plus this many forward passes of the model
    maps_factor: float = 3.0          # maps: a forward and a backward pass, every node's maps
    evaluate: float = 900.0           # per run compared: a model and ~64 held-out passes

    def seconds(self, op: str, first: bool, info: ModelInfo | None,
                args: dict[str, Any]) -> float:
        """The deadline of one request (``info``: the model it names, when known)."""
        if op == "load" or (op == "sample" and first):      # a dataset's first sample loads it
            return self.load
        if op == "evaluate":
            runs = args.get("runs")
            return self.evaluate * max(1, len(runs) if isinstance(runs, (list, tuple)) else 1)
        if first or op not in ("predict", "maps", "sample"):
            loaded_in = info.seconds if info is not None else 0.0
            return max(self.first, self.first_per_load * loaded_in)
        forward = info.forward_s if info is not None and op != "sample" else 0.0
        weight = self.maps_factor if op == "maps" else 1.0
        return weight * (self.later + self.later_per_forward * forward)


DEADLINES = Deadlines()


# ---------------------------------------------------------------------------- source specs
def run_source(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """A run folder the app made: its graph, its latest weights and its class names."""
    return {"kind": "run", "path": os.fspath(run_dir)}


def keras_source(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A ``.keras`` file, read by the safe importer (never ``load_model``)."""
    return {"kind": "keras", "path": os.fspath(path)}


def graph_source(graph: Graph, graph_path: str | os.PathLike[str] | None = None,
                 label: str = "") -> dict[str, Any]:
    """A graph held in memory (the canvas). Its ``weights`` key, when it names a file beside
    ``graph_path``, gives the weights (``core.graph_weights``); otherwise they are random."""
    from playground.core.fileformat import to_document

    return {"kind": "graph", "document": to_document(graph),
            "path": os.fspath(graph_path) if graph_path else None,
            "label": label or f"{graph.name} (on the canvas)"}


def imagenet_source(graph: Graph) -> dict[str, Any]:
    """A keras.applications twin on the canvas with its ImageNet weights, preprocessing and
    1,000 class names (``playground.inspect.twin.load_imagenet_twin`` in the child)."""
    from playground.core.fileformat import to_document

    return {"kind": "imagenet", "document": to_document(graph),
            "label": f"{graph.name} (ImageNet weights)"}


# ---------------------------------------------------------------------------- answers
@dataclass
class ModelInfo:
    """What the editor needs to know about the model loaded in the child (no Keras object)."""

    model_id: int
    kind: str
    source: str
    graph_name: str
    weights: str | None
    class_names: list[str]
    input_shape: tuple[int, int, int]
    output_shape: tuple[int, ...]           # the first output, without the batch axis
    nodes: list[str]
    dataset: str = ""
    pipeline: str = "arrays"
    raw_size: tuple[int, int] | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0                    # the child's time to build and warm up the model
    forward_s: float = 0.0                  # one traced forward pass of one image (deadlines)

    @property
    def random(self) -> bool:
        return self.weights is None

    @property
    def num_classes(self) -> int:
        return int(self.output_shape[-1])

    @property
    def segmenter(self) -> bool:
        """An H x W x K output: a class (or a sigmoid mask) per pixel."""
        return len(self.output_shape) == 3

    def class_name(self, index: int) -> str:
        if 0 <= index < len(self.class_names):
            return str(self.class_names[index])
        return str(index)


@dataclass
class Reply:
    """The answer to one request. ``error`` is a message for the user; ``crashed`` says the
    child died or was killed for not answering (the next request starts a new one); ``hung``
    says it was killed for not answering in time; ``ms`` is the round trip."""

    id: int
    lane: str
    op: str
    result: Any = None
    error: str = ""
    crashed: bool = False
    ms: float = 0.0
    child_ms: float = 0.0
    stale: bool = False          # asked of a model replaced meanwhile: nobody needs it
    hung: bool = False           # the child did not answer within a deadline and was killed

    @property
    def ok(self) -> bool:
        return not self.error


class ServiceError(Exception):
    """A blocking :meth:`InferenceService.call` failed; the message is the child's."""


@dataclass
class _Ticket:
    id: int
    lane: str
    op: str
    args: dict[str, Any]
    on_done: Callable[[Reply], None] | None
    sent_at: float = 0.0
    generation: int = 0                # the child it was sent to
    deadline: float = 0.0              # seconds it may stay unanswered (Deadlines)
    warm_key: tuple[Any, ...] = ()     # answered once, the same key is a later call


# ---------------------------------------------------------------------------- the service
_LIVE: weakref.WeakSet[InferenceService] = weakref.WeakSet()


def live_services() -> list[InferenceService]:
    """Services whose child process is running (the test suite's leak check)."""
    return [s for s in list(_LIVE) if s.alive]


def close_all(timeout: float = QUIT_GRACE) -> int:
    """Close every live service; returns how many had a child running."""
    services = live_services()
    for service in services:
        service.close(timeout)
    return len(services)


def _child_env() -> dict[str, str]:
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


class InferenceService:
    """One child process answering inference requests; see the module docstring.

    ``on_exit(reply)`` (optional) runs in :meth:`poll` when a child ended unexpectedly, even
    with no request open (killed while idle): ``reply.error`` says how. The model it held is
    gone; the next request starts a new child, which must load one again.

    ``deadlines`` (default: the module's ``DEADLINES``, read at each request) says how long
    each request may stay unanswered before the child is killed as hung."""

    def __init__(self, on_exit: Callable[[Reply], None] | None = None,
                 deadlines: Deadlines | None = None) -> None:
        self.on_exit = on_exit
        self.deadlines = deadlines
        self._popen: subprocess.Popen | None = None
        self._conn: Any = None
        self._send_lock = threading.Lock()
        self._spawn_lock = threading.Lock()        # one child at a time (GUI and reader threads)
        self._lock = threading.Lock()              # the lanes' state
        self._replies: queue.SimpleQueue[tuple[Reply, Any]] = queue.SimpleQueue()
        self._in_flight: dict[str, _Ticket] = {}
        self._waiting: dict[str, _Ticket] = {}
        self._next_id = 0
        self._generation = 0                       # bumped for every child started
        self._ended: set[int] = set()              # generations whose reader has finished
        self.starts = 0                            # children started so far (tests, bench)
        self.last_exit: str = ""                   # how the last child ended, when it crashed
        self._closing = False
        self._models: dict[Any, ModelInfo] = {}     # the current child's models, by id
        self._warm: set[tuple[Any, ...]] = set()    # what the current child has traced/loaded
        self._hung: dict[int, str] = {}             # generation -> why it was killed

    # ------------------------------------------------------------------ process
    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def _ensure_child(self) -> None:
        with self._spawn_lock:
            if not (self.alive and self._conn is not None):
                self._spawn()

    def _spawn(self) -> None:
        from multiprocessing.connection import Connection

        parent_sock, child_sock = socket.socketpair()
        try:
            popen = subprocess.Popen(
                [sys.executable, "-m", CHILD_MODULE, str(child_sock.fileno())],
                pass_fds=(child_sock.fileno(),), stdin=subprocess.DEVNULL, env=_child_env(),
                start_new_session=True)
        finally:
            child_sock.close()
        self._popen = popen
        self._conn = Connection(parent_sock.detach())
        with self._lock:
            self._models.clear()        # a new interpreter has traced and loaded nothing
            self._warm.clear()
        self._generation += 1
        self.starts += 1
        self._closing = False
        _LIVE.add(self)
        threading.Thread(target=self._read, args=(self._conn, popen, self._generation),
                         name="playground-inference-reader", daemon=True).start()

    def close(self, timeout: float = QUIT_GRACE) -> None:
        """Ask the child to leave; terminate, then kill it if it does not. Open requests are
        dropped (nobody is waiting for them any more)."""
        popen, conn = self._popen, self._conn
        self._closing = True
        with self._lock:
            self._in_flight.clear()
            self._waiting.clear()
        if popen is None:
            return
        self._send(conn, {"op": "quit"})
        try:
            popen.wait(timeout)
        except subprocess.TimeoutExpired:
            popen.terminate()
            try:
                popen.wait(1.0)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()
        if conn is not None:     # None: the child had died and the reader closed its end
            try:
                conn.close()
            except OSError:
                pass

    def kill(self) -> None:
        """End the child at once (tests: a crash as the user would see it)."""
        if self.alive:
            self._popen.kill()

    def __enter__(self) -> InferenceService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ requests
    def submit(self, lane: str, op: str, args: dict[str, Any] | None = None,
               on_done: Callable[[Reply], None] | None = None) -> int:
        """Queue a request in ``lane``; returns its id. ``on_done(reply)`` runs in
        :meth:`poll` (on the caller's thread). A request still waiting in the lane is replaced
        (its ``on_done`` never runs)."""
        if lane not in LANES:
            raise ValueError(f"unknown lane {lane!r}; lanes: {', '.join(LANES)}")
        with self._lock:
            self._next_id += 1
            ticket = _Ticket(self._next_id, lane, op, dict(args or {}), on_done)
            if lane in self._in_flight:
                self._waiting[lane] = ticket
                return ticket.id
        self._dispatch(ticket)
        return ticket.id

    def busy(self, lane: str | None = None) -> bool:
        """Requests sent or waiting (in ``lane``, or in any), or replies not polled yet."""
        with self._lock:
            lanes = LANES if lane is None else (lane,)
            pending = any(name in self._in_flight or name in self._waiting for name in lanes)
        return pending or not self._replies.empty()

    def poll(self) -> list[Reply]:
        """Every reply received since the last call, after running its ``on_done``."""
        out: list[Reply] = []
        while True:
            try:
                reply, callback = self._replies.get_nowait()
            except queue.Empty:
                break
            out.append(reply)
            if callback is not None:
                callback(reply)
        return out

    def call(self, op: str, args: dict[str, Any] | None = None, lane: str | None = None,
             timeout: float | None = None) -> Any:
        """Blocking request (scripts, the bench): the result, or ``ServiceError``. Do not mix
        with :meth:`poll` on another thread. Without ``timeout`` it waits for the answer, which
        the request's deadline bounds (a hung child is killed and the call fails)."""
        lane = lane or {"load": "model", "evaluate": "eval", "sample": "data"}.get(op, op)
        done: list[Reply] = []
        self.submit(lane, op, args, done.append)
        end = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while not done:
            if time.monotonic() > end:
                raise ServiceError(f"no answer to {op} within {timeout:.0f} s")
            self.poll()
            if not done:
                time.sleep(0.002)
        if done[0].error:
            raise ServiceError(done[0].error)
        return done[0].result

    # ------------------------------------------------------------------ internals
    def _dispatch(self, ticket: _Ticket) -> None:
        try:
            self._ensure_child()
        except OSError as exc:
            self._replies.put((Reply(ticket.id, ticket.lane, ticket.op,
                                     error=f"cannot start the inference process: {exc}",
                                     crashed=True), ticket.on_done))
            return
        with self._lock:
            ticket.generation = self._generation
            gone = ticket.generation in self._ended
            if not gone:
                ticket.warm_key = _warm_key(ticket.op, ticket.args)
                info = self._models.get(_plain(ticket.args.get("model")))
                ticket.deadline = (self.deadlines or DEADLINES).seconds(
                    ticket.op, ticket.warm_key not in self._warm, info, ticket.args)
                self._in_flight[ticket.lane] = ticket
        if gone:   # the child died between the check above and now: answer as the reader would
            self._replies.put((Reply(ticket.id, ticket.lane, ticket.op, crashed=True,
                                     error=f"the inference process ended unexpectedly "
                                           f"({self.last_exit or 'while starting'}); the next "
                                           "request starts a new one"), ticket.on_done))
            return
        ticket.sent_at = time.perf_counter()
        # A failed send needs nothing here: the reader sees the child's end and answers every
        # open request of that child.
        self._send(self._conn, {"id": ticket.id, "lane": ticket.lane, "op": ticket.op,
                                "args": ticket.args})

    def _send(self, conn: Any, message: dict[str, Any]) -> bool:
        with self._send_lock:
            try:
                conn.send(message)
                return True
            except (OSError, ValueError, EOFError, AttributeError):
                return False

    def _answered(self, raw: dict[str, Any]) -> None:
        with self._lock:
            ticket = next((t for t in self._in_flight.values() if t.id == raw.get("id")), None)
            if ticket is None:
                return                                  # closed meanwhile
            del self._in_flight[ticket.lane]
            follow = self._waiting.pop(ticket.lane, None)
            if ticket.generation == self._generation and not raw.get("error"):
                self._warm.add(ticket.warm_key)     # answered: traced, loaded
                result = raw.get("result")
                if ticket.op == "load" and isinstance(result, ModelInfo):
                    self._models[result.model_id] = result
        ms = (time.perf_counter() - ticket.sent_at) * 1000.0
        reply = Reply(ticket.id, ticket.lane, ticket.op, raw.get("result"),
                      str(raw.get("error") or ""), False, ms, float(raw.get("ms") or 0.0),
                      bool(raw.get("stale")))
        self._replies.put((reply, ticket.on_done))
        if follow is not None:
            self._dispatch(follow)

    def _overdue(self, generation: int) -> _Ticket | None:
        """The first open request of child ``generation`` past its deadline, if any."""
        now = time.perf_counter()
        with self._lock:
            for ticket in self._in_flight.values():
                if (ticket.generation == generation and ticket.sent_at
                        and now - ticket.sent_at > ticket.deadline):
                    return ticket
        return None

    def _kill_hung(self, popen: subprocess.Popen, generation: int, ticket: _Ticket) -> None:
        """Kill a child that let ``ticket`` pass its deadline (its whole process group: it is
        a session leader, and anything it started goes too); the reader then sees its end and
        answers every open request with the reason kept here."""
        self._hung[generation] = (f"did not answer within {ticket.deadline:.0f} s "
                                  f"({OP_WORDS.get(ticket.op, ticket.op)})")
        try:
            os.killpg(popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            try:
                popen.kill()
            except OSError:
                pass

    def _read(self, conn: Any, popen: subprocess.Popen, generation: int) -> None:
        while True:
            try:
                if not conn.poll(WATCH_EVERY):
                    late = None if generation in self._hung else self._overdue(generation)
                    if late is not None:
                        self._kill_hung(popen, generation, late)
                    continue
                raw = conn.recv()
            except (EOFError, OSError):
                break
            except Exception:   # noqa: BLE001 - an answer that cannot be unpickled
                raw = None
            if isinstance(raw, dict):
                self._answered(raw)
        try:
            popen.wait(5.0)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
        if generation == self._generation:
            self._conn = None
        if self._closing and generation == self._generation:
            return
        hung = self._hung.pop(generation, "")
        exit_text = self.last_exit = hung or _exit_text(popen.returncode)
        if hung:
            message = (f"the inference process {hung}; it was stopped, the editor is fine: "
                       "the next request starts a new one")
        else:
            message = (f"the inference process ended unexpectedly ({exit_text}); the editor "
                       "is fine: the next request starts a new one")
        with self._lock:
            self._ended.add(generation)
            lanes = [lane for lane, t in self._in_flight.items() if t.generation == generation]
            open_tickets = [self._in_flight.pop(lane) for lane in lanes]
            open_tickets += [self._waiting.pop(lane) for lane in lanes if lane in self._waiting]
        for ticket in open_tickets:
            self._replies.put((Reply(ticket.id, ticket.lane, ticket.op, error=message,
                                     crashed=True, hung=bool(hung)), ticket.on_done))
        if generation == self._generation:
            # (A newer child already runs: its stale answers tell the caller to reload.)
            self._replies.put((Reply(0, "", "exit", error=message, crashed=True,
                                     hung=bool(hung)), self.on_exit))


OP_WORDS = {"load": "loading the model", "predict": "a prediction", "maps": "the maps",
            "sample": "a dataset sample", "evaluate": "the evaluation"}


def _warm_key(op: str, args: dict[str, Any]) -> tuple[Any, ...]:
    """What a request needs traced or loaded in the child: once answered, a request with the
    same key is a *later* call (short deadline). A model's predictions share one trace; maps
    are traced per model (per node for the biggest ones, ``maps.Inspector``); samples load
    their dataset once per input size."""
    if op == "maps":
        return (op, _plain(args.get("model")), _plain(args.get("node")))
    if op == "sample":
        return (op, _plain(args.get("dataset")), _plain(args.get("input_shape")))
    return (op, _plain(args.get("model")))


def _plain(value: Any) -> Any:
    """A hashable stand-in for a request argument (a shape list becomes a tuple)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return repr(value)


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        from playground.training.session import _signal_text

        return _signal_text(code)
    return f"exit code {code}"
