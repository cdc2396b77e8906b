"""Containers that compose layers: Sequential, Branch and Parallel, and the Keras-style summary.

Containers are layers too (``output_shape``, ``init``, ``apply``: the contract of
``jaxnet.layers``), so they nest. Their parameters are a dict keyed by the child
layers' unique names (``params["dense_1"]["w"]``), in layer order, and every child
runs inside a ``jax.named_scope`` of its name, so jaxprs, profiles and graphs show
the model's structure.

A container threads its children's non-trainable state (``apply_with_state``, see
``jaxnet.state``): the state of a model is ``{child_name: child_state}`` for the children
that have any, so it mirrors the parameter tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxnet.layers import Layer, Params, Shape, check_shape
from jaxnet.summary import summary_table


def unique_names(layers: Sequence[Layer]) -> tuple[str, ...]:
    """Keras-style names: the layer's own name, or its default with a counter (dense, dense_1, ...).

    Raises:
        ValueError: if two layers were given the same explicit name.
    """
    explicit = [layer.name for layer in layers if layer.name is not None]
    for name in set(explicit):
        if explicit.count(name) > 1:
            raise ValueError(f"two layers are named {name!r}; layer names must be unique")
    taken, names = set(explicit), []
    counts: dict[str, int] = {}
    for layer in layers:
        if layer.name is not None:
            names.append(layer.name)
            continue
        base, candidate = layer.default_name, None
        while candidate is None or candidate in taken:
            n = counts.get(base, 0)
            counts[base] = n + 1
            candidate = base if n == 0 else f"{base}_{n}"
        taken.add(candidate)
        names.append(candidate)
    return tuple(names)


def _literal_batch(x):
    """A nested list of numbers (``X.tolist()``) as one array; a list of arrays stays a list (several inputs)."""
    if isinstance(x, np.ndarray) or (
        isinstance(x, list) and not any(hasattr(leaf, "shape") for leaf in jax.tree.leaves(x))
    ):
        return jnp.asarray(x)
    return x


def _split(key: jax.Array | None, n: int) -> list:
    return [None] * n if key is None else list(jax.random.split(key, n))


@dataclass(frozen=True, init=False)
class _Container(Layer):
    layers: tuple = field(default=())

    def __init__(self, layers: Sequence[Layer] = (), *, name: str | None = None):
        object.__setattr__(self, "layers", tuple(layers))
        object.__setattr__(self, "name", name)
        for layer in self.layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"{type(self).__name__} takes jaxnet layers, got {layer!r}")
        self.names: tuple[str, ...]  # declared for type checkers; not a dataclass field (fields are the config)
        object.__setattr__(self, "names", unique_names(self.layers))

    def child_input_shapes(self, input_shape: Shape) -> list[Shape]:
        """The input shape each child layer receives."""
        raise NotImplementedError

    def init(self, key: jax.Array, input_shape: Shape) -> Params:
        """Create the parameter pytree for examples of ``input_shape`` (no batch axis).

        Arguments:
            key: a PRNG key (``jax.random.key(0)``).
            input_shape: one example's shape, e.g. ``(784,)`` or ``(32, 32, 3)``; a tuple of
                shapes for a Parallel model.

        Returns:
            ``{layer_name: layer_params}`` in layer order.
        """
        self._check_not_empty()
        shapes = self.child_input_shapes(check_shape(input_shape))
        keys = _split(key, len(self.layers))
        return {name: layer.init(k, s) for name, layer, k, s in zip(self.names, self.layers, keys, shapes)}

    def _check_not_empty(self) -> None:
        """Refuse to build or run a container without layers, as Keras does."""
        if not self.layers:
            kind = type(self).__name__
            raise ValueError(
                f"{kind}{f' {self.name!r}' if self.name else ''} has no layers: add some, e.g. "
                f"{kind}([Dense(10)]) or model.add(Dense(10)), before building or training it"
            )

    def _check_call(self, params, x) -> None:
        """Refuse, with what to pass instead, parameters of another model and inputs that are not arrays."""
        if not isinstance(params, Mapping) or set(params) != set(self.names):
            got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
            raise ValueError(
                f"these parameters do not belong to this {type(self).__name__}: they hold {got}, its "
                f"layers are {list(self.names)}; pass the parameters this model's init returned"
            )
        if x is None:
            raise TypeError(f"{type(self).__name__}.apply got x=None; pass a batch of inputs (batch axis first)")

    def _children(self, key):
        """(name, layer, key) for each child, the key split only when given."""
        return zip(self.names, self.layers, _split(key, len(self.layers)))

    def _run(self, name, layer, params, x, state: dict, **kwargs):
        """Apply one child in a named scope, keeping its state under its name; returns its output."""
        with jax.named_scope(name):  # groups the layer's operations in jaxprs and profiles
            y, child_state = layer.apply_with_state(params[name], x, **kwargs)
        if child_state:
            state[name] = child_state
        return y

    def apply(self, params, x, *, key=None, training=False):
        """Run the children (see ``apply_with_state``) and return the output only."""
        try:
            return self.apply_with_state(params, x, key=key, training=training)[0]
        except ValueError as err:
            # a layer names the shape it got, which for a single example is not one the user wrote
            if "expected input of shape" not in str(err) or not hasattr(x, "shape"):
                raise
            raise ValueError(
                f"{err}; the model was given x of shape {tuple(x.shape)}: apply takes a batch, batch axis "
                "first (for one example pass x[None])"
            ) from err


def _may_draw(layer: Layer) -> bool:
    """Whether ``layer`` may draw from its PRNG key: a Dropout with a nonzero rate, a container holding one,
    or any layer type not known to be deterministic."""
    from jaxnet import layers

    if isinstance(layer, _Container):
        return any(_may_draw(child) for child in layer.layers)
    if type(layer) is layers.Dropout:
        return layer.rate > 0
    return type(layer) not in (
        layers.Dense,
        layers.Conv2D,
        layers.MaxPooling2D,
        layers.AveragePooling2D,
        layers.Flatten,
        layers.Activation,
        layers.Identity,
        layers.Maxout,
        layers.Concatenate,
    )


@dataclass(frozen=True, init=False)
class Sequential(_Container):
    """A plain stack of layers, each feeding the next (Keras' Sequential, stax's serial)."""

    def child_input_shapes(self, input_shape):
        shapes = []
        for layer in self.layers:
            shapes.append(input_shape)
            input_shape = layer.output_shape(input_shape)
        return shapes

    def output_shape(self, input_shape):
        for layer in self.layers:
            input_shape = layer.output_shape(input_shape)
        return input_shape

    def apply_with_state(self, params, x, *, key=None, training=False, mask=None):
        """Run the layers in order. ``key`` is split so each stochastic layer gets its own; when at most
        one layer can draw from it (one Dropout, say), that layer gets ``key`` itself and nothing is split.

        Returns:
            ``(output, state)``, the state keyed by layer name (``{}`` when no layer has any).
        """
        self._check_not_empty()
        self._check_call(params, x)
        x = _literal_batch(x)
        users = [i for i, layer in enumerate(self.layers) if _may_draw(layer)] if key is not None else []
        if len(users) <= 1:
            keys = [key if i in users else None for i in range(len(self.layers))]
        else:
            keys = _split(key, len(self.layers))
        state: dict = {}
        for name, layer, k in zip(self.names, self.layers, keys):
            x = self._run(name, layer, params, x, state, key=k, training=training, mask=mask)
        return x, state

    def summary(self, input_shape: Shape) -> str:
        """The Keras-3-style summary table as text; nothing is allocated to compute it.

        Arguments:
            input_shape: one example's shape, without the batch axis.

        Returns:
            The table: Layer (type) | Output Shape | Param #, then the totals.
        """
        return summary_table(self, tuple(input_shape))


@dataclass(frozen=True, init=False)
class Branch(_Container):
    """Feed the same input to every child and return their outputs as a tuple (stax's FanOut + parallel)."""

    def child_input_shapes(self, input_shape):
        return [input_shape] * len(self.layers)

    def output_shape(self, input_shape):
        return tuple(layer.output_shape(input_shape) for layer in self.layers)

    def apply_with_state(self, params, x, *, key=None, training=False, mask=None):
        self._check_not_empty()
        self._check_call(params, x)
        state: dict = {}
        outputs = tuple(
            self._run(name, layer, params, x, state, key=k, training=training, mask=mask)
            for name, layer, k in self._children(key)
        )
        return outputs, state


@dataclass(frozen=True, init=False)
class Parallel(_Container):
    """Apply the i-th child to the i-th input of a tuple (stax's parallel), for multi-input models."""

    def child_input_shapes(self, input_shape):
        if len(input_shape) != len(self.layers) or not all(isinstance(s, tuple) for s in input_shape):
            raise ValueError(
                f"Parallel with {len(self.layers)} layers expects a tuple of {len(self.layers)} input shapes, "
                f"got {input_shape!r}"
            )
        return list(input_shape)

    def output_shape(self, input_shape):
        shapes = self.child_input_shapes(input_shape)
        return tuple(layer.output_shape(s) for layer, s in zip(self.layers, shapes))

    def apply_with_state(self, params, x, *, key=None, training=False, mask=None):
        self._check_not_empty()
        self._check_call(params, x)
        if not isinstance(x, (tuple, list)) or len(x) != len(self.layers):
            raise ValueError(
                f"Parallel with {len(self.layers)} layers expects a tuple of {len(self.layers)} "
                f"input batches, got {type(x).__name__}"
            )
        state: dict = {}
        outputs = tuple(
            self._run(name, layer, params, xi, state, key=k, training=training, mask=mask)
            for (name, layer, k), xi in zip(self._children(key), x)
        )
        return outputs, state
