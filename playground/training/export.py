"""Where ``train --export`` may write its SavedModel, checked before the run starts.

The SavedModel itself is written by the one export registry (``playground.exporters``, format
``savedmodel``), with the serving contract of ``playground.exporters.serving``.
"""

from __future__ import annotations

import os

from playground.core.errors import PlaygroundError


def check_export_dir(out_dir: str) -> str:
    """Where a SavedModel may go: a new folder, an empty one, or an earlier SavedModel (which
    is replaced). Anything else (a file, a folder of the user's own files) is refused, since the
    export swaps the whole folder. Cheap: called before training as well as at the export."""
    target = os.path.abspath(out_dir)
    parent = os.path.dirname(target) or "."
    probe = parent
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise PlaygroundError(f"{out_dir}: {probe} is not a folder")
    if os.path.lexists(target):
        if not os.path.isdir(target) or os.path.islink(target):
            raise PlaygroundError(f"{out_dir}: exists and is not a folder; a SavedModel is a "
                                  "folder, choose another path")
        if os.listdir(target) and not os.path.isfile(os.path.join(target, "saved_model.pb")):
            raise PlaygroundError(f"{out_dir}: the folder exists and is not a SavedModel; "
                                  "refusing to replace it (choose a new folder)")
    return target
