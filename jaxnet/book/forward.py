"""The book's three-layer forward pass (chapter 3): ``init_network`` and ``forward``."""

from __future__ import annotations

import jax.numpy as jnp

from jaxnet.activations import identity, sigmoid


def init_network() -> dict:
    """The book's hand-set weights: W1 (2x3), W2 (3x2), W3 (2x2) and their biases."""
    return {
        "W1": jnp.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]),
        "b1": jnp.array([0.1, 0.2, 0.3]),
        "W2": jnp.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]),
        "b2": jnp.array([0.1, 0.2]),
        "W3": jnp.array([[0.1, 0.3], [0.2, 0.4]]),
        "b3": jnp.array([0.1, 0.2]),
    }


def forward(network: dict, x) -> jnp.ndarray:
    """sigmoid(x W1 + b1) -> sigmoid(. W2 + b2) -> identity(. W3 + b3).

    Arguments:
        network: the dict from ``init_network``.
        x: input of shape (2,) or (N, 2).

    Returns:
        The output; [0.31682708, 0.69627909] for x = [1.0, 0.5].
    """
    z1 = sigmoid(jnp.asarray(x) @ network["W1"] + network["b1"])
    z2 = sigmoid(z1 @ network["W2"] + network["b2"])
    return identity(z2 @ network["W3"] + network["b3"])
