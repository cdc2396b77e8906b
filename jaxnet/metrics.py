"""Metrics as per-example functions ``metric(y_pred, y_true) -> (batch,)`` and a name registry.

Per-example values let the trainer mask padded examples and average exactly.
``"accuracy"`` adapts to the labels as Keras does: integer labels (sparse),
one-hot labels (categorical) or a single sigmoid output (binary, threshold 0.5).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from jaxnet import losses
from jaxnet._src.registry import resolve
from jaxnet.losses import per_example_mean

Metric = Callable[[jax.Array, jax.Array], jax.Array]


def accuracy(y_pred: jax.Array, y_true: jax.Array) -> jax.Array:
    """1.0 where the prediction is right, per example (sparse, one-hot or binary labels)."""
    y_pred, y_true = jnp.asarray(y_pred), jnp.asarray(y_true)
    if y_pred.ndim == 1 or y_pred.shape[-1] == 1:  # binary: one probability per example
        hit = (y_pred.reshape(y_pred.shape[0], -1) > 0.5) == (y_true.reshape(y_true.shape[0], -1) > 0.5)
        return hit.astype(jnp.float32).mean(axis=1)
    predicted = jnp.argmax(y_pred, axis=-1)
    labels = jnp.argmax(y_true, axis=-1) if y_true.shape == y_pred.shape else y_true.reshape(predicted.shape)
    return per_example_mean((predicted == labels).astype(jnp.float32))


def sparse_categorical_accuracy(y_pred: jax.Array, y_true: jax.Array) -> jax.Array:
    """Keras' sparse_categorical_accuracy: 1.0 where the arg-max class is the integer label, per example."""
    y_pred = jnp.asarray(y_pred)
    predicted = jnp.argmax(y_pred, axis=-1)
    return per_example_mean((predicted == jnp.asarray(y_true).reshape(predicted.shape)).astype(jnp.float32))


def mean_absolute_error(y_pred: jax.Array, y_true: jax.Array) -> jax.Array:
    """|y_pred - y_true| averaged within each example."""
    y_pred = jnp.asarray(y_pred)
    return per_example_mean(jnp.abs(y_pred - jnp.asarray(y_true).reshape(y_pred.shape)))


def mean_squared_error(y_pred: jax.Array, y_true: jax.Array) -> jax.Array:
    """(y_pred - y_true)^2 averaged within each example."""
    y_pred = jnp.asarray(y_pred)
    return per_example_mean((y_pred - jnp.asarray(y_true).reshape(y_pred.shape)) ** 2)


def binary_accuracy(y_pred: jax.Array, y_true: jax.Array, threshold: float = 0.5) -> jax.Array:
    """Keras' binary_accuracy: the fraction of entries where (y_pred > threshold) equals the 0/1 target."""
    y_pred = jnp.asarray(y_pred)
    hit = (y_pred > threshold).astype(jnp.float32) == jnp.asarray(y_true, jnp.float32).reshape(y_pred.shape)
    return per_example_mean(hit.astype(jnp.float32))


def categorical_accuracy(y_pred: jax.Array, y_true: jax.Array) -> jax.Array:
    """Keras' categorical_accuracy: 1.0 where argmax(y_pred) is argmax of the one-hot target."""
    return (jnp.argmax(y_pred, axis=-1) == jnp.argmax(y_true, axis=-1)).astype(jnp.float32)


def top_k_categorical_accuracy(y_pred: jax.Array, y_true: jax.Array, k: int = 5) -> jax.Array:
    """Keras' top_k_categorical_accuracy: 1.0 where the one-hot target's class is among the k highest scores."""
    return sparse_top_k_categorical_accuracy(y_pred, jnp.argmax(y_true, axis=-1), k)


def sparse_top_k_categorical_accuracy(y_pred: jax.Array, y_true: jax.Array, k: int = 5) -> jax.Array:
    """Keras' sparse_top_k_categorical_accuracy: 1.0 where the integer label is among the k highest scores."""
    y_pred = jnp.asarray(y_pred)
    labels = jnp.asarray(y_true).reshape(y_pred.shape[:-1]).astype(jnp.int32)
    target = jnp.take_along_axis(y_pred, labels[..., None], axis=-1)
    # ranked among the top k: fewer than k scores beat it (ties count for the label, as in_top_k does)
    return (jnp.sum(y_pred > target, axis=-1) < k).astype(jnp.float32)


def from_loss(loss: Callable) -> Metric:
    """A Keras loss as a per-example metric: the loss of each example alone (a batch of one, vectorised)."""
    per_example = jax.vmap(lambda p, t: loss(p[None], t[None]))
    metric = lambda y_pred, y_true: per_example(jnp.asarray(y_pred), jnp.asarray(y_true))
    metric.__name__ = loss.__name__
    return metric


REGISTRY: dict[str, Metric] = {
    "accuracy": accuracy,
    "acc": accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "mae": mean_absolute_error,
    "mean_absolute_error": mean_absolute_error,
    "mse": mean_squared_error,
    "mean_squared_error": mean_squared_error,
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    **{
        name: from_loss(losses.get(name))
        for name in (
            "binary_crossentropy",
            "categorical_crossentropy",
            "sparse_categorical_crossentropy",
            "hinge",
            "squared_hinge",
            "categorical_hinge",
            "kl_divergence",
            "poisson",
            "log_cosh",
            "mean_absolute_percentage_error",
            "mean_squared_logarithmic_error",
        )
    },
}
REGISTRY.update(
    mape=REGISTRY["mean_absolute_percentage_error"],
    msle=REGISTRY["mean_squared_logarithmic_error"],
    logcosh=REGISTRY["log_cosh"],
    kld=REGISTRY["kl_divergence"],
)


def get(metric: str | Metric) -> Metric:
    """Resolve a metric by name or return the given per-example function.

    Raises:
        ValueError: for an unknown name; the message lists the known ones.
    """
    return resolve("metric", metric, REGISTRY)


def name_of(metric: str | Metric) -> str:
    """The name used in logs: Keras' short names ("accuracy", "mae"), else the function's name."""
    if isinstance(metric, str):
        return {"acc": "accuracy", "mean_absolute_error": "mae", "mean_squared_error": "mse"}.get(metric, metric)
    return getattr(metric, "__name__", "metric")
