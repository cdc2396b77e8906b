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

import functools
import os
import pathlib
import warnings
from typing import Any, Callable, Sequence, TypeGuard, cast

import jax
import numpy as np
import optax

from jaxnet import callbacks as callbacks_lib
from jaxnet import checkpoint, functional, optimizers, summary, train
from jaxnet import metrics as metrics_lib
from jaxnet import model as model_lib
from jaxnet._src import serialize
from jaxnet.keras import _keras_format
from jaxnet.keras import optimizers as keras_optimizers
from jaxnet.layers import Layer

#: Keras' order of a layer's weights: kernel, bias; BatchNormalization's gamma, beta, moving mean, moving variance.
_KERAS_ORDER = {"w": 0, "gamma": 1, "b": 2, "beta": 2, "moving_mean": 3, "moving_variance": 4}

#: Names that Keras writes as legacy HDF5; jaxnet writes its own format under them (see ``Sequential.save``).
H5_SUFFIXES = (".h5", ".hdf5")
#: ``save("model.orbax")`` writes an Orbax checkpoint folder (sharded and multi-process: every process calls it).
ORBAX_SUFFIX = ".orbax"


def ordered_weights(network: Layer, params: Any) -> list:
    """The parameter arrays in layer order, each layer's in Keras' ``get_weights`` order (kernel before bias)."""
    if isinstance(network, (model_lib._Container, functional.Functional)):
        return [w for name, child in zip(network.names, network.layers) for w in ordered_weights(child, params[name])]
    return [params[k] for k in sorted(params, key=lambda k: (_KERAS_ORDER.get(k, len(_KERAS_ORDER)), k))]


def _is_input(obj: object) -> TypeGuard[functional.Tensor]:
    """True for a ``keras.Input(shape)`` tensor."""
    return isinstance(obj, functional.Tensor) and isinstance(obj.call.layer, functional.InputLayer)


def _first_layer_shape(layers: Sequence) -> tuple | None:
    """The input shape a first layer was given with ``input_shape=`` / ``input_dim=``, if any."""
    first = layers[0] if layers else None
    shape, input_dim = getattr(first, "input_shape", None), getattr(first, "input_dim", None)
    if shape is None and input_dim is not None:
        shape = (input_dim,)
    return None if shape is None else tuple(shape)


def _logged_as_spelled(metric):
    """A metric name wrapped so the logs use it as spelled ('acc' -> 'acc', 'val_acc'), as Keras does."""
    return _spelled(metric) if isinstance(metric, str) else metric


@functools.lru_cache(maxsize=None)
def _spelled(name: str) -> Callable:
    # one wrapper per name: compiled epochs are cached by the metric functions' identity, so a new wrapper
    # at every fit / evaluate would compile them again
    fn = functools.partial(metrics_lib.get(name))  # fails now for an unknown name
    fn.__name__ = name  # type: ignore[attr-defined]  # a partial takes attributes; the logs read this one
    return fn


class _KeepLatest(callbacks_lib.Callback):
    """Keeps a copy of the parameters and optimizer state after every epoch, for ``fit`` to keep on an exception."""

    def __init__(self, params, opt_state):
        self.params, self.opt_state = params, opt_state

    def on_epoch_end(self, epoch, logs, state):
        # a copy: the arrays in ``state`` are donated to the next epoch's compiled step
        self.params, self.opt_state = callbacks_lib.copy_tree(state.params), callbacks_lib.copy_tree(state.opt_state)


