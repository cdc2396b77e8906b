"""Training input that does not fit in memory: NumPy memmaps and Grain data sources, streamed in chunks.

The epoch's shuffled order is the same as for resident data (one permutation from
the epoch's key), and so is the compiled step: a chunk of ``c`` batches is read on
the host (the rows of ``order[chunk]``), put on the devices, and the step gathers
each batch from it by its position, as it gathers from a resident data set. Grain
runs the reads ahead of the device in background threads (``to_iter_dataset`` with
``ReadOptions``: a prefetch buffer of chunks), and JAX dispatches each chunk's
compiled call asynchronously, so the host reads chunk k+1 while the device trains
on chunk k (and waits for chunk k before sending k+1, so no more than that is in
memory).

A memmap's rows are read from its file with ``os.preadv``, not through the mapping:
pages touched through a mapping count in the process's resident memory (the kernel
maps the neighbours of each touched page too), so random access would grow the
resident set toward the file's size. Under several processes each
process reads only the rows of each chunk that its devices hold, and the global
chunk is assembled with ``jax.make_array_from_process_local_data``.
"""

from __future__ import annotations

import mmap
import os
import sys
from typing import Any, Callable, Iterator

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

#: Bytes of input per streamed chunk (a chunk is a whole number of batches, at least one). Measured on a
#: 512 MiB memmap: 2 MiB chunks add about 40 MiB to the peak resident memory, 8 MiB chunks about 130 MiB.
CHUNK_BYTES = 2 << 20
#: Chunks read ahead of the device.
PREFETCH = 2


def _grain():
    try:
        import grain
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise ImportError(
            "streaming input (a memmap or a Grain source) needs the 'grain' package: "
            "pip install 'jaxnet-scratch[stream]'"
        ) from err
    return grain


def _is_grain_source(x) -> bool:
    """A Grain ``MapDataset``, or a random-access data source in Grain's sense (``__len__`` and ``__getitem__``).

    Arrays, and dicts, lists and tuples (pytrees of inputs), are data in memory, never sources; nor are strings
    (Grain's source protocol only asks for __len__ and __getitem__).
    """
    if hasattr(x, "shape") or isinstance(x, (dict, list, tuple, str, bytes)):
        return False
    grain = sys.modules.get("grain")  # a Grain source exists only once grain is imported: no import here
    return grain is not None and isinstance(x, (grain.MapDataset, grain.sources.RandomAccessDataSource))


def is_stream(x) -> bool:
    """Whether ``fit`` streams ``x`` (a NumPy memmap or a Grain data source / MapDataset) rather than loading it."""
    return isinstance(x, np.memmap) or _is_grain_source(x)


def _file_view(array: np.memmap) -> tuple[str, int]:
    """The file and byte offset of a C-contiguous memmap (or a slice of one)."""
    root: np.ndarray = array
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not isinstance(root.base, mmap.mmap) or not array.flags.c_contiguous or root.filename is None:
        raise ValueError(
            "a memmap to stream must be a C-contiguous view of a file (np.memmap or np.load(..., "
            "mmap_mode='r')); copy it to a contiguous file first"
        )
    return os.fspath(root.filename), root.offset + (array.ctypes.data - root.ctypes.data)


