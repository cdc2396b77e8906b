"""Weight initializers: functions ``init(key, shape, dtype=float32) -> array``.

They wrap ``jax.nn.initializers`` (the same variance-scaling rules Keras uses)
so fan-in / fan-out are read from the last two axes, which is right both for a
Dense kernel (in, out) and a Conv2D kernel (height, width, in, out).
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from jaxnet._src.registry import resolve

Initializer = Callable[..., jax.Array]

glorot_uniform: Initializer = jax.nn.initializers.glorot_uniform()
glorot_uniform.__doc__ = "Keras' default kernel initializer: U(-l, l) with l = sqrt(6 / (fan_in + fan_out))."
he_normal: Initializer = jax.nn.initializers.he_normal()
he_normal.__doc__ = "Truncated normal with variance 2 / fan_in (for ReLU layers), as Keras' he_normal."
lecun_normal: Initializer = jax.nn.initializers.lecun_normal()
lecun_normal.__doc__ = "Truncated normal with variance 1 / fan_in (for SELU layers)."


def zeros(key: jax.Array, shape, dtype=jnp.float32) -> jax.Array:
    """All zeros (Keras' default bias initializer). The key is ignored."""
    del key
    return jnp.zeros(shape, dtype)


def normal(std: float = 0.01) -> Initializer:
    """Gaussian N(0, std^2); std=0.01 is the book's ``weight_init_std``.

    Arguments:
        std: standard deviation.

    Returns:
        An initializer function.
    """
    return jax.nn.initializers.normal(stddev=std)


REGISTRY: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "he_normal": he_normal,
    "lecun_normal": lecun_normal,
    "zeros": zeros,
    "normal": normal(),
}


def get(initializer: str | Initializer) -> Initializer:
    """Resolve a initializer given by name or as a function.

    Raises:
        ValueError: for an unknown name; the message lists the known ones.
    """
    return resolve("initializer", initializer, REGISTRY)
