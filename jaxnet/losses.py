"""Loss functions as plain ``jnp`` functions, plus a name registry.

Convention: every loss is called ``loss(y_pred, y_true)`` (the book's ``(y, t)``
order, also Optax's), and returns a scalar. The Keras-style losses compute one
value per example (Keras averages the last axis) and reduce them as Keras 3's
loss objects do, by the ``reduction`` they are given (see ``REDUCTIONS``): the
default ``"sum_over_batch_size"`` is ``sum(w * l) / batch size``, so weights of
0.1 scale the loss by 0.1 (they are not renormalised). The trainer masks the
padded examples of a last partial batch through ``sample_weight``.

The book's own two losses keep the book's definitions:
``sum_squared_error`` is 0.5 * sum((y - t)^2) and ``cross_entropy_error`` adds
a delta of 1e-7 inside the log and averages over the batch.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxnet import activations
from jaxnet._src.labels import CLASS_INDEX, ONE_HOT, TARGETS, check_integer_labels, one_hot, takes
from jaxnet._src.registry import resolve

Loss = Callable[..., jax.Array]

#: Keras' epsilon: probabilities are clipped to [EPSILON, 1 - EPSILON] before a log.
EPSILON = 1e-7


#: Keras 3's reductions (``keras.losses.Loss(reduction=...)``), with w the sample weights and l the values:
#: "sum_over_batch_size" (Keras' default) and its alias "mean": sum(w * l) / number of values;
#: "mean_with_sample_weight": sum(w * l) / sum(w), the weighted mean; "sum": sum(w * l);
#: "none" (or None): the weighted values w * l themselves, one per example.
REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight", "sum", "none")
DEFAULT_REDUCTION = "sum_over_batch_size"


def _divide_no_nan(a: jax.Array, b: jax.Array) -> jax.Array:
    """a / b, and 0 where b is 0 (Keras' ``divide_no_nan``: all-zero weights give a zero loss, not NaN)."""
    safe = jnp.where(b == 0, 1, b)
    return jnp.where(b == 0, 0, a / safe)


def reduce_weighted(values: jax.Array, sample_weight=None, reduction: str | None = DEFAULT_REDUCTION) -> jax.Array:
    """Weight and reduce a loss's values as Keras 3's ``reduce_weighted_values`` does.

    Arguments:
        values: the loss's values, batch axis first (one per example, or more per example for sequence outputs).
        sample_weight: one weight per example (shape ``(batch,)``), broadcast over the values' other axes;
            None weighs every example 1.
        reduction: one of ``REDUCTIONS`` (None means "none").

    Returns:
        A scalar, or the weighted values for ``reduction="none"``.

    Raises:
        ValueError: for an unknown reduction name.
    """
    reduction = "none" if reduction is None else reduction
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; Keras 3's reductions are {', '.join(REDUCTIONS)}")
    values = jnp.asarray(values)
    weights = None
    if sample_weight is not None:
        weights = jnp.asarray(sample_weight, values.dtype)
        weights = weights.reshape(weights.shape + (1,) * (values.ndim - weights.ndim))
        values = values * weights
    if reduction == "none" or values.ndim == 0:
        return values
    total = jnp.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weights is not None:
        return _divide_no_nan(total, jnp.sum(jnp.broadcast_to(weights, values.shape)))
    return _divide_no_nan(total, jnp.asarray(values.size, values.dtype))


def _last_axis_mean(values: jax.Array) -> jax.Array:
    """Keras' per-example values: the mean over the last axis (values of shape ``(batch,)`` are kept)."""
    return values if values.ndim <= 1 else jnp.mean(values, axis=-1)


def per_example_mean(values: jax.Array) -> jax.Array:
    """Average over every axis but the first (Keras averages the last axis of each example).

    Arguments:
        values: element-wise values, batch axis first.

    Returns:
        One value per example, shape ``(batch,)``.
    """
    values = jnp.asarray(values)
    if values.ndim <= 1:
        return values
    return jnp.mean(values.reshape(values.shape[0], -1), axis=1)


# --- the book's losses -------------------------------------------------------------------------


@takes(TARGETS)
def sum_squared_error(y: jax.Array, t: jax.Array) -> jax.Array:
    """The book's ``mean_squared_error``: E = 0.5 * sum((y - t)^2) over every element.

    Arguments:
        y: network output (e.g. softmax probabilities).
        t: one-hot target of the same shape.

    Returns:
        The scalar loss (0.0975 for the book's example with t = 2).
    """
    y, t = jnp.asarray(y), jnp.asarray(t)
    return 0.5 * jnp.sum((y - t) ** 2)


def cross_entropy_error(y: jax.Array, t: jax.Array, delta: float = 1e-7) -> jax.Array:
    """The book's cross entropy on probabilities: -sum(t * log(y + delta)) / N.

    Arguments:
        y: probabilities, shape (N, C) or (C,).
        t: one-hot targets of y's shape, or integer labels of shape (N,) or ().
        delta: added inside the log so log(0) never occurs (the book's 1e-7).

    Returns:
        The batch-averaged scalar loss (0.510825457 for the book's example with t = 2).
    """
    y = jnp.asarray(y)
    if y.ndim == 1:
        y = y[None, :]
        t = jnp.asarray(t).reshape(1, -1) if jnp.size(t) == y.size else jnp.reshape(t, (1,))
    t = jnp.asarray(t)
    if t.shape != y.shape and t.size == y.size and t.size > y.shape[0]:
        t = t.reshape(y.shape)  # one-hot rows written without the batch axis, e.g. y (1, 10) with t (10,)
    if t.shape == y.shape:
        return -jnp.sum(t * jnp.log(y + delta)) / y.shape[0]
    if not isinstance(t, jax.core.Tracer):  # concrete labels (the book's eager use): a bad one is an error
        check_integer_labels(np.asarray(t), y.shape[-1], "cross_entropy_error's labels t")
    picked = jnp.take_along_axis(y, t.astype(jnp.int32).reshape(-1, 1), axis=1)
    return -jnp.sum(jnp.log(picked + delta)) / y.shape[0]


# --- Keras-style losses (Keras' reductions) ---------------------------------------------------
# Each takes ``sample_weight`` (one weight per example) and ``reduction`` (one of REDUCTIONS).


@takes(TARGETS)
def mean_squared_error(y_pred, y_true, sample_weight=None, reduction=DEFAULT_REDUCTION):
    """Keras' MSE: mean((y_pred - y_true)^2) per example, then over the batch (the L2 loss)."""
    err = jnp.asarray(y_pred) - jnp.asarray(y_true).reshape(jnp.shape(y_pred))
    return reduce_weighted(_last_axis_mean(err**2), sample_weight, reduction)


@takes(TARGETS)
def mean_absolute_error(y_pred, y_true, sample_weight=None, reduction=DEFAULT_REDUCTION):
    """Keras' MAE: mean(|y_pred - y_true|) per example, then over the batch (the L1 loss)."""
    err = jnp.asarray(y_pred) - jnp.asarray(y_true).reshape(jnp.shape(y_pred))
    return reduce_weighted(_last_axis_mean(jnp.abs(err)), sample_weight, reduction)


@takes(TARGETS)
def huber(y_pred, y_true, sample_weight=None, delta: float = 1.0, reduction=DEFAULT_REDUCTION):
    """Huber loss: quadratic for |error| <= delta, linear beyond (robust to outliers in regression)."""
    err = jnp.abs(jnp.asarray(y_pred) - jnp.asarray(y_true).reshape(jnp.shape(y_pred)))
    quadratic = jnp.minimum(err, delta)
    values = 0.5 * quadratic**2 + delta * (err - quadratic)
    return reduce_weighted(_last_axis_mean(values), sample_weight, reduction)


@takes(ONE_HOT)
def categorical_crossentropy(
    y_pred, y_true, sample_weight=None, from_logits: bool = False, reduction=DEFAULT_REDUCTION
):
    """Cross entropy against one-hot targets.

    Arguments:
        y_pred: probabilities (the output of a softmax layer), or logits with ``from_logits=True``.
        y_true: one-hot targets of the same shape.
        sample_weight: optional per-example weights.
        from_logits: treat y_pred as unnormalised logits (stable log-softmax, no clipping).
        reduction: one of ``REDUCTIONS`` (Keras' default "sum_over_batch_size").

    Returns:
        The reduced loss (a scalar, or one value per example for "none").
    """
    y_pred, y_true = jnp.asarray(y_pred), jnp.asarray(y_true)
    if y_true.shape != y_pred.shape:
        indices = y_true.shape in (y_pred.shape[:-1], y_pred.shape[:-1] + (1,))
        raise ValueError(
            f"categorical_crossentropy takes one-hot y_true of y_pred's shape {y_pred.shape}, got "
            f"{y_true.shape}" + ("; these are class indices: use sparse_categorical_crossentropy" if indices else "")
        )
    if from_logits:
        log_p = activations.log_softmax(y_pred)
    else:
        p = y_pred / jnp.sum(y_pred, axis=-1, keepdims=True)
        log_p = jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON))
    # 0 * log p is 0 even where log p = -inf (a class far below a logit of 1e38): never 0 * -inf = NaN
    terms = jnp.where(y_true == 0, 0.0, y_true * log_p)
    return reduce_weighted(-jnp.sum(terms, axis=-1), sample_weight, reduction)


