"""What labels a loss takes, and the one one-hot encoder.

Every loss of ``jaxnet.losses`` declares the form of ``y_true`` it takes
(``loss.label_form``): class indices, one-hot rows (or probabilities), or targets
shaped like the output. ``check_labels`` compares the labels a user passes with
that form and with the model's output shape before anything is compiled, so that
a mismatch is an error that names the loss that fits instead of a silent
broadcast or a raw shape error deep inside JAX.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import jax.numpy as jnp
import numpy as np

CLASS_INDEX = "class indices"
ONE_HOT = "one-hot rows"
TARGETS = "targets shaped like the output"


def takes(form: str) -> Callable:
    """Decorator: declare the label form a loss takes (``CLASS_INDEX``, ``ONE_HOT`` or ``TARGETS``)."""

    def mark(loss: Callable) -> Callable:
        loss.label_form = form  # type: ignore[attr-defined]
        return loss

    return mark


def _unwrapped(loss: Callable) -> Callable:
    """The function behind ``functools.partial`` wrappers."""
    while isinstance(loss, functools.partial):
        loss = loss.func
    return loss


def label_form(loss: Callable) -> str | None:
    """The label form a loss declares, looking through ``functools.partial``; None if undeclared."""
    return getattr(_unwrapped(loss), "label_form", None)


def one_hot(labels: Any, num_classes: int, dtype: Any, xp: Any = np) -> Any:
    """One-hot rows for integer class labels, with NumPy (``xp=np``) or inside JAX (``xp=jax.numpy``).

    Arguments:
        labels: integer labels of any shape (flattened).
        num_classes: the number of columns.
        dtype: the rows' dtype (follow the predictions', so float32 stays float32).
        xp: the array module.

    Returns:
        An array of shape ``(labels.size, num_classes)``; a label outside the range gives a zero row.
    """
    labels = xp.asarray(labels).reshape(-1)
    return (labels[:, None] == xp.arange(num_classes)).astype(dtype)


def _check_whole(y: np.ndarray, what: str) -> None:
    """Raise unless every value of ``y`` is a finite whole number (0.0 and 2.0 are; 1.7, NaN and "a" are not)."""
    if not (y.dtype == bool or np.issubdtype(y.dtype, np.integer) or jnp.issubdtype(y.dtype, jnp.floating)):
        raise ValueError(
            f"{what} must be whole-number class labels, got an array of {y.dtype}; "
            "convert them to integers (e.g. with np.unique(y, return_inverse=True))"
        )
    if not np.issubdtype(y.dtype, np.integer):
        whole = np.isfinite(y) & (np.mod(y, 1) == 0)
        if not np.all(whole):
            raise ValueError(
                f"{what} must be whole-number class labels, got values such as {y[~whole][:3]}; "
                "round or re-encode them first (a fraction is never truncated silently)"
            )


def class_labels(y: Any, num_classes: int | None, what: str = "labels") -> tuple[np.ndarray, int]:
    """Validated integer class labels and the number of classes (``max + 1`` when ``num_classes`` is None).

    Raises:
        ValueError: for non-numeric or fractional labels, or labels outside [0, num_classes).
    """
    y = np.asarray(y)
    _check_whole(y, what)
    y = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"{what} must be in [0, {num_classes - 1}] for num_classes={num_classes}, got {y.min()} to {y.max()}"
        )
    return y, num_classes


def check_integer_labels(y: np.ndarray, num_classes: int, what: str) -> None:
    """Raise unless every label is a whole number in [0, num_classes).

    Raises:
        ValueError: naming the offending values and the valid range.
    """
    if y.size == 0:
        return
    _check_whole(y, what)
    low, high = int(np.min(y)), int(np.max(y))
    if low < 0 or high >= num_classes:
        raise ValueError(
            f"{what} must be class labels in [0, {num_classes - 1}] for a model with {num_classes} "
            f"outputs, got labels from {low} to {high}"
        )


def check_labels(loss: Callable | None, y: Any, output_shape: tuple, what: str = "labels") -> None:
    """Check ``y`` against the label form ``loss`` takes and the model's per-example ``output_shape``.

    Undeclared losses (your own function, a lambda) are judged by the labels' shape alone:
    labels shaped like the output without its last axis are class indices and must be in range.

    Arguments:
        loss: the resolved loss function (or None when only metrics are computed).
        y: the labels, batch axis first.
        output_shape: one example's output shape.
        what: how to name the labels in messages ("training labels", ...).

    Raises:
        ValueError: naming the mismatch and the loss or encoding that fits.
    """
    y = np.asarray(y)
    label_shape, classes = tuple(y.shape[1:]), (output_shape[-1] if output_shape else 1)
    as_indices = label_shape in (tuple(output_shape[:-1]), tuple(output_shape[:-1]) + (1,)) and classes > 1
    as_rows = label_shape == tuple(output_shape)
    form = None if loss is None else label_form(loss)
    name = getattr(_unwrapped(loss), "__name__", "this loss") if loss is not None else ""
    if form == CLASS_INDEX:
        if as_rows and not as_indices:
            raise ValueError(
                f"{what} have shape {y.shape}, one-hot rows, but {name} takes class indices: use "
                "loss='categorical_crossentropy', or pass y.argmax(-1)"
            )
        if not as_indices:
            raise ValueError(
                f"{what} have shape {y.shape}; {name} takes one class index per example "
                f"(shape ({len(y)},)) for a model with output shape {tuple(output_shape)}"
            )
        check_integer_labels(y, classes, what)
    elif form == ONE_HOT:
        if as_indices and not as_rows:
            raise ValueError(
                f"{what} have shape {y.shape}, class indices, but {name} takes one-hot rows of shape "
                f"(N, {classes}): use loss='sparse_categorical_crossentropy', or encode them with "
                "jaxnet.datasets.one_hot"
            )
        if not as_rows:
            raise ValueError(
                f"{what} have shape {y.shape}; {name} takes one-hot rows of the output's shape "
                f"(N, {', '.join(map(str, output_shape))})"
            )
    elif form == TARGETS:
        if math.prod(label_shape) != math.prod(output_shape):
            raise ValueError(
                f"{what} have shape {y.shape} but the model outputs {tuple(output_shape)} per example; "
                f"{name} compares them element by element, so they must hold as many values"
            )
    elif as_indices and not as_rows and np.issubdtype(y.dtype, np.integer):
        check_integer_labels(y, classes, what)
