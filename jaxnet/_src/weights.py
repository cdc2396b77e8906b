"""Sample weights, class weights, weighted metrics and the validation split, as Keras 3 defines them.

Keras 3 weighs the loss by ``sample_weight`` (or by ``class_weight`` turned into
one weight per example), and only the metrics given as ``weighted_metrics``: plain
``metrics`` stay unweighted. The trainer carries one weight per example (ones when
none are given), gathers it with each batch and folds the padding mask into it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from jaxnet._src import inputs

#: The key of the summed weights in the per-epoch sums (the divisor of the weighted metrics; never logged).
WEIGHT_SUM = "_weight_sum"


def split_validation(arrays: tuple, validation_split: float) -> tuple[tuple, tuple | None]:
    """Hold out the last examples as Keras 3 does: training keeps ``x[:floor(n * (1 - split))]``.

    Arguments:
        arrays: the arrays to split alike (x, y and the sample weights; a None entry stays None).
        validation_split: the fraction held out, in [0, 1); 0 holds nothing out.

    Returns:
        ``(train_arrays, validation_arrays)``; the second is None when nothing is held out.

    Raises:
        ValueError: for a fraction outside [0, 1), or one that leaves either part empty.
    """
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    if not validation_split:
        return arrays, None
    n = inputs.num_examples(arrays[0])
    cut = int(math.floor(n * (1.0 - validation_split)))  # Keras' own expression, for the same count
    if cut in (0, n):
        raise ValueError(
            f"validation_split={validation_split} of {n} examples leaves "
            f"{'no training' if cut == 0 else 'no validation'} example; use more data or another split"
        )
    train = tuple(None if a is None else inputs.take(a, slice(None, cut)) for a in arrays)
    return train, tuple(None if a is None else inputs.take(a, slice(cut, None)) for a in arrays)


def class_weight_to_sample_weights(y: Any, class_weight: Mapping[int, float]) -> np.ndarray:
    """One weight per example from ``{class index: weight}`` (absent classes weigh 1), as Keras 3.

    Labels are class indices, (n, 1) columns, or one-hot / probability rows (their argmax).
    """
    y = np.asarray(y)
    if y.ndim > 1:
        y = np.argmax(y, axis=-1) if y.shape[-1] != 1 else np.squeeze(y, axis=-1)
    labels = np.round(y).astype(np.int64).reshape(len(y), -1)[:, 0]
    return np.array([class_weight.get(int(c), 1.0) for c in labels], np.float32)


def example_weights(
    y: Any, sample_weight: Any = None, class_weight: Mapping | None = None, what: str = "training"
) -> np.ndarray | None:
    """Validated per-example weights (float32, shape ``(n,)``) from ``sample_weight`` or ``class_weight``.

    Returns:
        The weights, or None when neither is given.

    Raises:
        ValueError: when both are given, or for weights of the wrong length, negative or not finite.
    """
    if sample_weight is not None and class_weight is not None:
        raise ValueError("give sample_weight or class_weight, not both (Keras refuses both too)")
    if class_weight is not None:
        if not isinstance(class_weight, Mapping):
            raise ValueError(f"class_weight must be a dict {{class index: weight}}, got {type(class_weight).__name__}")
        return class_weight_to_sample_weights(y, class_weight)
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, np.float32)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    n = inputs.num_examples(y)
    if w.shape != (n,):
        raise ValueError(f"{what} sample_weight must hold one weight per example, shape ({n},); got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{what} sample_weight must be finite and non-negative")
    return w


def or_ones(weights: np.ndarray | None, n: int) -> np.ndarray:
    """The weights, or ones when there are none (the trainer always carries a weight per example)."""
    return np.ones(n, np.float32) if weights is None else weights


def loss_weights(mask: jax.Array, weights: jax.Array) -> jax.Array:
    """The ``sample_weight`` a batch's loss gets: the example weights, 0 on padding, scaled by size / real count.

    With Keras' default reduction (sum over the batch size) the loss is then ``sum(w * l) / real count``:
    the padded last batch of jaxnet's fixed shapes weighs as Keras' shorter last batch (Keras' own masking).
    """
    return mask * weights * (mask.size / jnp.sum(mask))


@dataclass(frozen=True)
class Weighted:
    """A per-example metric that the sample weights weigh (Keras' ``weighted_metrics``)."""

    fn: Callable

    def __call__(self, y_pred, y_true):
        return self.fn(y_pred, y_true)


@functools.lru_cache(maxsize=256)
def weighted(fn: Callable) -> Weighted:
    """``fn`` as a weighted metric; the same wrapper for the same function, so compiled epochs are reused."""
    return Weighted(fn)


def _per_example(name: str, fn: Callable, y_pred, y_true) -> jax.Array:
    """``fn(y_pred, y_true)``; a metric that cannot take these targets is named in the error, with the shapes."""
    try:
        return fn(y_pred, y_true)
    except (TypeError, ValueError) as err:
        pred, true = jax.tree.map(jnp.shape, y_pred), jax.tree.map(jnp.shape, y_true)
        sparse = hasattr(y_pred, "shape") and hasattr(y_true, "shape") and y_true.shape[1:] in ((), (1,))
        advice = (
            "the targets are integer class labels: use a metric for them ('accuracy', "
            "'sparse_categorical_accuracy', 'sparse_top_k_categorical_accuracy') or one-hot encode y "
            "(jaxnet.keras.utils.to_categorical)"
            if sparse and y_pred.ndim == 2 and y_pred.shape[1] > 1
            else "give targets shaped like the predictions, or pick a metric for these targets"
        )
        raise ValueError(
            f"metric {name!r} cannot compare a batch's predictions of shape {pred} with targets of shape {true} "
            f"({err}): {advice}"
        ) from err  # the chain keeps the traceback into a custom metric's own code


def metric_sums(metric_fns: Mapping[str, Callable], y_pred, y_true, mask, weights) -> dict:
    """One batch's metric sums: ``sum(v * mask)``, or ``sum(v * mask * w)`` for weighted metrics, and the weight sum."""
    sums = {
        name: jnp.sum(_per_example(name, fn, y_pred, y_true) * (mask * weights if isinstance(fn, Weighted) else mask))
        for name, fn in metric_fns.items()
    }
    sums[WEIGHT_SUM] = jnp.sum(mask * weights)
    return sums


def means(sums: Mapping[str, Any], metric_fns: Mapping[str, Callable], n: int) -> dict[str, float]:
    """The logged values from host sums: the loss and plain metrics over n examples, weighted ones over the weights.

    Returns:
        ``{name: float}`` in Keras' order, the loss first (0 for a weighted metric whose weights are all 0).
    """
    out = {"loss": float(sums["loss"]) / n} if "loss" in sums else {}
    for name, fn in metric_fns.items():
        total = float(sums[WEIGHT_SUM]) if isinstance(fn, Weighted) else n
        out[name] = float(sums[name]) / total if total else 0.0
    return out