def _memmap_reader(array: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``read(indices) -> rows`` for an array; a memmap's rows are read from its file with ``os.preadv``."""
    if not isinstance(array, np.memmap):
        return lambda indices: array[indices]
    filename, offset = _file_view(array)
    row_shape, dtype = array.shape[1:], array.dtype
    row_bytes = int(np.prod(row_shape, dtype=np.int64)) * dtype.itemsize

    def read(indices):
        indices = np.asarray(indices, np.int64)
        order = np.argsort(indices, kind="stable")
        ordered = indices[order]
        rows = np.empty((len(indices), row_bytes), np.uint8)
        # runs of consecutive rows are read with one call each, walking the file forwards
        cuts = np.flatnonzero(np.diff(ordered) != 1) + 1
        fd = os.open(filename, os.O_RDONLY)
        try:
            for start, stop in zip(np.r_[0, cuts], np.r_[cuts, len(ordered)]):
                want = int(stop - start) * row_bytes
                if os.preadv(fd, [rows[start:stop]], offset + int(ordered[start]) * row_bytes) != want:
                    raise OSError(f"{filename!r} is shorter than the memmap's shape {array.shape}")
        finally:
            os.close(fd)
        out = np.empty_like(rows)
        out[order] = rows
        return out.view(dtype).reshape(len(indices), *row_shape)

    return read


class Stream:
    """A training set read in chunks: ``x`` and ``y`` memmaps/arrays, or a source of ``(x, y)`` examples.

    Arguments:
        x: a NumPy memmap (or array) of inputs, or a Grain ``MapDataset`` / random-access data source whose
            items are ``(x, y)`` pairs (then ``y`` is None).
        y: the targets for a memmap ``x`` (an array or memmap), else None.
        read_threads: Grain threads reading chunks ahead.
    """

    def __init__(self, x, y=None, read_threads: int = 2):
        self.read: Callable[[np.ndarray], tuple[np.ndarray, ...]]  # batch indices -> (x, y) rows
        if isinstance(x, np.ndarray):
            if y is None or len(x) != len(y):
                raise ValueError(
                    f"a memmap x needs targets y of the same length, got {None if y is None else len(y)}"
                    f" for {len(x)} examples"
                )
            read_x, read_y = _memmap_reader(x), _memmap_reader(np.asarray(y) if not isinstance(y, np.memmap) else y)
            self.read = lambda idx: (read_x(idx), read_y(idx))
            self.labels = y if not isinstance(y, np.memmap) else None
        else:
            if y is not None:
                raise ValueError("a Grain source yields (x, y) pairs: pass y=None")
            self.read = lambda idx: tuple(np.stack(parts) for parts in zip(*(x[int(i)] for i in idx)))
            self.labels = None
        self.n = len(x)
        if self.n == 0:
            raise ValueError("the training source is empty")
        self.read_threads = read_threads
        self.example = self.read(np.zeros(1, np.int64))

    def __len__(self) -> int:
        return self.n

    def chunk_batches(self, batch_size: int) -> int:
        """Batches per chunk: about ``CHUNK_BYTES`` of input, at least one batch."""
        row_bytes = sum(a[0].nbytes for a in self.example)
        return max(1, CHUNK_BYTES // max(1, row_bytes * batch_size))

    def chunks(self, order: np.ndarray, per_chunk: int, mesh) -> Iterator[tuple[int, int, Any]]:
        """``(start, size, (x, y))`` for each run of ``per_chunk`` batches of ``order`` (num_batches, batch_size).

        The rows are on the devices, split by rows over ``mesh`` (None: the default device); each
        process reads only its rows.
        """
        grain = _grain()
        num_batches, batch_size = order.shape
        starts = list(range(0, num_batches, per_chunk))
        sharding = None if mesh is None else NamedSharding(mesh, PartitionSpec("data"))

        def local(size: int) -> slice:
            """The rows of a chunk of ``size`` batches that this process's devices hold."""
            if sharding is None:
                return slice(None)
            rows = [
                index[0].indices(size * batch_size)[:2]
                for index in sharding.addressable_devices_indices_map((size * batch_size,)).values()
                if index is not None  # typed Optional; a device of this process always holds an index
            ]
            return slice(min(r[0] for r in rows), max(r[1] for r in rows))

        def read(i: int):
            size = min(per_chunk, num_batches - starts[i])
            return size, self.read(order[starts[i] : starts[i] + size].reshape(-1)[local(size)])

        ahead = (
            grain.MapDataset.range(len(starts))
            .map(read)
            .to_iter_dataset(grain.ReadOptions(num_threads=self.read_threads, prefetch_buffer_size=PREFETCH))
        )
        for start, (size, rows) in zip(starts, ahead):
            if sharding is None:
                yield start, size, jax.tree.map(jax.numpy.asarray, rows)
            else:
                shape = lambda a: (size * batch_size, *a.shape[1:])
                yield (
                    start,
                    size,
                    jax.tree.map(lambda a: jax.make_array_from_process_local_data(sharding, a, shape(a)), rows),
                )


def run_epoch(
    step: Callable, steps_per_call: int | None, loops: dict, carry, batches, stream: Stream, batch_size: int, parallel
) -> Any:
    """Run one epoch's ``step`` over a stream, a chunk at a time; returns the final carry.

    Arguments:
        step: the training step ``step(carry, (idx, mask, key), (x, y))`` that gathers its batch by ``idx``.
        steps_per_call: as for ``jaxnet._src.loops.batch_loop``, within each chunk.
        loops: a dict kept across epochs, holding the compiled loop for each chunk length.
        carry: the step's carry at the start of the epoch.
        batches: the epoch's ``(order, mask, keys)``, each with one row per batch.
        stream: the training set.
        batch_size: examples per batch.
        parallel: the ``DataParallel`` layout.
    """
    from jaxnet._src.loops import batch_loop

    order, mask, keys = batches
    per_chunk = stream.chunk_batches(batch_size)
    positions = parallel.replicate(np.arange(per_chunk * batch_size).reshape(per_chunk, batch_size))
    for start, size, data in stream.chunks(np.asarray(jax.device_get(order)), per_chunk, parallel.mesh):
        if size not in loops:
            loops[size] = batch_loop(step, size, steps_per_call)
        part = (positions[:size], mask[start : start + size], keys[start : start + size])
        # Dispatch is asynchronous: without this wait the host would queue every chunk of the epoch on the
        # device at once (the whole file in memory). Waiting for the previous chunk before sending the next
        # keeps one chunk on the device and PREFETCH read ahead on the host.
        carry = jax.block_until_ready(carry)
        carry, _ = loops[size](carry, part, data)
    return carry
