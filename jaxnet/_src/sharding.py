"""Placing a data set on a device mesh by rows, each process reading only the rows its devices hold.

``fit`` used to copy the whole data set onto every device. Here the rows are split
along a one-axis mesh: with D devices each holds about n / D rows (the row count is
padded with zeros to a multiple of D; the padded rows are never indexed). The
global array is assembled with ``jax.make_array_from_callback``, whose callback is
called only for the shards of this process's devices, so under
``jax.distributed.initialize`` every process reads only its share (by
``jax.process_index()``: a mesh over ``jax.devices()`` lists each process's
devices together), which for a NumPy memmap means only its rows are read from disk.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def padded_rows(n: int, parts: int) -> int:
    """``n`` rounded up to a multiple of ``parts``."""
    return -(-n // parts) * parts


def _rows(array: np.ndarray, index: tuple, total: int) -> np.ndarray:
    """The rows of ``array`` that ``index`` (a tuple of slices of the padded global array) selects, zero-padded."""
    rows = index[0] if index else slice(None)
    start, stop, _ = rows.indices(total)
    part = np.asarray(array[start : min(stop, len(array))])  # the only read of the data
    if stop > len(array):
        part = np.concatenate([part, np.zeros((stop - max(start, len(array)), *array.shape[1:]), array.dtype)])
    return part[(slice(None), *index[1:])]


def shard_rows(mesh: Mesh | None, tree: Any) -> Any:
    """Put every array of ``tree`` on ``mesh``, split along its first axis (rows padded to a multiple of the size).

    Arguments:
        mesh: a one-axis mesh named "data", or None for the default device (no padding, no split).
        tree: a pytree of host arrays (NumPy arrays or memmaps) with equal first axes.

    Returns:
        The same pytree of global ``jax.Array``s; under several processes each process has read only its rows.
    """
    if mesh is None:
        # device_put copies a NumPy array once (none on a CPU when it is 64-byte aligned, which it then
        # aliases); jnp.asarray would make a second, temporary copy and triple the peak memory
        return jax.device_put(tree)
    sharding = NamedSharding(mesh, PartitionSpec("data"))

    def put(array):
        total = padded_rows(len(array), mesh.devices.size)
        shape = (total, *np.shape(array)[1:])
        return jax.make_array_from_callback(shape, sharding, lambda index: _rows(array, index, total))

    return jax.tree.map(put, tree)


def replicate(mesh: Mesh | None, tree: Any) -> Any:
    """Put a pytree on every device of ``mesh`` (or on the default device when None).

    Every process must pass the same values. The leaves go through the host, so that arrays
    committed to one process's device can be replicated over the devices of all processes.
    """
    if mesh is None:
        return jax.device_put(tree)
    sharding = NamedSharding(mesh, PartitionSpec())
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)
    return jax.tree.map(lambda a: jax.make_array_from_callback(np.shape(a), sharding, lambda i: np.asarray(a)[i]), tree)
