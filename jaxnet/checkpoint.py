"""Checkpoints: a pytree of arrays plus JSON metadata in one ``.npz`` file, written atomically.

Arrays are stored under their pytree paths; the metadata (architecture, optimizer
name, epoch, ...) as UTF-8 JSON. Nothing is pickled. A save writes a temporary
file beside the target and renames it, so a crash mid-save leaves the previous
checkpoint intact; a corrupt or truncated file raises ``CheckpointError``.

Reading never trusts the file: every array's .npy header is parsed first, and an array must be
numeric, hold exactly the bytes its header declares, and (when the caller knows the model) have the
model's shape and dtype before any memory is allocated for it; a crafted header cannot make a load
allocate more than the file holds.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import pathlib
import zipfile
from dataclasses import dataclass
from typing import Any, Iterator, cast

import jax
import numpy as np
from numpy.lib import format as npformat

from jaxnet._src.atomic import atomic_path

_META = "__meta__.json"
#: The most metadata (JSON) a checkpoint may hold.
MAX_METADATA_BYTES = 16 << 20
#: The most bytes that compressed arrays may claim when no architecture checks their shapes.
MAX_UNCHECKED_BYTES = 1 << 30


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read: missing, corrupt, truncated or of another layout."""


def _flatten(tree: Any, prefix: str) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_leaves_with_path(tree)
    return {f"{prefix}/{i:05d}{jax.tree_util.keystr(path)}": np.asarray(leaf) for i, (path, leaf) in enumerate(leaves)}


def save(path: str | os.PathLike, trees: dict[str, Any], metadata: dict | None = None) -> pathlib.Path:
    """Write named pytrees (e.g. ``{"params": ..., "opt_state": ...}``) and metadata to ``path``.

    Arguments:
        path: the file to write (``.npz`` is appended if it has no suffix).
        trees: pytrees of arrays, by name.
        metadata: JSON-serialisable facts stored beside them.

    Returns:
        The written path.

    Raises:
        OSError: when the folder cannot be created or written (the message names the path).
    """
    path = pathlib.Path(path)
    if not path.suffix:
        path = path.with_suffix(".npz")
    arrays: dict[str, Any] = {}  # Any: savez's **kwds; these names hold '/', never its allow_pickle
    for name, tree in trees.items():
        arrays.update(_flatten(tree, name))
    meta = json.dumps({"format": "jaxnet-checkpoint-1", "trees": sorted(trees), **(metadata or {})})
    arrays[_META] = np.frombuffer(meta.encode(), dtype=np.uint8)
    try:
        with atomic_path(path, what="a checkpoint") as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
    except OSError as err:
        if err.strerror is None:
            raise  # atomic_path's own check: it names the path and what to do
        raise OSError(f"cannot write a checkpoint to {str(path)!r}: {err.strerror or err}") from err
    return path


def _resolve(path: str | os.PathLike) -> pathlib.Path:
    """The file to read: ``path``, or ``path.npz`` when ``path`` has no suffix (as ``save`` names it)."""
    path = pathlib.Path(path)
    if not path.exists() and not path.suffix and path.with_suffix(".npz").exists():
        path = path.with_suffix(".npz")
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {str(path)!r}")
    if path.is_dir():
        raise CheckpointError(f"{str(path)!r} is a folder, not a checkpoint file")
    return path


def _corrupt(path: pathlib.Path, why: str) -> CheckpointError:
    return CheckpointError(f"cannot read checkpoint {str(path)!r}: the file is corrupt or truncated ({why})")


