"""Activation functions as plain ``jnp`` functions, plus a name registry.

Every function maps an array to an array of the same shape (softmax and
log_softmax normalise over ``axis``, the last one by default). ``get("relu")``
returns the function registered under a name, so layers can take
``activation="relu"`` exactly as Keras does.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from jaxnet._src.registry import resolve

Activation = Callable[[jax.Array], jax.Array]


def step(x: jax.Array) -> jax.Array:
    """The perceptron's step function: 1 where x > 0, else 0 (in x's dtype).

    Its derivative is zero almost everywhere, which is why the book replaces it
    with sigmoid before learning by gradient descent.
    """
    x = jnp.asarray(x)
    return (x > 0).astype(x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.int32)


def identity(x: jax.Array) -> jax.Array:
    """The identity, the book's output activation for regression."""
    return jnp.asarray(x)


def sigmoid(x: jax.Array) -> jax.Array:
    """1 / (1 + exp(-x)), computed without overflow for large |x|."""
    return jax.nn.sigmoid(x)


def tanh(x: jax.Array) -> jax.Array:
    """Hyperbolic tangent."""
    return jnp.tanh(x)


def relu(x: jax.Array) -> jax.Array:
    """max(0, x). The derivative is 1 for x > 0 and 0 for x <= 0, as the book's Relu layer masks."""
    x = jnp.asarray(x)
    return jnp.where(x > 0, x, jnp.zeros_like(x))


def leaky_relu(x: jax.Array, negative_slope: float = 0.2) -> jax.Array:
    """x for x > 0, else negative_slope * x: Keras 3's default slope 0.2 (the notes' 0.1 is ``notes_leaky_relu``)."""
    x = jnp.asarray(x)
    return jnp.where(x > 0, x, negative_slope * x)


def notes_leaky_relu(x: jax.Array) -> jax.Array:
    """The course notes' (004) Leaky ReLU, max(0.1 x, x): ``leaky_relu`` with a slope of 0.1."""
    return leaky_relu(x, 0.1)


def elu(x: jax.Array, alpha: float = 1.0) -> jax.Array:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return jax.nn.elu(x, alpha)


def selu(x: jax.Array) -> jax.Array:
    """Scaled ELU with the self-normalising constants of Klambauer et al. (2017)."""
    return jax.nn.selu(x)


def swish(x: jax.Array) -> jax.Array:
    """x * sigmoid(x), also called SiLU."""
    return jax.nn.silu(x)


#: Keras' and JAX's other name for swish.
silu = swish


def mish(x: jax.Array) -> jax.Array:
    """x * tanh(softplus(x))."""
    return x * jnp.tanh(jax.nn.softplus(x))


def gelu(x: jax.Array) -> jax.Array:
    """Gaussian error linear unit, exact (erf) form as Keras uses by default."""
    return jax.nn.gelu(x, approximate=False)


def softplus(x: jax.Array) -> jax.Array:
    """log(1 + exp(x)), stable for large x."""
    return jax.nn.softplus(x)


def softmax(x: jax.Array, axis: int = -1) -> jax.Array:
    """exp(x) / sum(exp(x)) along ``axis``; the maximum is subtracted first so large inputs do not overflow."""
    x = jnp.asarray(x)
    shifted = x - jax.lax.stop_gradient(jnp.max(x, axis=axis, keepdims=True))
    e = jnp.exp(shifted)
    return e / jnp.sum(e, axis=axis, keepdims=True)


def log_softmax(x: jax.Array, axis: int = -1) -> jax.Array:
    """log(softmax(x)) computed as x - logsumexp(x), stable for any input size."""
    x = jnp.asarray(x)
    shifted = x - jax.lax.stop_gradient(jnp.max(x, axis=axis, keepdims=True))
    return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis=axis, keepdims=True))


REGISTRY: dict[str, Activation] = {
    "step": step,
    "identity": identity,
    "linear": identity,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "notes_leaky_relu": notes_leaky_relu,
    "elu": elu,
    "selu": selu,
    "swish": swish,
    "silu": swish,
    "mish": mish,
    "gelu": gelu,
    "softplus": softplus,
    "softmax": softmax,
    "log_softmax": log_softmax,
}


def get(activation: str | Activation | None) -> Activation:
    """Resolve an activation given by name (``"relu"``), as a function, or None (identity).

    Raises:
        ValueError: for an unknown name; the message lists the known ones.
    """
    return identity if activation is None else resolve("activation", activation, REGISTRY)


def name_of(activation: str | Activation | None) -> str:
    """The display name of an activation (its registry name, else the function's __name__)."""
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        return activation
    return getattr(activation, "__name__", type(activation).__name__)
