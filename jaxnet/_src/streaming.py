"""Training input that does not fit in memory: NumPy memmaps and Grain data sources, streamed in chunks.

The epoch's shuffled order is the same as for resident data (one permutation from
the epoch's key), and so is the compiled step: a chunk of ``c`` batches is read on
the host (the rows of ``order[chunk]``), put on the devices, and the step gathers
each batch from it by its position, as it gathers from a resident data set. JAX
dispatches each chunk's compiled call asynchronously, so the host reads chunk k+1
while the device trains on chunk k (and waits for chunk k-1 after sending k, so
no more than two chunks are on the device). A memmap's chunk is read in the
calling thread (one vectorised gather; reader threads would only take cores from
XLA's compute threads on a CPU). A Grain source, whose items may run arbitrary
Python (decoding, augmentation), is read by Grain threads ahead of the device
(``to_iter_dataset`` with ``ReadOptions``: a prefetch buffer of chunks).

A memmap's rows are gathered through a read-only mapping of its file that jaxnet
opens itself (one NumPy fancy index, in C), keeping at most ``MAPPED_BYTES`` of it
mapped: pages touched through a mapping count in the process's resident memory
(the kernel maps the pages around each touched one too), so unchecked random
access would grow the resident set toward the file's size. A system call per row
(``os.preadv``) keeps memory as low but costs more host time than the whole
in-memory epoch (0.46 s against 0.36 s for the seeds' MNIST on 2 cores). Measured
there, interleaved in one process (the seeds' MLP, batch 32, 60,000 examples, the
median of 8 epochs per variant; the spread between runs is wide on this shared
machine): ``os.preadv`` in the calling thread 48-55% of in-memory samples/s, the
same by two Grain threads 58%, the mapping 56-74%; reading each chunk only once
the previous one is done (no overlap) 54% against 67% with overlap.

Under several processes each process reads only the rows of each chunk that its
devices hold, and the global chunk is assembled with
``jax.make_array_from_process_local_data``.
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
#: Bytes of a memmap's file that its reads may leave mapped (resident) before they are dropped. A file that
#: fits is never dropped: after the first epoch its rows are read without a page fault. A larger file is
#: read in groups of rows, its pages dropped between them; one touched row can map a whole page-cache
#: folio around it (up to ``_LARGEST_PAGE`` on each side: file systems with large folios, such as ext4 on
#: Linux 6.16+), which sets the group size.
MAPPED_BYTES = 256 << 20
_LARGEST_PAGE = 2 << 20
#: Chunks that Grain's threads read ahead of the device (a Grain source).
PREFETCH = 2


def _grain():
    try:
        import grain
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise ImportError(
            "streaming a Grain source needs the 'grain' package: pip install 'jaxnet-scratch[stream]'"
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
    """``read(indices) -> rows`` for an array; a memmap's rows are gathered through a private mapping.

    The user's own mapping is left untouched (dropping its pages would discard a copy-on-write memmap's
    changes); ours is read-only, so dropping its pages loses nothing. See ``MAPPED_BYTES``.
    """
    if not isinstance(array, np.memmap):
        return lambda indices: array[indices]
    filename, offset = _file_view(array)
    with open(filename, "rb") as file:
        if os.fstat(file.fileno()).st_size < offset + array.nbytes:
            raise OSError(f"{filename!r} is shorter than the memmap's shape {array.shape}")
        mapping = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)  # keeps its own handle
    rows = np.ndarray(array.shape, array.dtype, buffer=mapping, offset=offset)
    drop = getattr(mmap, "MADV_DONTNEED", None)  # Linux and macOS; elsewhere the page cache decides
    if drop is None or rows.nbytes + 2 * _LARGEST_PAGE <= MAPPED_BYTES:
        return lambda indices: rows[np.asarray(indices, np.int64)]
    group = max(1, MAPPED_BYTES // (rows[0].nbytes + 2 * _LARGEST_PAGE))  # rows read between two drops
    since_drop = 0

    def read(indices):
        nonlocal since_drop
        indices = np.asarray(indices, np.int64)
        out = np.empty((len(indices), *rows.shape[1:]), rows.dtype)
        start = 0
        while start < len(indices):
            if since_drop == group:
                mapping.madvise(drop)
                since_drop = 0
            stop = min(len(indices), start + group - since_drop)
            out[start:stop] = rows[indices[start:stop]]
            since_drop += stop - start
            start = stop
        return out

    return read


class Stream:
    """A training set read in chunks: ``x`` and ``y`` memmaps/arrays, or a source of ``(x, y)`` examples.

    Arguments:
        x: a NumPy memmap (or array) of inputs, or a Grain ``MapDataset`` / random-access data source whose
            items are ``(x, y)`` pairs (then ``y`` is None).
        y: the targets for a memmap ``x`` (an array or memmap), else None.
        read_threads: Grain threads reading chunks ahead; 0 reads each chunk in the calling thread while the
            device trains on the previous one. None: 0 for a memmap, 2 for a Grain source (see the module doc).
    """

    def __init__(self, x, y=None, read_threads: int | None = None):
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
        self.read_threads = (0 if isinstance(x, np.ndarray) else 2) if read_threads is None else read_threads
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

        if self.read_threads:
            grain = _grain()
            ahead = (
                grain.MapDataset.range(len(starts))
                .map(read)
                .to_iter_dataset(grain.ReadOptions(num_threads=self.read_threads, prefetch_buffer_size=PREFETCH))
            )
        else:  # read when the consumer asks, after it has dispatched the previous chunk
            ahead = map(read, range(len(starts)))
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
    # batch b of the epoch sits at rows (b % per_chunk) * batch_size + [0, batch_size) of its chunk; the
    # compiled loop slices this, the mask and the keys at the chunk's offset itself (no host-side slicing)
    num_batches = len(order)
    positions = parallel.replicate(
        (np.arange(num_batches) % per_chunk)[:, None] * batch_size + np.arange(batch_size)[None, :]
    )
    previous = None
    for start, size, data in stream.chunks(np.asarray(jax.device_get(order)), per_chunk, parallel.mesh):
        if size not in loops:
            # the carry is not donated, so the previous chunk's result can be waited on (below)
            loops[size] = batch_loop(step, size, steps_per_call, donate_carry=False)
        carry, _ = loops[size](carry, (positions, mask, keys), data, offset=start)
        # Dispatch is asynchronous: without a wait the host would queue every chunk of the epoch on the
        # device at once (the whole file in memory). Waiting for the previous chunk after sending this one
        # keeps the device busy (this chunk is queued) with at most two chunks on it while the next is read.
        if previous is not None:
            jax.block_until_ready(previous)
        previous = carry
    return carry
