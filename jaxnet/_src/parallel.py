"""Data parallelism over every device JAX sees, with ``jax.sharding``.

A one-axis ``Mesh`` named "data" spans the devices. Parameters, optimizer state and
the resident data set are replicated; inside the compiled epoch each mini-batch
is constrained to be split along its batch axis, so every device computes the
gradient of its slice and XLA inserts the all-reduce. With one device all of this
is a no-op. For several hosts, call ``jax.distributed.initialize()`` first on
every host: ``jax.devices()`` then lists the devices of all hosts and the same
code runs unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


@dataclass(frozen=True)
class DataParallel:
    """How fit places arrays: ``mesh`` is None on a single device."""

    mesh: Mesh | None

    @classmethod
    def over(cls, devices: Sequence[jax.Device] | None = None) -> "DataParallel":
        """A data-parallel layout over ``devices`` (default: all of ``jax.devices()``)."""
        devices = list(jax.devices() if devices is None else devices)
        if not devices:
            raise ValueError("devices must name at least one device")
        return cls(Mesh(np.array(devices), ("data",)) if len(devices) > 1 else None)

    @property
    def size(self) -> int:
        """The number of devices a batch is split over."""
        return 1 if self.mesh is None else self.mesh.devices.size

    def check_batch_size(self, batch_size: int) -> None:
        """Raise a clear error when a batch cannot be split evenly over the devices."""
        if batch_size % self.size:
            raise ValueError(f"batch_size {batch_size} cannot be split evenly over {self.size} devices; "
                             f"use a multiple of {self.size} (or pass devices=... to fit)")

    def replicate(self, tree: Any) -> Any:
        """Put a pytree on every device (or on the default device)."""
        if self.mesh is None:
            # device_put copies a NumPy array once (none on a CPU when the array is 64-byte aligned, which
            # it then aliases); jnp.asarray makes a second, temporary copy, which triples the peak memory
            return jax.device_put(tree)
        return jax.device_put(tree, NamedSharding(self.mesh, PartitionSpec()))

    def shard_batch(self, tree: Any, axis: int = 0) -> Any:
        """Inside a jitted function: split every array of ``tree`` along ``axis`` over the devices."""
        if self.mesh is None:
            return tree
        spec = NamedSharding(self.mesh, PartitionSpec(*([None] * axis), "data"))
        return jax.tree.map(lambda a: jax.lax.with_sharding_constraint(a, spec), tree)
