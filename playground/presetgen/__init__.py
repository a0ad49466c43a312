"""Builds the bundled preset graphs with the core API and writes ``presets/*.json`` and the
gallery (``presets/README.md``).

The presets are data: generated once by ``python -m playground.presetgen`` and committed, so the
app never runs this code. Keeping the generator in the repository makes every number in a preset
reproducible (and reviewable: a widths table in Python is easier to check than 400 JSON nodes).
Pure Python: it imports neither TensorFlow nor Qt.
"""