@takes(CLASS_INDEX)
def sparse_categorical_crossentropy(
    y_pred, y_true, sample_weight=None, from_logits: bool = False, reduction=DEFAULT_REDUCTION
):
    """Cross entropy against integer labels (``y_true`` of shape (N,) or (N, 1))."""
    y_pred, y_true = jnp.asarray(y_pred), jnp.asarray(y_true)
    if y_true.size * y_pred.shape[-1] != y_pred.size:
        rows = y_true.shape == y_pred.shape
        raise ValueError(
            f"sparse_categorical_crossentropy takes one class index per row of y_pred {y_pred.shape}, "
            f"got y_true of shape {y_true.shape}"
            + ("; these are one-hot rows: use categorical_crossentropy" if rows else "")
        )
    rows = one_hot(y_true, y_pred.shape[-1], y_pred.dtype, jnp).reshape(y_pred.shape)
    return categorical_crossentropy(y_pred, rows, sample_weight, from_logits=from_logits, reduction=reduction)


@takes(TARGETS)
def binary_crossentropy(y_pred, y_true, sample_weight=None, from_logits: bool = False, reduction=DEFAULT_REDUCTION):
    """Binary cross entropy for 0/1 targets, from probabilities (clipped) or logits (stable)."""
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true, y_pred.dtype).reshape(y_pred.shape)
    if from_logits:
        values = jnp.maximum(y_pred, 0) - y_pred * y_true + jnp.log1p(jnp.exp(-jnp.abs(y_pred)))
    else:
        p = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
        values = -(y_true * jnp.log(p) + (1 - y_true) * jnp.log(1 - p))
    return reduce_weighted(_last_axis_mean(values), sample_weight, reduction)


