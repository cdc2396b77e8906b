"""Checks of what a user passes to ``fit`` / ``evaluate`` / ``predict``, before anything is compiled.

Each check raises one ``TypeError`` or ``ValueError`` that names the argument, what was wrong and what
to pass instead, so that a mistake never surfaces as a raw error from deep inside NumPy or JAX.
The data check reads large arrays in chunks, so it never makes a temporary copy of the data set.
"""

from __future__ import annotations

import collections.abc
import math
import numbers
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

#: Elements checked for NaN/inf at a time (a bounded temporary, whatever the data's size).
CHUNK_ELEMENTS = 1 << 22


def as_array(data: Any, what: str) -> np.ndarray | jax.Array:
    """``data`` as an array of numbers, without copying an array that already is one.

    Raises:
        TypeError: for None, dicts, generators and other iterators, strings, objects and complex numbers.
    """
    if data is None:
        raise TypeError(f"{what} is None; pass an array of numbers")
    if isinstance(data, (collections.abc.Mapping, str, bytes)):
        raise TypeError(
            f"{what} is a {type(data).__name__}; pass an array of numbers (a dict of inputs is not "
            "supported by this model)"
        )
    if isinstance(data, collections.abc.Iterator):
        raise TypeError(
            f"{what} is an iterator ({type(data).__name__}), which can be read only once; pass an "
            "array, e.g. np.stack(list(...))"
        )
    if not isinstance(data, (np.ndarray, jax.Array)):
        try:
            data = np.asarray(data)
        except ValueError as err:  # ragged nested lists
            raise TypeError(
                f"{what} cannot be made into one array ({err}); give every example the same shape"
            ) from None
    dtype = data.dtype
    if dtype.kind in "OUS" or not (dtype.kind == "b" or jnp.issubdtype(dtype, jnp.number)):
        raise TypeError(
            f"{what} holds {dtype} values (strings or Python objects); convert it to numbers first, "
            "e.g. np.asarray(x, np.float32)"
        )
    if jnp.issubdtype(dtype, jnp.complexfloating):
        raise TypeError(
            f"{what} is complex ({dtype}); jaxnet trains on real numbers: pass the real part, or the "
            "real and imaginary parts as two features"
        )
    return data


def count_non_finite(array: np.ndarray | jax.Array) -> int:
    """The number of NaN and infinite values, counted in chunks (no array-sized temporary).

    Every inexact dtype counts, bfloat16 and float16 included (NumPy does not see bfloat16 as floating).
    """
    if not jnp.issubdtype(array.dtype, jnp.inexact):
        return 0
    if isinstance(array, jax.Array):
        return int(jnp.size(array) - jnp.count_nonzero(jnp.isfinite(array)))  # on the device, one scalar back
    flat = array.reshape(-1) if array.flags.c_contiguous else array.ravel(order="K")
    return sum(
        int(chunk.size - np.count_nonzero(np.isfinite(chunk)))
        for chunk in (flat[i : i + CHUNK_ELEMENTS] for i in range(0, flat.size, CHUNK_ELEMENTS))
    )


def check_data(x: Any, y: Any, what: str = "training") -> tuple[Any, Any]:
    """Validate one data set: arrays of real numbers (or tuples, lists, dicts of them: several inputs or
    outputs), a shared batch axis, the same length, not empty, finite.

    Returns:
        ``(x, y)`` with arrays as leaves (NumPy arrays and JAX arrays are returned as they are, not copied).

    Raises:
        TypeError: for data that are not arrays of real numbers.
        ValueError: naming the problem (shapes, lengths, emptiness, NaN/inf).
    """
    from jaxnet._src import inputs  # inputs builds on this module's array checks

    x, y = inputs.as_arrays(x, f"{what} x"), inputs.as_arrays(y, f"{what} y")
    n_x, n_y = inputs.check(x, "x", what), inputs.check(y, "y", what)
    if n_x != n_y:
        raise ValueError(f"{what} x has {n_x} examples but y has {n_y}; they must match")
    if n_x == 0:
        raise ValueError(f"the {what} data set is empty")
    return x, y


def check_inputs(x: Any, what: str = "predict's x") -> Any:
    """Validate the inputs of ``predict``: arrays of real numbers (or a tree of them) with a non-empty batch axis.

    Raises:
        TypeError / ValueError: naming the problem.
    """
    from jaxnet._src import inputs

    x = inputs.as_arrays(x, what)
    if inputs.check(x, "x", "prediction") == 0:
        raise ValueError(f"{what} is empty; pass a non-empty batch of inputs")
    return x