class Sequential:
    """A Keras-like model object holding architecture, parameters and optimizer state.

    Arguments:
        layers: jaxnet layers, in order; the first may be a ``keras.Input(shape=...)``, or a layer given
            ``input_shape=`` / ``input_dim=``, to build the model at once.
        input_shape: one example's shape; if omitted (and not given as above), taken from the data at the first ``fit``.
        name: the model's name ("sequential" when None).
        seed: seed of the PRNG key used to initialise, shuffle and drop out.
    """

    def __init__(
        self, layers: Sequence[Layer] = (), *, input_shape: tuple | None = None, name: str | None = None, seed: int = 0
    ):
        layers = list(layers)
        first = layers[0] if layers else None
        if _is_input(first):  # a keras.Input first: it gives the input shape (unless input_shape= does)
            input_shape = input_shape or first.shape
            layers.pop(0)
        if input_shape is None:
            input_shape = _first_layer_shape(layers)
        # the functional Model subclass holds a Functional graph here instead
        self.network: model_lib.Sequential | functional.Functional = model_lib.Sequential(layers, name=name)
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.params = None
        self.opt_state = None
        self._compiled: dict | None = None
        self._key = jax.random.key(seed)

    def _next_key(self) -> jax.Array:
        self._key, key = jax.random.split(self._key)
        return key

    @property
    def name(self) -> str:
        """The model's name (Keras' default "sequential")."""
        return self.network.name or "sequential"

    @property
    def layers(self) -> list[Layer]:
        """The layers, in order."""
        return list(self.network.layers)

    def get_layer(self, name: str) -> Layer:
        """The layer called ``name`` (its own name, else the one jaxnet gave it: "dense", "dense_1", ...).

        Raises:
            ValueError: if no layer has that name.
        """
        for layer_name, layer in zip(self.network.names, self.network.layers):
            if name == layer_name:
                return layer
        raise ValueError(f"no layer named {name!r}; the layers are: {', '.join(self.network.names)}")

    def add(self, layer: Layer | functional.Tensor) -> None:
        """Append a layer (before the weights exist); a first ``keras.Input`` or ``input_shape=`` sets the input."""
        if self.params is not None:
            raise ValueError("cannot add layers after the model is built")
        if _is_input(layer):
            if self.network.layers:
                raise ValueError("keras.Input can only come first")
            self.input_shape = tuple(layer.shape)
            return
        first = not self.network.layers
        # any other Tensor is refused by the container, which takes layers only
        self.network = model_lib.Sequential([*self.network.layers, cast(Layer, layer)], name=self.network.name)
        shape = self.input_shape or (_first_layer_shape([layer]) if first else None)
        self.input_shape = shape

    def __call__(self, inputs):
        """Call the model on symbolic tensors, as a layer of a functional model (``keras.Model``)."""
        return functional.call(self.network, inputs)

    def build(self, input_shape: tuple) -> None:
        """Create the parameters for examples of ``input_shape``."""
        self.input_shape = tuple(input_shape)
        self.params = self.network.init(self._next_key(), self.input_shape)

    def _shape(self, what: str, input_shape: tuple | None = None) -> tuple:
        shape = input_shape or self.input_shape
        if shape is None:
            raise ValueError(f"{what} needs the input shape: give it (keras.Input, input_shape=) or build the model")
        return tuple(shape)

    def summary(self, input_shape: tuple | None = None) -> None:
        """Print the summary table (needs the input shape, given here or earlier).

        Returns:
            None, as Keras, so ``print(model.summary())`` prints the table once (and "None").
        """
        if isinstance(self.network, functional.Functional):  # keras.Model: the graph knows its input shapes
            print(self.network.summary())
        else:
            print(self.network.summary(self._shape("summary", input_shape)))

    def count_params(self) -> int:
        """The number of parameters (scalars) of the model."""
        return summary.count_params(summary.param_shapes(self.network, self._shape("count_params")))

    def compile(
        self,
        optimizer: str | optax.GradientTransformation = "rmsprop",
        loss="mse",
        metrics: Sequence = (),
        learning_rate=None,
        weighted_metrics: Sequence = (),
    ) -> None:
        """Choose the optimizer (a name or an Optax transformation), the loss and the metrics.

        ``metrics`` are not weighted by ``fit``'s / ``evaluate``'s sample weights; ``weighted_metrics`` are (Keras 3).
        """
        if isinstance(optimizer, str):
            optimizer = optimizer.lower()  # Keras takes 'Adam' as 'adam'
        if isinstance(metrics, str):
            metrics = [metrics]  # compile(metrics='accuracy')
        optimizers.get(optimizer, learning_rate)  # fail now for an unknown name
        weighted_metrics = [weighted_metrics] if isinstance(weighted_metrics, str) else list(weighted_metrics)
        train.training_loss(loss), train.metric_functions(self._metrics(metrics), self._metrics(weighted_metrics))
        self._compiled = {
            "optimizer": optimizer,
            "loss": loss,
            "metrics": list(metrics),
            "learning_rate": learning_rate,
            "weighted_metrics": weighted_metrics,
        }
        self.opt_state = None

    @staticmethod
    def _metrics(metrics: Sequence) -> list:
        return [_logged_as_spelled(m) for m in metrics]

    def _require_compiled(self, what: str) -> dict:
        if self._compiled is None:
            raise ValueError(f"call compile(optimizer=..., loss=...) before {what}")
        return self._compiled

    def fit(
        self,
        x,
        y,
        *,
        epochs: int = 1,
        batch_size: int = 32,
        validation_split: float = 0.0,
        validation_data=None,
        callbacks: Sequence = (),
        shuffle: bool = True,
        verbose="auto",
        initial_epoch: int = 0,
        sample_weight=None,
        class_weight=None,
    ) -> train.History:
        """Train (see ``jaxnet.train.fit``); repeated calls continue with the same optimizer state.

        ``sample_weight`` (one weight per example) or ``class_weight`` (``{class: weight}``) weigh the loss
        and the ``weighted_metrics``, as Keras 3.

        If training is interrupted (Ctrl-C, a failing callback), the model keeps the weights and optimizer
        state of the last finished epoch before the exception propagates.

        Returns:
            The ``History``.
        """
        config = self._require_compiled("fit")
        if self.params is None:
            self.build(self.input_shape or np.shape(x)[1:])
        keep = _KeepLatest(self.params, self.opt_state)
        try:
            self.params, history = train.fit(
                self.network,
                self.params,
                x,
                y,
                loss=config["loss"],
                optimizer=config["optimizer"],
                learning_rate=config["learning_rate"],
                metrics=self._metrics(config["metrics"]),
                epochs=epochs,
                batch_size=batch_size,
                validation_split=validation_split,
                validation_data=validation_data,
                shuffle=shuffle,
                key=self._next_key(),
                callbacks=[*callbacks, keep],
                verbose=verbose,
                opt_state=self.opt_state,
                initial_epoch=initial_epoch,
                save_fn=lambda path, p, s, e: self._save(path, p, s, e),
                sample_weight=sample_weight,
                class_weight=class_weight,
                weighted_metrics=self._metrics(config.get("weighted_metrics", ())),
            )
        except BaseException:
            # train.fit returns the weights only at the end: keep what the finished epochs learned
            self.params, self.opt_state = keep.params, keep.opt_state
            raise
        self.opt_state = history.opt_state
        return history

    def _built(self, what: str):
        # built on first need (not in __init__), so that layers can still be added after keras.Input
        if self.params is None and self.input_shape is not None:
            self.build(self.input_shape)
        if self.params is None:
            raise ValueError(f"the model has no weights yet: build it or fit it before {what}")
        return self.params

    def evaluate(self, x, y, *, batch_size: int = 32, verbose="auto", sample_weight=None, return_dict: bool = False):
        """The loss and metrics on (x, y).

        Arguments:
            x, y: the data.
            batch_size: examples per step.
            sample_weight: one weight per example, weighing the loss and the ``weighted_metrics``.
            verbose: accepted for Keras' signature; nothing is printed.
            return_dict: return ``{name: value}`` instead.

        Returns:
            A float (no metrics) or a list [loss, *metrics], as Keras; or the dict.
        """
        del verbose
        config = self._require_compiled("evaluate")
        result = train.evaluate(
            self.network,
            self._built("evaluate"),
            x,
            y,
            loss=config["loss"],
            metrics=self._metrics(config["metrics"]),
            batch_size=batch_size,
            sample_weight=sample_weight,
            weighted_metrics=self._metrics(config.get("weighted_metrics", ())),
        )
        return result if return_dict else self._as_keras_result(result)

    @staticmethod
    def _as_keras_result(result: dict):
        """``evaluate``'s dict as Keras returns it: a float for the loss alone, else a list."""
        values = [float(v) for v in result.values()]
        return values[0] if len(values) == 1 else values

    def predict(self, x, *, batch_size: int = 32, verbose="auto") -> np.ndarray:
        """The outputs for ``x`` (inference mode) as a NumPy array (``verbose`` is accepted and ignored)."""
        del verbose
        return np.asarray(train.predict(self.network, self._built("predict"), x, batch_size=batch_size))

    def get_weights(self) -> list[np.ndarray]:
        """Every parameter array as NumPy, in layer order, kernel before bias."""
        return [np.asarray(w) for w in ordered_weights(self.network, self._built("get_weights"))]

    def set_weights(self, weights: Sequence) -> None:
        """Replace every parameter array, given in ``get_weights``' order (its inverse).

        Raises:
            ValueError: for the wrong number of arrays or a wrong shape.
        """
        params = self._built("set_weights")
        current = ordered_weights(self.network, params)
        if len(weights) != len(current):
            raise ValueError(f"set_weights expected {len(current)} arrays, got {len(weights)}")
        for i, (new, old) in enumerate(zip(weights, current)):
            if np.shape(new) != old.shape:
                raise ValueError(f"weight {i}: expected shape {old.shape}, got {np.shape(new)}")
        # ordered_weights visits the leaves in a fixed order: map each leaf's identity to its new value
        replacement = {id(old): jax.numpy.asarray(new, old.dtype) for new, old in zip(weights, current)}
        self.params = jax.tree.map(lambda leaf: replacement[id(leaf)], params)

    def _compile_config(self) -> dict | None:
        """The compile arguments a saved model is compiled with again by ``load_model``."""
        return self._compiled

    def _compile_meta(self) -> dict | None:
        """The compile settings as JSON: keras.optimizers.SGD(...) & co. as their Keras config; another Optax
        transformation cannot be written as JSON, so it is written as "custom" and load_model asks for it."""
        config = self._compile_config()
        if config is None:
            return None
        optimizer = config["optimizer"]
        if not isinstance(optimizer, str):
            optimizer = getattr(optimizer, "keras_config", None) or "custom"
        return {**config, "optimizer": optimizer, "learning_rate": _json_rate(config["learning_rate"])}

    def _save(self, path, params, opt_state, epoch=None) -> os.PathLike:
        if pathlib.Path(path).suffix == ".keras":
            return _keras_format.write(
                path, self.network, self._shape("save"), params, {"compile": self._compile_meta(), "epoch": epoch}
            )
        meta = {
            "architecture": serialize.to_config(self.network),
            "input_shape": list(self._shape("save")),
            "compile": self._compile_meta(),
            "epoch": epoch,
        }
        trees = {"params": params}
        if opt_state is not None:
            trees["opt_state"] = opt_state
        if pathlib.Path(path).suffix == ORBAX_SUFFIX:
            from jaxnet import orbax_checkpoint  # Orbax is imported only by those who use it

            return orbax_checkpoint.save(path, trees, {**meta, "trees": sorted(trees)})
        return checkpoint.save(path, trees, meta)

    def save(self, path: str | os.PathLike) -> os.PathLike:
        """Save the model in one file, atomically; the name's suffix picks the format.

        - ``.keras``: Keras 3's format (a zip of config.json and model.weights.h5, needs h5py), which
          ``keras.models.load_model`` of Keras 3 loads too: the architecture and weights, with the compile
          settings for jaxnet; not the optimizer state. Sequential models of Dense, Conv2D, pooling, Flatten,
          Dropout and Activation layers.
        - ``.orbax``: an Orbax checkpoint folder with the same contents as the ``.npz`` (the architecture,
          weights and optimizer state); under ``jax.distributed`` every process calls ``save`` and each
          writes the shards it holds.
        - anything else (``.npz``, none): jaxnet's own ``.npz`` checkpoint with the architecture, weights
          and optimizer state, for any jaxnet model. ``.h5`` / ``.hdf5`` (Keras' legacy HDF5, which the
          course notes use) are accepted as names but get this format, with a warning saying so.

        Returns:
            The path written.
        """
        if pathlib.Path(path).suffix.lower() in H5_SUFFIXES:
            warnings.warn(
                f"{os.fspath(path)!r}: jaxnet writes its own .npz format under this name, not Keras' "
                "legacy HDF5; jaxnet.keras.models.load_model reads it back (Keras does not). "
                "Save as .keras for a file that Keras 3 loads too.",
                UserWarning,
                stacklevel=2,
            )
        return self._save(path, self._built("save"), self.opt_state)


