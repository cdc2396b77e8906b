"""Non-trainable state (BatchNormalization's moving statistics) kept inside the parameter pytree.

A layer's state lives in its parameters, beside its weights, as Keras keeps it in
``get_weights()``: ``{"gamma", "beta", "moving_mean", "moving_variance"}``. So checkpoints,
``predict`` and ``evaluate`` need nothing special: inference reads the moving statistics
from the parameters. Training changes them by a second route, not by gradients:
``layer.apply_with_state(params, x, training=True)`` returns ``(y, state)``, where ``state``
holds the new values of those entries as a sub-tree of ``params`` (containers key it by
child name; ``{}`` when a model has none), and the training step writes them back with
``merge`` after the optimizer update. The loss does not depend on them in training, so their
gradient is zero, and ``merge`` replaces whatever the optimizer did to them. This is Flax
linen's ``mutable=["batch_stats"]`` with the collection kept inside the one parameter tree.

    y, state = model.apply_with_state(params, x, key=key, training=True)
    params = merge(optax.apply_updates(params, updates), state)
"""

from __future__ import annotations

from typing import Any

import jax

from jaxnet.layers import Params, Shape


def merge(params: Params, state: Any) -> Params:
    """``params`` with the entries present in ``state`` replaced by ``state``'s values.

    Arguments:
        params: the full parameter pytree (nested dicts).
        state: a sub-tree of it, as returned by ``apply_with_state`` (``{}`` changes nothing).

    Returns:
        A new parameter pytree (``params`` itself when ``state`` is empty).
    """
    if not isinstance(state, dict):  # a leaf: the new value
        return state
    if not state:
        return params
    return {**params, **{name: merge(params[name], value) for name, value in state.items()}}


def _example_batch(input_shape: Shape) -> Any:
    """A batch of one example of ``input_shape`` (a tuple of such batches for several inputs), as shapes only."""
    if input_shape and isinstance(input_shape[0], tuple):
        return tuple(_example_batch(s) for s in input_shape)
    return jax.ShapeDtypeStruct((1, *input_shape), jax.numpy.float32)


def state_shapes(model: Any, params: Params, input_shape: Shape) -> Any:
    """The model's state sub-tree as ShapeDtypeStructs, by abstract evaluation (nothing is computed).

    Arguments:
        model: a jaxnet layer or model (anything with ``apply_with_state``; others have no state).
        params: its parameters (arrays or ShapeDtypeStructs).
        input_shape: one example's shape, without the batch axis.

    Returns:
        The state pytree (``{}`` when the model has none).
    """
    if not hasattr(model, "apply_with_state"):
        return {}
    return jax.eval_shape(
        lambda p, x: model.apply_with_state(p, x, training=False)[1], params, _example_batch(input_shape)
    )