@dataclass(frozen=True)
class _Array:
    """One array of the archive, as its .npy header declares it (nothing read beyond the header)."""

    info: zipfile.ZipInfo
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran: bool
    offset: int  # where the data start in the member

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _header(path: pathlib.Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Array:
    """Parse and check one member's .npy header: numeric, and no larger than the member really is."""
    name = info.filename.removesuffix(".npy")
    with archive.open(info) as f:
        version = npformat.read_magic(f)
        read = npformat.read_array_header_1_0 if version == (1, 0) else npformat.read_array_header_2_0
        shape, fortran, dtype = read(f)
        offset = f.tell()
    if dtype.hasobject or dtype.kind not in "biufc":
        raise CheckpointError(
            f"{str(path)!r} holds {name!r} as {dtype} (Python objects or records): a jaxnet "
            "checkpoint holds numeric arrays only, and objects are never unpickled"
        )
    array = _Array(info, dtype, tuple(shape), fortran, offset)
    stored_size_lies = info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size
    if stored_size_lies or info.compress_size > path.stat().st_size:
        raise _corrupt(path, f"the archive's sizes for {name!r} exceed what the file holds")
    if array.nbytes != info.file_size - offset:
        raise _corrupt(
            path,
            f"{name!r} declares shape {array.shape} of {dtype} ({array.nbytes} bytes) but "
            f"holds {info.file_size - offset} bytes",
        )
    return array


def _members(path: pathlib.Path, archive: zipfile.ZipFile) -> dict[str, _Array]:
    return {
        info.filename.removesuffix(".npy"): _header(path, archive, info)
        for info in archive.infolist()
        if not info.is_dir()
    }


def _read(archive: zipfile.ZipFile, array: _Array) -> np.ndarray:
    """The array's data, read into one buffer of exactly its (checked) size."""
    buffer = bytearray(array.nbytes)
    view, done = memoryview(buffer), 0
    with cast(zipfile.ZipExtFile, archive.open(array.info)) as f:  # typeshed says IO[bytes], lacking readinto
        f.seek(array.offset)
        while done < array.nbytes:
            count = f.readinto(view[done:])
            if not count:
                raise EOFError(f"{array.info.filename} ends early")
            done += count
    return np.frombuffer(buffer, array.dtype).reshape(array.shape, order="F" if array.fortran else "C")


def _metadata(path: pathlib.Path, archive: zipfile.ZipFile, members: dict[str, _Array]) -> dict:
    entry = members.get(_META)
    if entry is None:
        raise CheckpointError(f"{str(path)!r} is an .npz file but not a jaxnet checkpoint (no metadata)")
    if entry.dtype != np.uint8 or len(entry.shape) != 1 or entry.nbytes > MAX_METADATA_BYTES:
        raise _corrupt(
            path,
            f"its metadata is {entry.dtype}{list(entry.shape)}, not UTF-8 JSON of at most {MAX_METADATA_BYTES} bytes",
        )
    try:
        meta = json.loads(_read(archive, entry).tobytes().decode())
    except RecursionError:
        raise _corrupt(path, "its metadata JSON is nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _corrupt(path, f"its metadata is not JSON: {err}") from None
    trees = meta.get("trees") if isinstance(meta, dict) else None
    if not isinstance(trees, list) or not all(isinstance(t, str) for t in trees):
        raise _corrupt(path, "its metadata has no list of tree names")
    return meta


@contextlib.contextmanager
def _archive(path: pathlib.Path) -> Iterator[tuple[zipfile.ZipFile, dict[str, _Array], dict]]:
    """Open the archive and check every header and the metadata; any read error is a CheckpointError."""
    try:
        with open(path, "rb") as f:
            if f.read(6) == b"\x93NUMPY":
                raise CheckpointError(
                    f"{str(path)!r} is a single NumPy array (.npy), not a jaxnet checkpoint "
                    "(.npz archive); read it with numpy.load"
                )
        with zipfile.ZipFile(path) as archive:
            members = _members(path, archive)
            yield archive, members, _metadata(path, archive, members)
    except CheckpointError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        ValueError,
        OSError,
        EOFError,
        KeyError,
        NotImplementedError,
    ) as err:
        # numpy's own messages may advise allow_pickle=True, which would be unsafe: say only what broke
        raise _corrupt(path, type(err).__name__) from None


def read_metadata(path: str | os.PathLike) -> dict:
    """The metadata of a checkpoint (architecture, epoch, ...), without reading any array.

    Raises:
        CheckpointError: for a missing, corrupt, truncated or foreign file.
    """
    path = _resolve(path)
    with _archive(path) as (_, _, meta):
        return meta


def _check_against(path: pathlib.Path, name: str, template: Any, arrays: list[_Array]) -> None:
    """Compare the declared shapes and dtypes of a tree's arrays with the template's, before reading them."""
    saved = [(a.shape, a.dtype) for a in arrays]
    wanted = [(tuple(np.shape(leaf)), np.dtype(leaf.dtype)) for leaf in jax.tree.leaves(template)]
    if saved != wanted:
        what = {"params": "parameters", "opt_state": "optimizer state"}.get(name, name)
        raise CheckpointError(_mismatch(what, saved, wanted) + f" (in {str(path)!r})")


def _mismatch(what: str, saved: list[tuple], wanted: list[tuple]) -> str:
    if len(saved) != len(wanted) or any(s[0] != w[0] for s, w in zip(saved, wanted)):
        return (
            f"the saved {what} does not match the model: {[s[0] for s in saved]} saved, "
            f"{[w[0] for w in wanted]} expected"
        )
    i = next(i for i, (s, w) in enumerate(zip(saved, wanted)) if s[1] != w[1])
    return (
        f"the saved {what} have dtype {saved[i][1]} where the model has {wanted[i][1]} (array {i}, shape "
        f"{saved[i][0]}); convert them and save again, since they would load changed"
    )


def load(path: str | os.PathLike, expected: dict[str, Any] | None = None) -> tuple[dict[str, list[np.ndarray]], dict]:
    """Read a checkpoint, checking every array's declared shape and size before reading it.

    Arguments:
        path: the file written by ``save`` (``name`` finds ``name.npz``, as ``save`` writes it).
        expected: for some tree names, a template pytree (arrays or ``jax.ShapeDtypeStruct``): the saved
            leaves must have exactly its shapes and dtypes, checked before any array is read.

    Returns:
        ``(leaves, metadata)``: for each tree name, its leaves in pytree order; and the metadata.
        Rebuild a tree with ``jax.tree.unflatten(jax.tree.structure(template), leaves[name])``.

    Raises:
        CheckpointError: for a missing, corrupt, truncated or foreign file, an array whose header claims
            more data than the file holds (or than ``MAX_UNCHECKED_BYTES`` for compressed members not
            checked against ``expected``), or arrays that do not match ``expected``.
    """
    path = _resolve(path)
    with _archive(path) as (archive, members, meta):
        trees: dict[str, list[_Array]] = {name: [] for name in meta["trees"]}
        for key in sorted(k for k in members if k != _META):
            tree = key.split("/", 1)[0]
            if tree not in trees:
                raise _corrupt(path, f"array {key!r} belongs to no tree the metadata names")
            trees[tree].append(members[key])
        for name, template in (expected or {}).items():
            _check_against(path, name, template, trees.get(name, []))
        # Stored members cannot claim more than the file holds; compressed ones could (a zip bomb).
        unchecked = sum(
            a.nbytes
            for name, arrays in trees.items()
            if name not in (expected or {})
            for a in arrays
            if a.info.compress_type != zipfile.ZIP_STORED
        )
        if unchecked > MAX_UNCHECKED_BYTES:
            raise CheckpointError(
                f"{str(path)!r} declares {unchecked} bytes of compressed arrays, more than the "
                f"{MAX_UNCHECKED_BYTES} allowed without a model to check them against; "
                "load it with jaxnet.load_model, which checks them against the architecture"
            )
        try:
            leaves = {name: [_read(archive, a) for a in arrays] for name, arrays in trees.items()}
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
            raise _corrupt(path, f"{type(err).__name__}: {err}") from None
    return leaves, meta


def restore(template: Any, leaves: list[np.ndarray], what: str = "tree") -> Any:
    """Put saved leaves into the structure of ``template``, checking count, shapes and dtypes.

    Raises:
        CheckpointError: when the saved leaves do not fit the template (an int32 array where the model
            has float32 is refused, not converted).
    """
    expected = jax.tree.leaves(template)
    saved = [(np.shape(v), np.asarray(v).dtype) for v in leaves]
    wanted = [(np.shape(v), np.dtype(v.dtype)) for v in expected]
    if saved != wanted:
        raise CheckpointError(_mismatch(what, saved, wanted))
    return jax.tree.unflatten(jax.tree.structure(template), [jax.numpy.asarray(v) for v in leaves])