def _signed_labels(y_true, like):
    """Map 0/1 labels to -1/+1 (labels already in {-1, 1} are kept), as Keras' hinge does."""
    y_true = jnp.asarray(y_true, like.dtype).reshape(like.shape)
    return jnp.where(y_true == 0, -1.0, y_true).astype(like.dtype)


@takes(TARGETS)
def hinge(y_pred, y_true, sample_weight=None, reduction=DEFAULT_REDUCTION):
    """Keras' hinge: mean(max(0, 1 - y_true * y_pred)) with labels in {-1, 1} (0/1 are converted)."""
    y_pred = jnp.asarray(y_pred)
    values = jnp.maximum(0.0, 1.0 - _signed_labels(y_true, y_pred) * y_pred)
    return reduce_weighted(_last_axis_mean(values), sample_weight, reduction)


@takes(TARGETS)
def squared_hinge(y_pred, y_true, sample_weight=None, reduction=DEFAULT_REDUCTION):
    """Keras' squared hinge: mean(max(0, 1 - y_true * y_pred)^2)."""
    y_pred = jnp.asarray(y_pred)
    values = jnp.maximum(0.0, 1.0 - _signed_labels(y_true, y_pred) * y_pred) ** 2
    return reduce_weighted(_last_axis_mean(values), sample_weight, reduction)


REGISTRY: dict[str, Loss] = {
    "sum_squared_error": sum_squared_error,
    "cross_entropy_error": cross_entropy_error,
    "mean_squared_error": mean_squared_error,
    "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "mae": mean_absolute_error,
    "huber": huber,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
    "hinge": hinge,
    "squared_hinge": squared_hinge,
}


def get(loss: str | Loss) -> Loss:
    """Resolve a loss given by name or as a function.

    Raises:
        ValueError: for an unknown name; the message lists the known ones.
    """
    return resolve("loss", loss, REGISTRY)


# --- more of Keras' losses (keras.losses), each the batch mean of a per-example value ------------


def _last_axis(y_pred, y_true):
    y_pred = jnp.asarray(y_pred)
    return y_pred, jnp.asarray(y_true, y_pred.dtype).reshape(y_pred.shape)


