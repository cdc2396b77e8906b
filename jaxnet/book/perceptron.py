"""The perceptron: the book's logic gates and Rosenblatt's learning rule.

Gates use the book's hand-picked weights; ``fit`` learns weights with
w <- w + eta * (y - y_hat) * x (and b <- b + eta * (y - y_hat)), one example at a
time, for a fixed number of epochs inside one compiled ``lax.scan``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxnet.activations import step


def gate(x1, x2, w: tuple[float, float], b: float) -> jax.Array:
    """One perceptron: step(w1*x1 + w2*x2 + b) as an int (works element-wise on arrays)."""
    total = w[0] * jnp.asarray(x1, jnp.float32) + w[1] * jnp.asarray(x2, jnp.float32) + b
    return step(total).astype(jnp.int32)


def AND(x1, x2):
    """AND gate with the book's weights (0.5, 0.5) and bias -0.7."""
    return gate(x1, x2, (0.5, 0.5), -0.7)


def NAND(x1, x2):
    """NAND gate with the book's weights (-0.5, -0.5) and bias 0.7."""
    return gate(x1, x2, (-0.5, -0.5), 0.7)


def OR(x1, x2):
    """OR gate with the book's weights (0.5, 0.5) and bias -0.2."""
    return gate(x1, x2, (0.5, 0.5), -0.2)


def XOR(x1, x2):
    """XOR as a two-layer perceptron: AND(NAND(x1, x2), OR(x1, x2)); no single layer can represent it."""
    return AND(NAND(x1, x2), OR(x1, x2))


def predict(params: dict, x: jax.Array) -> jax.Array:
    """Class labels 0/1: step(x @ w + b).

    Arguments:
        params: ``{"w": (features,), "b": ()}``.
        x: inputs of shape (n, features).

    Returns:
        int32 labels of shape (n,).
    """
    return step(jnp.asarray(x, params["w"].dtype) @ params["w"] + params["b"]).astype(jnp.int32)


def fit(x, y, *, eta: float = 1.0, epochs: int = 100, key: jax.Array | None = None) -> tuple[dict, jax.Array]:
    """Learn a perceptron with Rosenblatt's rule, starting from zero weights.

    Arguments:
        x: inputs, shape (n, features).
        y: 0/1 targets, shape (n,).
        eta: learning rate.
        epochs: passes over the data (the rule stops changing once every example is right).
        key: if given, the examples are visited in a new random order each epoch.

    Returns:
        ``(params, errors)``: the learned ``{"w", "b"}`` and the number of misclassified
        examples seen in each epoch (zeros once it has converged).
    """
    x = jnp.asarray(x, jnp.float32)
    y = jnp.asarray(y, jnp.float32)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"fit expects x of shape (n, features) and y of shape (n,), got {x.shape} and {y.shape}")
    params = {"w": jnp.zeros(x.shape[1], jnp.float32), "b": jnp.zeros((), jnp.float32)}
    keys = jax.random.split(key if key is not None else jax.random.key(0), epochs)

    def one_example(params, xy):
        xi, yi = xy
        update = eta * (yi - step(xi @ params["w"] + params["b"]))
        return {"w": params["w"] + update * xi, "b": params["b"] + update}, update != 0

    def one_epoch(params, epoch_key):
        order = jax.random.permutation(epoch_key, x.shape[0]) if key is not None else jnp.arange(x.shape[0])
        params, wrong = jax.lax.scan(one_example, params, (x[order], y[order]))
        return params, jnp.sum(wrong)

    return jax.jit(lambda p, k: jax.lax.scan(one_epoch, p, k))(params, keys)


def accuracy(params: dict, x, y) -> float:
    """Fraction of examples classified correctly."""
    return float(jnp.mean(predict(params, x) == jnp.asarray(y)))
