"""Data sets as pytrees: one array, or a tuple, list or dict of arrays sharing the batch axis.

A model with several inputs (a ``Parallel`` or a functional model) takes ``(x_a, x_b)`` or
``{"name_a": x_a, "name_b": x_b}``, and one with several outputs is trained on such a tree of
targets. Training, evaluation and prediction batch every leaf by the same example indices;
these helpers are the only places that look inside such a tree.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnet._src.checks import as_array, count_non_finite


def _is_array_like(value: Any) -> bool:
    """A leaf of a data tree: an array, or a nested list of numbers (one input given as a plain list)."""
    if isinstance(value, (np.ndarray, jax.Array)) or np.isscalar(value):
        return True
    return isinstance(value, list) and bool(value) and all(np.isscalar(v) or isinstance(v, list) for v in value)


def as_arrays(data: Any, what: str = "data") -> Any:
    """``data`` with every leaf an array of real numbers; tuples, lists and dicts of arrays keep their structure.

    A list of numbers (or of lists of numbers) is one array, as NumPy reads it; a list or tuple of
    arrays is several inputs. Arrays are not copied (see ``jaxnet._src.checks.as_array``).

    Raises:
        TypeError: for a leaf that is not an array of real numbers, named by its place in ``data``.
    """
    if isinstance(data, dict):
        return {k: as_arrays(v, f"{what}[{k!r}]") for k, v in data.items()}
    if isinstance(data, (tuple, list)) and data and not _is_array_like(data):
        return type(data)(as_arrays(v, f"{what}[{i}]") for i, v in enumerate(data))
    return as_array(data, what)


def leaves(data: Any) -> list:
    """The arrays of a data tree, in order."""
    return jax.tree.leaves(data)


def is_tree(data: Any) -> bool:
    """True for several arrays (a tuple, list or dict), False for one array."""
    return isinstance(data, (tuple, list, dict))


def num_examples(data: Any) -> int:
    """The length of the batch axis that every array of ``data`` shares."""
    return len(leaves(data)[0])


def take(data: Any, index: Any) -> Any:
    """The examples ``index`` (indices or a slice) of every array, inside or outside ``jax.jit``."""
    return jax.tree.map(lambda a: a[index], data)


def to_device(data: Any) -> Any:
    """Every array as a ``jax.Array``."""
    return jax.tree.map(jnp.asarray, data)


def check(data: Any, name: str, what: str) -> int:
    """Check that ``data`` (one array or a tree) has arrays with one shared, non-empty batch axis of finite values.

    Arguments:
        data: the output of ``as_arrays``.
        name: "x" or "y", for messages.
        what: "training", "validation", ... for messages.

    Returns:
        The number of examples.

    Raises:
        ValueError: naming the array and the problem.
    """
    paths = jax.tree_util.tree_flatten_with_path(data)[0]
    if not paths:
        raise ValueError(f"{what} {name} holds no arrays")
    lengths = {}
    for path, arr in paths:
        label = name + jax.tree_util.keystr(path)
        if arr.ndim == 0:
            raise ValueError(f"{what} {label} must have a batch axis, got shape {arr.shape}")
        bad = count_non_finite(arr)  # chunked; bfloat16 and float16 included
        if bad:
            raise ValueError(
                f"{what} {label} contains {bad} NaN or infinite values ({arr.dtype}); clean or impute them first"
            )
        lengths[label] = len(arr)
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k} has {v}" for k, v in lengths.items())
        raise ValueError(f"the {what} arrays of {name} must have the same number of examples: {shown}")
    return next(iter(lengths.values()))
