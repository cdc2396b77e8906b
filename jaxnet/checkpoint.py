"""Checkpoints: a pytree of arrays plus JSON metadata in one ``.npz`` file, written atomically.

Arrays are stored under their pytree paths; the metadata (architecture, optimizer
name, epoch, ...) as UTF-8 JSON. Nothing is pickled. A save writes a temporary
file beside the target and renames it, so a crash mid-save leaves the previous
checkpoint intact; a corrupt or truncated file raises ``CheckpointError``.
"""
from __future__ import annotations

import json
import os
import pathlib
import zipfile
from typing import Any

import jax
import numpy as np

from jaxnet._src.atomic import atomic_path

_META = "__meta__.json"


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
    arrays = {}
    for name, tree in trees.items():
        arrays.update(_flatten(tree, name))
    meta = json.dumps({"format": "jaxnet-checkpoint-1", "trees": sorted(trees), **(metadata or {})})
    arrays[_META] = np.frombuffer(meta.encode(), dtype=np.uint8)
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
    except OSError as err:
        raise OSError(f"cannot write a checkpoint to {str(path)!r}: {err.strerror or err}") from err
    return path


def load(path: str | os.PathLike) -> tuple[dict[str, list[np.ndarray]], dict]:
    """Read a checkpoint.

    Arguments:
        path: the file written by ``save``.

    Returns:
        ``(leaves, metadata)``: for each tree name, its leaves in pytree order; and the metadata.
        Rebuild a tree with ``jax.tree.unflatten(jax.tree.structure(template), leaves[name])``.

    Raises:
        CheckpointError: for a missing, corrupt, truncated or foreign file.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {str(path)!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if _META + ".npy" not in data.zip.namelist() and _META not in data.files:
                raise CheckpointError(f"{str(path)!r} is an .npz file but not a jaxnet checkpoint (no metadata)")
            meta = json.loads(bytes(data[_META]).decode())
            leaves: dict[str, list] = {name: [] for name in meta["trees"]}
            for key in sorted(k for k in data.files if k != _META):
                leaves[key.split("/", 1)[0]].append(data[key])
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, json.JSONDecodeError) as err:
        raise CheckpointError(f"cannot read checkpoint {str(path)!r}: the file is corrupt or truncated ({err})") \
            from err
    return leaves, meta


def restore(template: Any, leaves: list[np.ndarray], what: str = "tree") -> Any:
    """Put saved leaves into the structure of ``template``, checking count and shapes.

    Raises:
        CheckpointError: when the saved leaves do not fit the template.
    """
    expected = jax.tree.leaves(template)
    if len(expected) != len(leaves) or any(np.shape(a) != np.shape(b) for a, b in zip(expected, leaves)):
        raise CheckpointError(
            f"the saved {what} does not match the model: {[np.shape(v) for v in leaves]} saved, "
            f"{[np.shape(v) for v in expected]} expected"
        )
    return jax.tree.unflatten(jax.tree.structure(template), [jax.numpy.asarray(v) for v in leaves])