def _whole(value: Any, name: str, low: int) -> int:
    kind = "a positive integer" if low == 1 else "a non-negative integer"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {kind}, got {value!r} ({type(value).__name__})")
    if value < low:
        raise ValueError(f"{name} must be {kind}, got {value}")
    return int(value)


def check_fit_arguments(
    *,
    epochs: Any,
    initial_epoch: Any,
    batch_size: Any,
    learning_rate: Any,
    validation_split: Any,
    validation_data: Any,
    key: Any,
    devices: Any,
) -> None:
    """Check ``fit``'s scalar and structural arguments, before any data is moved or anything compiled.

    Raises:
        TypeError / ValueError: naming the argument and what it takes.
    """
    _whole(epochs, "epochs", 0)
    _whole(initial_epoch, "initial_epoch", 0)
    _whole(batch_size, "batch_size", 1)
    if learning_rate is not None and not callable(learning_rate):
        if isinstance(learning_rate, (bool, str)) or not isinstance(learning_rate, numbers.Real):
            raise TypeError(
                f"learning_rate must be a number or an Optax schedule, got {learning_rate!r} "
                f"({type(learning_rate).__name__})"
            )
        if not (math.isfinite(learning_rate) and float(learning_rate) > 0):
            raise ValueError(f"learning_rate must be a positive finite number, got {learning_rate}")
    if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real):
        raise TypeError(f"validation_split must be a fraction in [0, 1), got {validation_split!r}")
    if validation_data is not None:
        if (
            isinstance(validation_data, (str, bytes, collections.abc.Mapping))
            or not isinstance(validation_data, collections.abc.Sequence)
            or len(validation_data) not in (2, 3)
        ):
            count = len(validation_data) if isinstance(validation_data, collections.abc.Sized) else "?"
            raise ValueError(
                f"validation_data must be a pair (x_val, y_val) or (x_val, y_val, sample_weight_val), "
                f"got a {type(validation_data).__name__} of {count} items"
            )
        if validation_split:
            raise ValueError("pass validation_data or validation_split, not both")
    if key is not None:
        check_key(key)
    if devices is not None:
        if isinstance(devices, (str, jax.Device)) or not isinstance(devices, collections.abc.Iterable):
            raise TypeError(f"devices must be a list of jax.Device objects (e.g. jax.devices()), got {devices!r}")
        wrong = [d for d in devices if not isinstance(d, jax.Device)]
        if wrong:
            raise TypeError(f"devices must be jax.Device objects such as jax.devices('cpu')[0], got {wrong[0]!r}")


def check_key(key: Any) -> None:
    """Raise unless ``key`` is one JAX PRNG key (``jax.random.key(0)``, or a legacy ``PRNGKey(0)``)."""
    typed = isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key) and key.shape == ()
    legacy = isinstance(key, (jax.Array, np.ndarray)) and key.dtype == np.uint32 and key.shape == (2,)
    if not (typed or legacy):
        raise TypeError(
            f"key must be a JAX PRNG key such as jax.random.key(0), got {key!r}; a seed number is not a key"
        )


LOW_PRECISION = (jnp.float16, jnp.bfloat16)


def warn_if_diverged(loss: float, epoch: int, params: Any) -> bool:
    """Warn when an epoch's loss is NaN or infinite, with advice for float16/bfloat16 parameters.

    Returns:
        Whether it warned.
    """
    if math.isfinite(loss):
        return False
    dtypes = {jnp.dtype(leaf.dtype) for leaf in jax.tree.leaves(params) if hasattr(leaf, "dtype")}
    low = sorted(str(d) for d in dtypes if d in {jnp.dtype(t) for t in LOW_PRECISION})
    advice = (
        f" The parameters are {', '.join(low)}: optimizers such as Adam divide by sqrt(v) + eps, and "
        "in half precision v underflows to 0 and eps (1e-7) rounds away, so steps blow up. Keep the "
        "parameters in float32 (cast only the inputs), or pass an optimizer with a larger eps "
        "(optax.adam(1e-3, eps=1e-3))."
        if low
        else " Lower the learning rate, check the inputs' scale, or add TerminateOnNaN() to stop at once."
    )
    warnings.warn(
        f"the training loss became {loss} in epoch {epoch + 1}; training goes on with NaN/inf parameters.{advice}",
        RuntimeWarning,
        stacklevel=3,
    )
    return True