def _json_rate(rate):
    if rate is None or isinstance(rate, (int, float)):
        return rate
    raise ValueError(
        "cannot save a model compiled with a learning-rate schedule function; "
        "save the weights with jaxnet.checkpoint instead"
    )


def _saved_model(path, meta: dict) -> tuple[model_lib.Sequential | functional.Functional, Any, Any]:
    """The network, input shape and parameter shapes a checkpoint's metadata describe.

    Raises:
        jaxnet.checkpoint.CheckpointError: for an architecture or input shape that cannot be rebuilt.
    """
    if "architecture" not in meta:
        raise checkpoint.CheckpointError(
            f"{os.fspath(path)!r} holds weights but no architecture: it was not written by Sequential.save"
        )
    try:
        network = serialize.from_config(meta["architecture"])
    except (ValueError, TypeError, KeyError, RecursionError) as err:
        raise checkpoint.CheckpointError(
            f"{os.fspath(path)!r} has an architecture that cannot be rebuilt: {err}"
        ) from None
    if isinstance(network, functional.Functional):
        shape: Any = network._input_shapes()  # a functional model's Input layers carry their shapes
    else:
        if not isinstance(network, model_lib.Sequential):
            raise checkpoint.CheckpointError(
                f"{os.fspath(path)!r} holds a {type(network).__name__}, not a Sequential or functional Model"
            )
        shape = meta.get("input_shape")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d > 0 for d in shape):
            raise checkpoint.CheckpointError(
                f"{os.fspath(path)!r} has a malformed input shape {shape!r} in its metadata"
            )
        shape = tuple(shape)
    try:
        template = jax.eval_shape(lambda k: network.init(k, shape), jax.random.key(0))
    except (ValueError, TypeError) as err:
        raise checkpoint.CheckpointError(
            f"{os.fspath(path)!r} has an architecture that cannot be rebuilt: {err}"
        ) from None
    return network, shape, template


