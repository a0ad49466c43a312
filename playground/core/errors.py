"""Typed errors raised by the model, so the CLI, the editor and the tests hit the same checks."""

from __future__ import annotations


class PlaygroundError(Exception):
    """Base of every error the app expects and reports to the user as a message."""


class GraphFileError(PlaygroundError):
    """A graph file that cannot be turned into a document.

    ``unreadable`` is true when the file is not a graph at all (not JSON, wrong root, another
    format, a newer version): the CLI exits 2. Otherwise the file is a graph whose content is
    invalid (duplicate ids, dangling edges, wrong field types): the CLI lists ``problems`` as
    check errors and exits 1.
    """

    def __init__(self, message: str, *, source: str = "", unreadable: bool = True,
                 problems: list[tuple[str, str]] | None = None) -> None:
        self.source = source
        self.unreadable = unreadable
        # (location, message) pairs, location like "node conv1" or "edge a -> b".
        self.problems = list(problems or [])
        super().__init__(f"{source}: {message}" if source else message)


class GraphEditError(PlaygroundError):
    """An edit the document refuses (duplicate id, edge to a missing node, a cycle...)."""


class CycleError(GraphEditError):
    """Connecting two nodes would close a cycle; ``cycle`` lists the node ids around it."""

    def __init__(self, message: str, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__(message)


class GraphSaveError(PlaygroundError, OSError):
    """Writing a graph file failed (folder missing, disk full, no permission). The previous file
    is intact (atomic save). It is an ``OSError`` too, with ``errno``, ``strerror`` (the reason)
    and ``filename``, so code catching either kind sees it."""

    def __init__(self, path: str, reason: str, errno: int | None = None) -> None:
        OSError.__init__(self, errno, reason, path)
        self.message = f"{path}: cannot save the file: {reason}"

    def __str__(self) -> str:
        return self.message
