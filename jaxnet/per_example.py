"""Per-example gradients with ``jax.vmap``: the mini-batch lesson made explicit.

A mini-batch gradient is the mean of the per-example gradients. ``vmap`` computes
all of them in one vectorised call instead of a Python loop over examples.
"""
from __future__ import annotations

from typing import Callable

import jax


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
