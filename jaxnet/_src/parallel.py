"""Data parallelism over every device JAX sees, with ``jax.sharding``.

A one-axis ``Mesh`` named "data" spans the devices. Parameters and optimizer state
are replicated; the resident data set is split by rows over the devices (each holds
about 1/D of it, see ``jaxnet._src.sharding``); inside the compiled epoch each
mini-batch is gathered by the global shuffled order and constrained to be split
along its batch axis, so every device computes the gradient of its slice and XLA
inserts the all-reduce. With one device all of this is a no-op. For several hosts
or processes, call ``jax.distributed.initialize()`` first in every process:
``jax.devices()`` then lists the devices of all of them and the same code runs
unchanged, each process reading only its rows of the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxnet._src import sharding


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

    @property
    def replicated(self) -> NamedSharding | None:
        """The sharding of a value every device holds whole (None on a single device: JAX's default placement)."""
        return None if self.mesh is None else NamedSharding(self.mesh, PartitionSpec())

    def check_batch_size(self, batch_size: int) -> None:
        """Raise a clear error when a batch cannot be split evenly over the devices."""
        if batch_size % self.size:
            raise ValueError(
                f"batch_size {batch_size} cannot be split evenly over {self.size} devices; "
                f"use a multiple of {self.size} (or pass devices=... to fit)"
            )

    def replicate(self, tree: Any) -> Any:
        """Put a pytree on every device (or on the default device); every process passes the same values."""
        return sharding.replicate(self.mesh, tree)

    def shard_rows(self, tree: Any) -> Any:
        """Split the arrays of a data set by rows over the devices (see ``jaxnet._src.sharding.shard_rows``)."""
        return sharding.shard_rows(self.mesh, tree)

    def shard_batch(self, tree: Any, axis: int = 0) -> Any:
        """Inside a jitted function: split every array of ``tree`` along ``axis`` over the devices."""
        if self.mesh is None:
            return tree
        spec = NamedSharding(self.mesh, PartitionSpec(*([None] * axis), "data"))
        return jax.tree.map(lambda a: jax.lax.with_sharding_constraint(a, spec), tree)
