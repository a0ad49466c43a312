"""Training under ``tf.distribute.MultiWorkerMirroredStrategy`` with a custom loop.

Keras 3's ``fit`` does not run under MultiWorkerMirroredStrategy (keras-team/keras#20585: its
per-step metric reduction calls ``strategy.reduce(..., axis=0)`` on scalars and fails), so this
module runs the same epochs itself: ``strategy.run`` of a gradient step on every replica, losses
and accuracy summed across workers, and the same Keras callbacks driven through a
``CallbackList`` (progress events, schedules, early stopping). Every worker runs the same fixed
number of steps per epoch on a repeated, sharded dataset, since a collective op waits forever for
a worker that ran out of batches.
"""

from __future__ import annotations

import math
from typing import Any


def fit_multiworker(model: Any, strategy: Any, train_ds: Any, val_ds: Any | None, *,
                    epochs: int, train_samples: int, val_samples: int, global_batch: int,
                    callbacks: list[Any]) -> None:
    import keras

    from playground.tfimport import import_tensorflow

    tf = import_tensorflow()

    steps = max(1, train_samples // global_batch)
    val_steps = max(1, val_samples // global_batch) if val_ds is not None and val_samples else 0
    loss_fn = keras.losses.SparseCategoricalCrossentropy(reduction=None)
    with strategy.scope():
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    train_iter = iter(strategy.experimental_distribute_dataset(train_ds.repeat()))
    val_iter = iter(strategy.experimental_distribute_dataset(val_ds.repeat())) \
        if val_steps else None

    def _counts(y, probs):
        per = loss_fn(y, probs)
        pred = tf.argmax(probs, axis=-1, output_type=tf.int64)
        correct = tf.reduce_sum(tf.cast(tf.equal(pred, tf.cast(y, tf.int64)), tf.float32))
        return per, correct, tf.cast(tf.shape(y)[0], tf.float32)

    @tf.function
    def train_step(iterator):
        def replica(x, y):
            with tf.GradientTape() as tape:
                probs = model(x, training=True)
                per, correct, n = _counts(y, tf.cast(probs, tf.float32))
                loss = tf.reduce_sum(per) / global_batch
            variables = model.trainable_variables
            grads = tape.gradient(loss, variables)
            model.optimizer.apply_gradients(zip(grads, variables, strict=True))
            return tf.reduce_sum(per), correct, n

        x, y = next(iterator)
        return [strategy.reduce("SUM", v, axis=None) for v in strategy.run(replica, (x, y))]

    @tf.function
    def val_step(iterator):
        def replica(x, y):
            per, correct, n = _counts(y, tf.cast(model(x, training=False), tf.float32))
            return tf.reduce_sum(per), correct, n

        x, y = next(iterator)
        return [strategy.reduce("SUM", v, axis=None) for v in strategy.run(replica, (x, y))]

    cbs = keras.callbacks.CallbackList(callbacks, model=model, add_history=False,
                                       add_progbar=False, epochs=epochs, steps=steps, verbose=0)
    model.stop_training = False
    cbs.on_train_begin()
    for epoch in range(epochs):
        cbs.on_epoch_begin(epoch)
        total = correct = count = 0.0
        for step in range(steps):
            cbs.on_train_batch_begin(step)
            s, c, n = (float(v) for v in train_step(train_iter))
            total, correct, count = total + s, correct + c, count + n
            cbs.on_train_batch_end(step, {"loss": total / count, "accuracy": correct / count})
            if model.stop_training:
                break
        logs = {"loss": total / max(count, 1.0), "accuracy": correct / max(count, 1.0)}
        if val_iter is not None:
            vt = vc = vn = 0.0
            for _ in range(val_steps):
                s, c, n = (float(v) for v in val_step(val_iter))
                vt, vc, vn = vt + s, vc + c, vn + n
            logs["val_loss"] = vt / max(vn, 1.0)
            logs["val_accuracy"] = vc / max(vn, 1.0)
        if not all(math.isfinite(v) for v in logs.values()):
            logs["loss"] = float("nan")
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end()