def _compile_config(meta: dict, optimizer: optax.GradientTransformation | None) -> dict | None:
    """``compile``'s arguments as saved, the optimizer rebuilt (or the one given, for an Optax transformation)."""
    config = meta.get("compile")
    if config is None:
        return None
    if config["optimizer"] == "custom":
        if optimizer is None:
            raise ValueError(
                "this model was compiled with an Optax transformation: pass it as "
                "load_model(path, optimizer=...) to restore the optimizer state"
            )
        return {**config, "optimizer": optimizer}
    if isinstance(config["optimizer"], dict):
        return {**config, "optimizer": keras_optimizers.deserialize(config["optimizer"])}
    return config


def load_model(path: str | os.PathLike, *, optimizer: optax.GradientTransformation | None = None) -> Sequential:
    """Rebuild a model saved by ``Sequential.save``: architecture, weights and optimizer state.

    Arguments:
        path: the ``.npz`` checkpoint (any name but ``.keras`` and ``.orbax``), an ``.orbax`` folder, or a
            ``.keras`` file written by ``Sequential.save`` or by Keras 3 (a Sequential model of the layers
            ``save`` lists).
        optimizer: the Optax transformation, needed only if the model was compiled with one (not a name).

    Returns:
        The model, compiled as it was (a ``.keras`` file from Keras 3: not compiled), predicting exactly
        as the saved one; a ``.keras`` file brings no optimizer state.

    Raises:
        jaxnet.checkpoint.CheckpointError: for a missing, corrupt or truncated file, or one without a model.
        ValueError: for a ``.keras`` file with a model or layer that jaxnet does not read.
    """
    network: model_lib.Sequential | functional.Functional
    if pathlib.Path(path).suffix == ".keras":
        network, input_shape, params, meta = _keras_format.read(path)
        leaves = {"params": jax.tree.leaves(params)}
        template = jax.eval_shape(lambda k: network.init(k, tuple(input_shape)), jax.random.key(0))
    elif pathlib.Path(path).suffix == ORBAX_SUFFIX:
        from jaxnet import orbax_checkpoint

        meta = orbax_checkpoint.read_metadata(path)
        network, input_shape, template = _saved_model(path, meta)
        saved = {"params": template}
        config = _compile_config(meta, optimizer)
        if config is not None and "opt_state" in meta.get("trees", ()):  # saved only by a compiled model
            tx = optimizers.get(config["optimizer"], config["learning_rate"])
            saved["opt_state"] = jax.eval_shape(tx.init, template)
        trees, _ = orbax_checkpoint.restore(path, saved)
        leaves = {name: jax.tree.leaves(tree) for name, tree in trees.items()}
    else:
        meta = checkpoint.read_metadata(path)
        network, input_shape, template = _saved_model(path, meta)
        leaves, meta = checkpoint.load(path, expected={"params": template})  # shapes checked before reading
    model: Sequential
    if isinstance(network, functional.Functional):
        from jaxnet.keras.functional import Model  # the functional face builds on this module

        model = Model(network=network)
    else:
        model = Sequential(network.layers, name=network.name)
        model.input_shape = tuple(input_shape)
    model.params = checkpoint.restore(template, leaves["params"], "parameters")
    config = _compile_config(meta, optimizer)
    if config is not None:
        model.compile(**config)
        if "opt_state" in leaves:
            tx = optimizers.get(config["optimizer"], config["learning_rate"])
            model.opt_state = checkpoint.restore(tx.init(model.params), leaves["opt_state"], "optimizer state")
    return model
