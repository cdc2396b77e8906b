"""Train Flax models with jaxnet's fit / evaluate / predict, unchanged.

``from_linen(module)`` and ``from_nnx(module)`` wrap a Flax module in an object
with jaxnet's layer contract (``init(key, input_shape) -> params``,
``output_shape(input_shape)``, ``apply(params, x, *, key=None, training=False)``),
which is all the trainer needs. Parameters stay Flax's own pytrees (linen's ``params`` dict, nnx's
``State`` of ``nnx.Param``), so they go back into Flax unchanged. A linen module with other
collections (``batch_stats`` of ``nn.BatchNorm``) is trained on its whole variables dict
``{"params": ..., "batch_stats": ...}``: the other collections are its non-trainable state
(``jaxnet.state``), made mutable in training as Flax's own loops do (``mutable=["batch_stats"]``).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp


def _output_shape(model, params, input_shape: tuple) -> tuple:
    """One example's output shape, by abstract evaluation on one example (nothing is computed)."""
    out = jax.eval_shape(lambda p: model.apply(p, jnp.zeros((1, *input_shape))), params)
    return out.shape[1:]


@dataclass(frozen=True)
class LinenModel:
    """A ``flax.linen`` module seen through jaxnet's init / apply.

    Arguments:
        module: the linen module.
        train_arg: the name of the module's boolean call argument for training mode ("training",
            "train"), or "deterministic" (passed ``not training``), or None if it has none.
        dropout_rng: the rng collection name its Dropout layers draw from.
    """

    module: Any
    train_arg: str | None = "auto"
    dropout_rng: str = "dropout"

    def _train_kwargs(self, training: bool) -> dict:
        arg = self.train_arg
        if arg == "auto":
            names = inspect.signature(type(self.module).__call__).parameters
            arg = next((n for n in ("training", "train", "deterministic") if n in names), None)
        if arg is None:
            return {}
        return {arg: (not training) if arg == "deterministic" else training}

    def init(self, key: jax.Array, input_shape: tuple) -> Any:
        """The module's variables for examples of ``input_shape``.

        Returns:
            Its ``params`` collection; or, for a module with other collections (``batch_stats``), the whole
            variables dict ``{"params": ..., "batch_stats": ...}``.
        """
        variables = self.module.init(
            {"params": key, self.dropout_rng: key}, jnp.zeros((1, *input_shape)), **self._train_kwargs(False)
        )
        return dict(variables) if set(variables) - {"params"} else variables["params"]

    def output_shape(self, input_shape: tuple) -> tuple:
        """The module's output shape for one example of ``input_shape``."""
        params = jax.eval_shape(lambda k: self.init(k, input_shape), jax.random.key(0))
        return _output_shape(self, params, tuple(input_shape))

    def apply(self, params, x, *, key=None, training=False):
        """Run the module (Dropout draws from ``key`` when training)."""
        return self.apply_with_state(params, x, key=key, training=training)[0]

    def apply_with_state(self, params, x, *, key=None, training=False, mask=None):
        """Run the module; in training its collections other than params are mutable and returned updated.

        ``mask`` is not passed on: a linen BatchNorm's statistics include the padded copies in the last
        partial batch of an epoch (choose a batch size that divides the data to avoid it).
        """
        del mask
        variables = params if _is_variables(params) else {"params": params}
        state_names = [name for name in variables if name != "params"]
        rngs = {self.dropout_rng: key} if key is not None else None
        if training and state_names:
            y, state = self.module.apply(variables, x, rngs=rngs, mutable=state_names, **self._train_kwargs(True))
            return y, dict(state)
        y = self.module.apply(variables, x, rngs=rngs, **self._train_kwargs(training))
        return y, {name: variables[name] for name in state_names}


def _is_variables(params) -> bool:
    """Whether ``params`` is a whole linen variables dict (params plus other collections), as ``init`` returns."""
    return isinstance(params, dict) and "params" in params and len(params) > 1


def from_linen(module, train_arg: str | None = "auto", dropout_rng: str = "dropout") -> LinenModel:
    """Wrap a ``flax.linen`` module for ``jaxnet.fit`` (see ``LinenModel``)."""
    return LinenModel(module, train_arg, dropout_rng)


@dataclass(frozen=True)
class NNXModel:
    """A ``flax.nnx`` module split into a graph definition, its ``nnx.Param`` state and the rest.

    ``params`` is the trainable state to pass to fit; ``module(params)`` merges trained
    parameters back into a live nnx module.
    """

    graphdef: Any
    params: Any
    rest: Any = field(repr=False)

    def module(self, params=None):
        """A live nnx module with ``params`` (default: the initial ones)."""
        from flax import nnx

        return nnx.merge(self.graphdef, self.params if params is None else params, self.rest)

    def init(self, key: jax.Array, input_shape: tuple) -> Any:
        """The module's parameters: nnx creates them with the module, so ``key`` is not used.

        Arguments:
            key: unused (kept for jaxnet's layer contract).
            input_shape: checked against the module by abstract evaluation.

        Returns:
            ``params``.
        """
        del key
        self.output_shape(input_shape)
        return self.params

    def output_shape(self, input_shape: tuple) -> tuple:
        """The module's output shape for one example of ``input_shape``."""
        return _output_shape(self, self.params, tuple(input_shape))

    def apply(self, params, x, *, key=None, training=False):
        """Run the module on merged parameters (Dropout draws from ``key`` when training)."""
        from flax import nnx

        # The non-trainable state (RNG counters) is copied into this trace so nnx may update it.
        model = nnx.merge(self.graphdef, params, jax.tree.map(jnp.copy, self.rest))
        if key is not None:
            streams = {s.tag for _, s in nnx.iter_graph(model) if isinstance(s, nnx.RngStream)}
            if streams:
                nnx.reseed(model, **{tag: key for tag in streams})
        model.train() if training else model.eval()
        return model(x)


def from_nnx(module) -> NNXModel:
    """Split a ``flax.nnx`` module for ``jaxnet.fit``: ``fit(m, m.params, x, y, ...)``.

    Raises:
        ValueError: for a module with BatchNorm statistics (``nnx.BatchStat``), which this adapter would
            leave at their initial values; use a linen module (``from_linen``) or jaxnet's BatchNormalization.
    """
    from flax import nnx

    if jax.tree.leaves(nnx.state(module, nnx.BatchStat)):
        raise ValueError(
            "the nnx module has BatchNorm statistics (nnx.BatchStat), which from_nnx does not update "
            "in training; write it with flax.linen (from_linen trains batch_stats) or with "
            "jaxnet.BatchNormalization"
        )
    graphdef, params, *rest = nnx.split(module, nnx.Param, ...)  # two filters: two states
    return NNXModel(graphdef, params, rest[0])
