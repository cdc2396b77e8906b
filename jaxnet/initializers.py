"""Weight initializers: functions ``init(key, shape, dtype=float32) -> array``, with Keras' names and defaults.

They follow Keras 3 (``keras.initializers``): fan-in / fan-out are read from the last
two axes times the receptive field (a Dense kernel (in, out), a Conv2D kernel
(height, width, in, out)); truncated normals are cut at two standard deviations and,
in the variance-scaling family, rescaled by 1/0.8796 so the variance is the named one.
Parameterised ones (``random_normal(stddev=...)``, ``variance_scaling(...)``) are
factories; the registry holds each with Keras' defaults. Keras' ``"normal"`` is
``random_normal`` with stddev 0.05; the book's ``weight_init_std`` of 0.01 is ``"book_normal"``.
"""

from __future__ import annotations

from typing import Callable, Literal, cast

import jax
import jax.numpy as jnp

from jaxnet._src.registry import resolve

Initializer = Callable[..., jax.Array]

_Distribution = Literal["truncated_normal", "normal", "uniform"]
_DISTRIBUTIONS: dict[str, _Distribution] = {
    "truncated_normal": "truncated_normal",
    "untruncated_normal": "normal",
    "normal": "normal",
    "uniform": "uniform",
}


def _seeded(init: Callable, seed: int | None) -> Initializer:
    """``init`` drawing from ``jax.random.key(seed)`` when a seed is given (Keras' ``seed=``), else from the key."""
    if seed is None:
        return init
    return lambda key, shape, dtype=jnp.float32: init(jax.random.key(seed), shape, dtype)


def variance_scaling(
    scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal", seed: int | None = None
) -> Initializer:
    """Keras' VarianceScaling: variance ``scale / n`` with n the fan-in, fan-out or their average.

    Arguments:
        scale: the variance numerator (positive).
        mode: "fan_in", "fan_out" or "fan_avg".
        distribution: "truncated_normal", "untruncated_normal" (or "normal") or "uniform".
        seed: draw from this seed instead of the key given to the initializer.

    Returns:
        An initializer.

    Raises:
        ValueError: for a non-positive scale or an unknown mode or distribution.
    """
    if not scale > 0:
        raise ValueError(f"variance_scaling scale must be positive, got {scale!r}")
    if mode not in ("fan_in", "fan_out", "fan_avg"):
        raise ValueError(f"variance_scaling mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
    if distribution not in _DISTRIBUTIONS:
        raise ValueError(f"variance_scaling distribution must be one of {sorted(_DISTRIBUTIONS)}, got {distribution!r}")
    fan = cast(Literal["fan_in", "fan_out", "fan_avg"], mode)  # checked above
    return _seeded(jax.nn.initializers.variance_scaling(scale, fan, _DISTRIBUTIONS[distribution]), seed)


glorot_uniform: Initializer = variance_scaling(1.0, "fan_avg", "uniform")
glorot_uniform.__doc__ = "Keras' default kernel initializer: U(-l, l) with l = sqrt(6 / (fan_in + fan_out))."
glorot_normal: Initializer = variance_scaling(1.0, "fan_avg", "truncated_normal")
glorot_normal.__doc__ = "Truncated normal with variance 2 / (fan_in + fan_out) (Xavier)."
he_normal: Initializer = variance_scaling(2.0, "fan_in", "truncated_normal")
he_normal.__doc__ = "Truncated normal with variance 2 / fan_in (for ReLU layers), as Keras' he_normal."
he_uniform: Initializer = variance_scaling(2.0, "fan_in", "uniform")
he_uniform.__doc__ = "U(-l, l) with l = sqrt(6 / fan_in)."
lecun_normal: Initializer = variance_scaling(1.0, "fan_in", "truncated_normal")
lecun_normal.__doc__ = "Truncated normal with variance 1 / fan_in (for SELU layers)."
lecun_uniform: Initializer = variance_scaling(1.0, "fan_in", "uniform")
lecun_uniform.__doc__ = "U(-l, l) with l = sqrt(3 / fan_in)."


def constant(value: float = 0.0) -> Initializer:
    """Every entry ``value`` (Keras' Constant); the key is ignored."""
    return lambda key, shape, dtype=jnp.float32: jnp.full(shape, value, dtype)


def zeros(key: jax.Array, shape, dtype=jnp.float32) -> jax.Array:
    """All zeros (Keras' default bias initializer). The key is ignored."""
    del key
    return jnp.zeros(shape, dtype)


def ones(key: jax.Array, shape, dtype=jnp.float32) -> jax.Array:
    """All ones (BatchNormalization's gamma and moving variance). The key is ignored."""
    del key
    return jnp.ones(shape, dtype)


def random_normal(mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> Initializer:
    """Keras' RandomNormal: N(mean, stddev^2), stddev 0.05 by default."""
    return _seeded(lambda key, shape, dtype=jnp.float32: mean + stddev * jax.random.normal(key, shape, dtype), seed)


def random_uniform(minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> Initializer:
    """Keras' RandomUniform: U(minval, maxval), [-0.05, 0.05] by default."""
    return _seeded(lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, minval, maxval), seed)


def truncated_normal(mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> Initializer:
    """Keras' TruncatedNormal: N(mean, stddev^2) redrawn beyond two stddevs (so the actual std is 0.88 stddev)."""
    return _seeded(
        lambda key, shape, dtype=jnp.float32: mean + stddev * jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype),
        seed,
    )


def orthogonal(gain: float = 1.0, seed: int | None = None) -> Initializer:
    """Keras' Orthogonal: a (semi-)orthogonal matrix over the last axis times ``gain`` (shapes of rank >= 2)."""
    return _seeded(jax.nn.initializers.orthogonal(scale=gain), seed)


def identity(gain: float = 1.0) -> Initializer:
    """Keras' Identity: ``gain`` times the identity matrix (2-D shapes; rectangular ones get ones on the diagonal)."""

    def init(key, shape, dtype=jnp.float32):
        if len(shape) != 2:
            raise ValueError(f"the identity initializer makes 2-D matrices, got shape {tuple(shape)}")
        return gain * jnp.eye(*shape, dtype=dtype)

    return init


def normal(std: float = 0.01) -> Initializer:
    """Gaussian N(0, std^2); the book's ``weight_init_std`` is 0.01 (``"book_normal"``).

    Arguments:
        std: standard deviation.

    Returns:
        An initializer function.
    """
    return random_normal(0.0, std)


REGISTRY: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "lecun_normal": lecun_normal,
    "lecun_uniform": lecun_uniform,
    "orthogonal": orthogonal(),
    "variance_scaling": variance_scaling(),
    "zeros": zeros,
    "zero": zeros,
    "ones": ones,
    "one": ones,
    "constant": constant(),
    "identity": identity(),
    "random_normal": random_normal(),
    "normal": random_normal(),
    "random_uniform": random_uniform(),
    "uniform": random_uniform(),
    "truncated_normal": truncated_normal(),
    "book_normal": normal(0.01),
}


def get(initializer: str | Initializer) -> Initializer:
    """Resolve an initializer given by name (Keras' names, and "book_normal") or as a function.

    Raises:
        ValueError: for an unknown name; the message lists the known ones.
    """
    return resolve("initializer", initializer, REGISTRY)
