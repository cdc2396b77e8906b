"""Keras 3 on its JAX backend (the tool the seeds use), with ``model.fit``."""
from __future__ import annotations

import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")


def build(workload):
    import keras

    if workload.name.startswith("mlp"):
        layers = [keras.layers.Flatten(), keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(0.2),
                  keras.layers.Dense(10, activation="softmax")]
    else:
        layers = [keras.layers.Conv2D(32, (3, 3), activation="relu"), keras.layers.MaxPooling2D((2, 2)),
                  keras.layers.Conv2D(64, (3, 3), activation="relu"), keras.layers.MaxPooling2D((2, 2)),
                  keras.layers.Conv2D(64, (3, 3), activation="relu"), keras.layers.Flatten(),
                  keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10, activation="softmax")]
    model = keras.Sequential([keras.Input(workload.input_shape), *layers])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train(workload, x, y, epochs: int) -> dict:
    import keras

    if keras.backend.backend() != "jax":
        raise RuntimeError(f"Keras runs on {keras.backend.backend()!r}; set KERAS_BACKEND=jax")
    model = build(workload)
    times = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(x, y, epochs=epochs, batch_size=workload.batch_size, verbose=0, callbacks=[EpochTimer()])
    return {"epoch_times": times, "threads": "XLA default (all cores)", "version": keras.__version__,
            "params": int(model.count_params())}
