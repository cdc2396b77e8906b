"""Per-example gradients with ``jax.vmap``, and their norms at batch cost: the mini-batch lesson made explicit.

A mini-batch gradient is the mean of the per-example gradients. ``vmap`` computes
all of them in one vectorised call instead of a Python loop over examples.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp


def per_example_gradients(loss_fn: Callable, params, x, y):
    """The gradient of ``loss_fn`` for each example separately.

    Arguments:
        loss_fn: ``loss_fn(params, x_batch, y_batch) -> scalar`` (a batch-mean loss).
        params: the parameter pytree.
        x: inputs with the batch axis first.
        y: targets with the batch axis first.

    Returns:
        A pytree like ``params`` whose leaves have a leading batch axis; its mean over that
        axis equals ``jax.grad(loss_fn)(params, x, y)``.
    """
    single = lambda p, xi, yi: loss_fn(p, xi[None], yi[None])
    return jax.vmap(jax.grad(single), in_axes=(None, 0, 0))(params, x, y)


def _batch_loss(model, loss: Callable) -> Callable:
    """``loss_fn(params, x_batch, y_batch)`` for per_example_gradients, in inference mode."""
    return lambda p, xb, yb: loss(model.apply(p, xb, key=None, training=False), yb)


def _fast_path(model) -> bool:
    """True for a Sequential whose Dense layers all have biases and whose other layers have no parameters."""
    from jaxnet.layers import Activation, Dense, Dropout, Flatten, Identity
    from jaxnet.model import Sequential

    if type(model) is not Sequential:
        return False
    return all((isinstance(layer, Dense) and layer.use_bias) or isinstance(layer, (Activation, Dropout, Flatten,
                                                                                   Identity))
               for layer in model.layers)


def per_example_gradient_norms(model, params, x, y, loss: Callable) -> jax.Array:
    """The L2 norm of each example's full gradient, at about the cost of one batch gradient.

    Each example's loss is ``loss`` on a batch of that one example, as in ``per_example_gradients``
    (whose norms these are). For a ``loss`` that averages over the batch, the batch-mean loss's
    gradient is the mean of these per-example gradients, so a per-example gradient is ``B`` times
    that example's share of the batch gradient.

    For a Sequential of Dense (with bias), Flatten, Dropout, Activation and Identity layers on 2-D
    inputs, nothing of size B x P is built: one backward pass gives each Dense layer's per-example
    deltas (the gradient with respect to its pre-activation output, which is the per-example bias
    gradient), and the weight gradient of example i is the outer product ``a_i delta_i^T`` of its
    input and delta, whose squared norm is ``||a_i||^2 ||delta_i||^2``. So
    ``||g_i||^2 = sum over Dense layers of (||a_i||^2 + 1) ||delta_i||^2``. Any other model falls
    back to the norms of ``per_example_gradients`` (vmap of grad). Dropout is off (inference mode).

    Arguments:
        model: a jaxnet model (``apply(params, x, key=None, training=False)``).
        params: its parameter pytree.
        x: inputs with the batch axis first.
        y: targets with the batch axis first.
        loss: ``loss(y_pred, y_true) -> scalar`` over a batch, e.g. ``losses.sparse_categorical_crossentropy``.

    Returns:
        A vector of B gradient norms.
    """
    if _fast_path(model):
        try:
            return _dense_norms(model, params, x, y, loss)
        except _NotFlat:
            pass
    grads = per_example_gradients(_batch_loss(model, loss), params, x, y)
    squares = [jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1) for g in jax.tree.leaves(grads)]
    return jnp.sqrt(sum(squares))


class _NotFlat(Exception):
    """A Dense layer saw an input that is not (batch, features): the outer-product identity needs one row each."""


def _dense_norms(model, params, x, y, loss: Callable) -> jax.Array:
    """per_example_gradient_norms' fast path (see there)."""
    from jaxnet.layers import Dense

    batch = x.shape[0]
    dense = [name for name, layer in zip(model.names, model.layers) if isinstance(layer, Dense)]
    # A per-example copy of each Dense bias: b broadcasts in Dense.apply, so its gradient is the delta.
    biases = {name: jnp.broadcast_to(params[name]["b"], (batch, *params[name]["b"].shape)) for name in dense}

    def total_loss(biases):
        h, sq_inputs = x, {}
        for name, layer in zip(model.names, model.layers):
            p = params[name]
            if name in biases:
                if h.ndim != 2:
                    raise _NotFlat(name)
                sq_inputs[name] = jnp.sum(h**2, axis=1)  # ||a_i||^2, the Dense layer's input
                p = {**p, "b": biases[name]}
            h = layer.apply(p, h, key=None, training=False)
        per_example = jax.vmap(lambda yp, yt: loss(yp[None], yt[None]))(h, y)
        return jnp.sum(per_example), sq_inputs  # summed: row i of each delta is example i's own

    deltas, sq_inputs = jax.grad(total_loss, has_aux=True)(biases)
    squared = sum((sq_inputs[name] + 1.0) * jnp.sum(deltas[name] ** 2, axis=1) for name in dense)
    return jnp.sqrt(squared)
