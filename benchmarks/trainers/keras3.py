"""Keras 3 on its JAX backend (the tool the seeds use): ``model.fit`` as shipped, ``model.fit`` with
``steps_per_execution``, and an expert's loop (``stateless_call`` and ``stateless_apply`` in a scanned epoch)."""

from __future__ import annotations

import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

STEPS_PER_EXECUTION = 32  # Keras runs this many steps per compiled call (its documented speed setting)


def build(workload, steps_per_execution: int = 1):
    import keras

    if keras.backend.backend() != "jax":
        raise RuntimeError(f"Keras runs on {keras.backend.backend()!r}; set KERAS_BACKEND=jax")
    if workload.name.startswith("mlp"):
        layers = [
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    else:
        layers = [
            keras.layers.Conv2D(32, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Conv2D(64, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Conv2D(64, (3, 3), activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    model = keras.Sequential([keras.Input(workload.input_shape), *layers])
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def train(workload, x, y, epochs: int, steps_per_execution: int = 1) -> dict:
    import keras

    model = build(workload, steps_per_execution)
    times = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(x, y, epochs=epochs, batch_size=workload.batch_size, verbose=0, callbacks=[EpochTimer()])
    return {
        "epoch_times": times,
        "threads": "XLA default (all cores)",
        "version": keras.__version__,
        "config": f"model.fit, steps_per_execution={steps_per_execution}",
        "params": int(model.count_params()),
    }


def train_steps_per_execution(workload, x, y, epochs: int) -> dict:
    return train(workload, x, y, epochs, STEPS_PER_EXECUTION)


def train_expert(workload, x, y, epochs: int) -> dict:
    """Keras' JAX custom-training-loop recipe, one jitted ``lax.scan`` per epoch (the batches gathered inside)."""
    import jax
    import jax.numpy as jnp
    import keras
    import numpy as np

    model = build(workload)
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    def loss_and_state(trainable, non_trainable, xb, yb):
        y_pred, non_trainable = model.stateless_call(trainable, non_trainable, xb, training=True)
        return loss_fn(yb, y_pred), non_trainable

    def step(state, batch):
        trainable, non_trainable, opt_vars, xd, yd = state
        xb, yb = xd[batch], yd[batch]
        (loss, non_trainable), grads = jax.value_and_grad(loss_and_state, has_aux=True)(
            trainable, non_trainable, xb, yb
        )
        trainable, opt_vars = optimizer.stateless_apply(opt_vars, grads, trainable)
        return (trainable, non_trainable, opt_vars, xd, yd), loss

    epoch = jax.jit(lambda state, order: jax.lax.scan(step, state, order), donate_argnums=0)
    state = (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in optimizer.variables],
        jnp.asarray(x),
        jnp.asarray(y),
    )
    rng, steps = np.random.default_rng(0), len(x) // workload.batch_size
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = rng.permutation(len(x))[: steps * workload.batch_size].reshape(steps, workload.batch_size)
        state, losses = epoch(state, jnp.asarray(order))
        jax.block_until_ready(losses)
        times.append(time.perf_counter() - start)
    return {
        "epoch_times": times,
        "threads": "XLA default (all cores)",
        "version": keras.__version__,
        "config": "stateless_call + stateless_apply in a jitted lax.scan epoch (last partial batch dropped)",
        "examples": steps * workload.batch_size,
    }
