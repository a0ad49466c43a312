"""Can a twin's ImageNet weights file be had: cached, or its download host reachable?

Asked before a command imports TensorFlow (~6 s), so that offline, without the file in Keras'
cache, ``predict --weights imagenet`` or ``train --init-weights imagenet`` says at once which file
to fetch and where to put it, instead of after the import. Pure Python: a name lookup and a TCP
connection to the download host, each bounded by a few seconds.

Only a definite answer counts: the host's name does not resolve, or the connection is refused
or the network unreachable. A lookup or connection that is merely slow, or a proxy in the
environment (which Keras' download would use and a direct connection would not), leaves the
question to Keras' own download, as before.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

from playground.core.graph import Graph
from playground.core.twins import Twin, TwinError, cache_dir

PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "http_proxy",
                   "HTTP_PROXY")
CHECK_SECONDS = 3.0


def file_names(twin: Twin, graph: Graph, retargeted: bool = False) -> list[str]:
    """The twin's files a model of ``graph`` may load, the likelier first: with the 1,000-class
    classifier when the graph has it at the twin's classifier layer, else without the top.
    ``retargeted``: training gives the head the dataset's classes (rarely ImageNet's 1,000)."""
    inputs = [n for n in graph.nodes if n.type == "Input"]
    shape = inputs[0].params.get("shape") if inputs else None
    rows = shape[0] if isinstance(shape, list) and shape and isinstance(shape[0], int) else 224
    head = graph.node(twin.top_layer) if twin.top_layer in graph.node_ids else None
    width = head.params.get("units", head.params.get("filters")) if head is not None else None
    top_first = width == 1000 and not retargeted
    return [twin.file_name(top_first, rows), twin.file_name(not top_first, rows)]


def offline_message(file_name: str, url: str, cached: Path, reason: str) -> str:
    """One wording for "cannot download", whether found here or by Keras' download."""
    return (f"cannot download the ImageNet weights {file_name} ({reason}). Offline? Download "
            f"{url} elsewhere and place it as {cached} (the folder is $KERAS_HOME/models, or "
            "~/.keras/models without KERAS_HOME)")


def unreachable(url: str, seconds: float = CHECK_SECONDS) -> str | None:
    """Why ``url``'s host cannot be reached, when that is certain within ``seconds``; None when
    it answered, a proxy is configured, or no answer came in time."""
    if any(os.environ.get(name) for name in PROXY_VARIABLES):
        return None
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    answer: list[str | None] = []

    def ask() -> None:
        try:
            with socket.create_connection((host, port), timeout=seconds):
                answer.append(None)
        except socket.gaierror as exc:
            answer.append(f"{host} cannot be looked up: {exc.strerror or exc}")
        except TimeoutError:
            return              # slow is not certain: Keras' download decides
        except OSError as exc:  # refused, network unreachable
            answer.append(f"{host}:{port} cannot be reached: {exc.strerror or exc}")

    worker = threading.Thread(target=ask, name="playground-twin-download-check", daemon=True)
    worker.start()
    worker.join(seconds + 0.5)
    return answer[0] if answer else None


def check_available(twin: Twin, graph: Graph, retargeted: bool = False) -> None:
    """Raise ``TwinError`` (the offline message) when none of the files a model of ``graph``
    may load is cached and their host certainly cannot be reached."""
    names = file_names(twin, graph, retargeted)
    folder = cache_dir() / "models"
    if any((folder / name).is_file() for name in names):
        return
    url = twin.url(names[0])
    reason = unreachable(url)
    if reason is not None:
        raise TwinError(offline_message(names[0], url, folder / names[0], reason))
