"""The Keras-style face: ``compile`` / ``fit`` / ``evaluate`` / ``predict`` / ``save``, so the seeds' code carries over.

A thin mutable holder around the pure core: a ``jaxnet.Sequential`` (the
architecture), its parameter pytree and the optimizer state. Every method calls
``jaxnet.train``; nothing is implemented twice.

    model = jaxnet.keras.Sequential([Flatten(), Dense(128, activation="relu"), Dropout(0.2),
                                     Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=5, validation_split=0.2)
    model.evaluate(x_test, y_test); model.save("mnist.npz"); model = jaxnet.load_model("mnist.npz")
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import jax
import numpy as np
import optax

from jaxnet import checkpoint, optimizers, train
from jaxnet._src import serialize
from jaxnet import model as model_lib
from jaxnet.layers import Layer


def ordered_weights(network: Layer, params: Any) -> list:
    """The parameter arrays in layer order, kernel before bias (Keras' ``get_weights`` order)."""
    if isinstance(network, model_lib._Container):
        return [w for name, child in zip(network.names, network.layers) for w in ordered_weights(child, params[name])]
    return [params[k] for k in sorted(params, key=lambda k: (k != "w", k))]


class Sequential:
    """A Keras-like model object holding architecture, parameters and optimizer state.

    Arguments:
        layers: jaxnet layers, in order.
        input_shape: one example's shape; if omitted, taken from the data at the first ``fit``.
        name: the model's name.
        seed: seed of the PRNG key used to initialise, shuffle and drop out.
    """

    def __init__(self, layers: Sequence[Layer] = (), *, input_shape: tuple | None = None, name: str | None = None,
                 seed: int = 0):
        self.network = model_lib.Sequential(layers, name=name)
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.params = None
        self.opt_state = None
        self._compiled: dict | None = None
        self._key = jax.random.key(seed)
        if self.input_shape is not None:
            self.build(self.input_shape)

    def _next_key(self) -> jax.Array:
        self._key, key = jax.random.split(self._key)
        return key

    def add(self, layer: Layer) -> None:
        """Append a layer (before the model is built)."""
        if self.params is not None:
            raise ValueError("cannot add layers after the model is built")
        self.network = model_lib.Sequential([*self.network.layers, layer], name=self.network.name)

    def build(self, input_shape: tuple) -> None:
        """Create the parameters for examples of ``input_shape``."""
        self.input_shape = tuple(input_shape)
        self.params = self.network.init(self._next_key(), self.input_shape)

    def summary(self, input_shape: tuple | None = None) -> str:
        """Print and return the summary table (needs the input shape, given here or earlier)."""
        shape = input_shape or self.input_shape
        if shape is None:
            raise ValueError("summary needs the input shape: pass summary(input_shape) or build the model first")
        text = self.network.summary(shape)
        print(text)
        return text

    def compile(self, optimizer: str | optax.GradientTransformation = "rmsprop", loss="mse",
                metrics: Sequence = (), learning_rate=None) -> None:
        """Choose the optimizer (a name or an Optax transformation), the loss and the metrics."""
        optimizers.get(optimizer, learning_rate)  # fail now for an unknown name
        train.training_loss(loss), train.metric_functions(metrics)
        self._compiled = {"optimizer": optimizer, "loss": loss, "metrics": list(metrics),
                          "learning_rate": learning_rate}
        self.opt_state = None

    def _require_compiled(self, what: str) -> dict:
        if self._compiled is None:
            raise ValueError(f"call compile(optimizer=..., loss=...) before {what}")
        return self._compiled

    def fit(self, x, y, *, epochs: int = 1, batch_size: int = 32, validation_split: float = 0.0,
            validation_data=None, callbacks: Sequence = (), shuffle: bool = True, verbose="auto",
            initial_epoch: int = 0) -> train.History:
        """Train (see ``jaxnet.train.fit``); repeated calls continue with the same optimizer state."""
        config = self._require_compiled("fit")
        if self.params is None:
            self.build(np.shape(x)[1:])
        self.params, history = train.fit(
            self.network, self.params, x, y, loss=config["loss"], optimizer=config["optimizer"],
            learning_rate=config["learning_rate"], metrics=config["metrics"], epochs=epochs, batch_size=batch_size,
            validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
            key=self._next_key(), callbacks=callbacks, verbose=verbose, opt_state=self.opt_state,
            initial_epoch=initial_epoch, save_fn=lambda path, p, s, e: self._save(path, p, s, e))
        self.opt_state = history.opt_state
        return history

    def _built(self, what: str):
        if self.params is None:
            raise ValueError(f"the model has no weights yet: build it or fit it before {what}")
        return self.params

    def evaluate(self, x, y, *, batch_size: int = 32, return_dict: bool = False):
        """The loss and metrics on (x, y): a list [loss, *metrics] (a float with no metrics), or a dict."""
        config = self._require_compiled("evaluate")
        result = train.evaluate(self.network, self._built("evaluate"), x, y, loss=config["loss"],
                                metrics=config["metrics"], batch_size=batch_size)
        if return_dict:
            return result
        values = list(result.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, *, batch_size: int = 32) -> np.ndarray:
        """The outputs for ``x`` (inference mode) as a NumPy array."""
        return np.asarray(train.predict(self.network, self._built("predict"), x, batch_size=batch_size))

    def get_weights(self) -> list[np.ndarray]:
        """Every parameter array as NumPy, in layer order, kernel before bias."""
        return [np.asarray(w) for w in ordered_weights(self.network, self._built("get_weights"))]

    def _save(self, path, params, opt_state, epoch=None) -> os.PathLike:
        config = self._compiled
        optimizer = None if config is None else config["optimizer"]
        if optimizer is not None and not isinstance(optimizer, str):
            optimizer = "custom"  # an Optax transformation cannot be written as JSON; load_model asks for it
        meta = {"architecture": serialize.to_config(self.network), "input_shape": list(self.input_shape),
                "compile": None if config is None else {**config, "optimizer": optimizer,
                                                        "learning_rate": _json_rate(config["learning_rate"])},
                "epoch": epoch}
        trees = {"params": params}
        if opt_state is not None:
            trees["opt_state"] = opt_state
        return checkpoint.save(path, trees, meta)

    def save(self, path: str | os.PathLike) -> os.PathLike:
        """Write architecture, weights and optimizer state to one ``.npz`` file (atomically)."""
        return self._save(path, self._built("save"), self.opt_state)


def _json_rate(rate):
    if rate is None or isinstance(rate, (int, float)):
        return rate
    raise ValueError("cannot save a model compiled with a learning-rate schedule function; "
                     "save the weights with jaxnet.checkpoint instead")


def load_model(path: str | os.PathLike, *, optimizer: optax.GradientTransformation | None = None) -> Sequential:
    """Rebuild a model saved by ``Sequential.save``: architecture, weights and optimizer state.

    Arguments:
        path: the ``.npz`` checkpoint.
        optimizer: the Optax transformation, needed only if the model was compiled with one (not a name).

    Returns:
        The model, compiled as it was, predicting exactly as the saved one.

    Raises:
        jaxnet.checkpoint.CheckpointError: for a missing, corrupt or truncated file, or one without a model.
    """
    leaves, meta = checkpoint.load(path)
    if "architecture" not in meta:
        raise checkpoint.CheckpointError(f"{os.fspath(path)!r} holds weights but no architecture: "
                                         "it was not written by Sequential.save")
    network = serialize.from_config(meta["architecture"])
    model = Sequential(network.layers, name=network.name)
    model.input_shape = tuple(meta["input_shape"])
    template = jax.eval_shape(lambda k: network.init(k, model.input_shape), jax.random.key(0))
    model.params = checkpoint.restore(template, leaves["params"], "parameters")
    config = meta.get("compile")
    if config is not None:
        if config["optimizer"] == "custom":
            if optimizer is None:
                raise ValueError("this model was compiled with an Optax transformation: pass it as "
                                 "load_model(path, optimizer=...) to restore the optimizer state")
            config = {**config, "optimizer": optimizer}
        model.compile(**config)
        if "opt_state" in leaves:
            tx = optimizers.get(config["optimizer"], config["learning_rate"])
            model.opt_state = checkpoint.restore(tx.init(model.params), leaves["opt_state"], "optimizer state")
    return model
