"""How many training steps one compiled call runs (Keras' ``steps_per_execution``).

Between two steps Keras goes back to Python (the iterator, the callbacks, the logs): about 2 ms
on a laptop CPU. For LeNet-5 at batch 32 a step's arithmetic takes about 5 ms, so that return
costs a quarter of the run; a plain ``model.fit`` script pays it, the app need not. Running
several steps inside one ``tf.function`` call computes exactly the same updates in the same
order (same batches, same weights after each), only with fewer returns to Python.

The price is that the callbacks see a group of steps at a time: a Stop is seen at the next
group's start and the live plots get one batch point per group. So a group is kept short
(:data:`GROUP_SECONDS` of estimated arithmetic on a slow CPU) and big models, whose steps are
long anyway, keep one step per call. Sets streamed from files keep one step per call too: their
steps are bound by decoding images, which the estimate cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass

# A group of steps should take about this long (Stop latency and plot cadence stay well below
# the session's 1 s grace before it terminates a run that does not acknowledge a Stop).
GROUP_SECONDS = 0.05
# Multiply-adds per second assumed for training on a slow CPU: below what a 2-core VM reaches
# on LeNet-5 (~7e9), so a group on a real machine takes at most about GROUP_SECONDS.
SLOW_MACS_PER_SECOND = 5e9
# A training step costs about three forward passes (forward, gradients of activations and of
# weights).
TRAINING_PASSES = 3
MAX_STEPS = 32


@dataclass(frozen=True)
class StepsChoice:
    steps: int
    reason: str

    def line(self) -> str:
        return f"steps per compiled call: {self.steps} ({self.reason})"


def choose_steps(requested: int, macs_per_image: int, batch_size: int, *, streamed: bool,
                 steps_per_epoch: int, distributed: bool = False) -> StepsChoice:
    """``requested`` (the run setting ``steps_per_execution``; 0 = automatic) -> the steps per
    call, with the reason shown in the run's log."""
    if distributed:
        return StepsChoice(1, "a distribution strategy runs one step per call")
    if requested > 0:
        return StepsChoice(max(1, min(requested, steps_per_epoch)), "set in the run settings")
    if streamed:
        return StepsChoice(1, "automatic: images are decoded from files as the run goes")
    step_seconds = TRAINING_PASSES * max(macs_per_image, 1) * batch_size / SLOW_MACS_PER_SECOND
    steps = int(GROUP_SECONDS // step_seconds) if step_seconds > 0 else MAX_STEPS
    steps = max(1, min(steps, MAX_STEPS, steps_per_epoch))
    estimate = f"~{step_seconds * 1000:.3g} ms of arithmetic per step on a slow CPU"
    if steps == 1:
        return StepsChoice(1, f"automatic: {estimate}, long enough on its own")
    return StepsChoice(steps, f"automatic: {estimate}; progress and Stop every {steps} steps")