@takes(TARGETS)
def mean_absolute_percentage_error(y_pred, y_true, sample_weight=None, reduction=DEFAULT_REDUCTION):
    """Keras' MAPE: 100 * mean(|y_true - y_pred| / max(|y_true|, epsilon)) per example."""
    y_pred, y_true = _last_axis(y_pred, y_true)
    values = 100.0 * jnp.abs(y_true - y_pred) / jnp.maximum(jnp.abs(y_true), EPSILON)
    return reduce_weighted(per_example_mean(values), sample_weight, reduction)


@takes(TARGETS)
def mean_squared_logarithmic_error(y_pred, y_true, sample_weight=None, reduction=DEFAULT_REDUCTION):
    """Keras' MSLE: mean((log(1 + max(y_pred, eps)) - log(1 + max(y_true, eps)))^2) per example."""
    y_pred, y_true = _last_axis(y_pred, y_true)
    values = (jnp.log1p(jnp.maximum(y_pred, EPSILON)) - jnp.log1p(jnp.maximum(y_true, EPSILON))) ** 2
    return reduce_weighted(per_example_mean(values), sample_weight, reduction)


@takes(TARGETS)
def log_cosh(y_pred, y_true, sample_weight=None, reduction=DEFAULT_REDUCTION):
    """Keras' log_cosh: mean(log(cosh(y_pred - y_true))) per example, computed without overflow."""
    y_pred, y_true = _last_axis(y_pred, y_true)
    x = y_pred - y_true
    values = x + jax.nn.softplus(-2.0 * x) - jnp.log(2.0).astype(x.dtype)
    return reduce_weighted(per_example_mean(values), sample_weight, reduction)


@takes(ONE_HOT)
def kl_divergence(y_pred, y_true, sample_weight=None, reduction=DEFAULT_REDUCTION):
    """Keras' KL divergence: sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [eps, 1]."""
    y_pred, y_true = _last_axis(y_pred, y_true)
    y_pred, y_true = jnp.clip(y_pred, EPSILON, 1.0), jnp.clip(y_true, EPSILON, 1.0)
    values = jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)
    return reduce_weighted(per_example_mean(values), sample_weight, reduction)


@takes(TARGETS)
def poisson(y_pred, y_true, sample_weight=None, reduction=DEFAULT_REDUCTION):
    """Keras' Poisson loss: mean(y_pred - y_true * log(y_pred + eps)) per example (y_pred a rate)."""
    y_pred, y_true = _last_axis(y_pred, y_true)
    return reduce_weighted(per_example_mean(y_pred - y_true * jnp.log(y_pred + EPSILON)), sample_weight, reduction)


@takes(ONE_HOT)
def categorical_hinge(y_pred, y_true, sample_weight=None, reduction=DEFAULT_REDUCTION):
    """Keras' categorical hinge: max(0, 1 + max((1 - t) * y) - sum(t * y)) for one-hot t."""
    y_pred, y_true = _last_axis(y_pred, y_true)
    positive = jnp.sum(y_true * y_pred, axis=-1)
    negative = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return reduce_weighted(per_example_mean(jnp.maximum(0.0, negative - positive + 1.0)), sample_weight, reduction)


@takes(TARGETS)
def cosine_similarity(y_pred, y_true, sample_weight=None, axis: int = -1, reduction=DEFAULT_REDUCTION):
    """Keras' cosine similarity loss: minus the cosine of y_pred and y_true along ``axis`` (-1 when aligned)."""
    y_pred, y_true = _last_axis(y_pred, y_true)
    unit = lambda v: v / jnp.sqrt(jnp.maximum(jnp.sum(v * v, axis=axis, keepdims=True), 1e-12))
    return reduce_weighted(per_example_mean(-jnp.sum(unit(y_true) * unit(y_pred), axis=axis)), sample_weight, reduction)


REGISTRY.update(
    {
        "mean_absolute_percentage_error": mean_absolute_percentage_error,
        "mape": mean_absolute_percentage_error,
        "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
        "msle": mean_squared_logarithmic_error,
        "log_cosh": log_cosh,
        "logcosh": log_cosh,
        "kl_divergence": kl_divergence,
        "kld": kl_divergence,
        "kullback_leibler_divergence": kl_divergence,
        "poisson": poisson,
        "categorical_hinge": categorical_hinge,
        "cosine_similarity": cosine_similarity,
    }
)
