"""The training bench without Qt: run config, Keras callbacks -> plain progress events, the
headless runner, runs on disk, telemetry, evaluation math, devices and distribution strategies.

The GUI (``playground.ui.training_panel``) and the CLI (``playground.cli.train``) both drive
:func:`playground.training.runner.run_training`; the GUI does it from a worker thread
(:mod:`playground.training.worker`) and reads events from a queue on a timer.
"""
