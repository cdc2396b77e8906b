"""Checkpoints on Orbax: sharded, multi-process, asynchronous; and exact resume of an interrupted ``fit``.

``BackupAndRestore`` (Keras' name) saves after every epoch, asynchronously (training
goes on while Orbax writes), everything a run needs to go on as if never stopped:
parameters, optimizer state, the PRNG key, the epoch (the data order's position: an
epoch's shuffle comes from ``fold_in(key, epoch)``) and the history so far. When
``fit`` starts with a checkpoint in the folder it resumes from the latest one, so a
run killed at any moment (even with SIGKILL, even mid-save: Orbax finalises a save
by an atomic rename) and started again ends with bitwise the same parameters and
history as a run that was never interrupted. Under ``jax.distributed`` every process
calls it and Orbax writes each array's shards from the processes that hold them.

``save`` / ``restore`` write and read one pytree checkpoint (a folder) directly; ``read_metadata`` reads its
JSON facts alone. ``jaxnet.keras``' ``model.save("name.orbax")`` / ``load_model`` use them.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from jaxnet import callbacks as cb


def _args(tree: Any, metadata: dict | None, restore: bool) -> ocp.args.Composite:
    if restore:
        return ocp.args.Composite(state=ocp.args.StandardRestore(tree), meta=ocp.args.JsonRestore())
    return ocp.args.Composite(state=ocp.args.StandardSave(tree), meta=ocp.args.JsonSave(metadata or {}))


def save(directory: str | os.PathLike, tree: Any, metadata: dict | None = None) -> pathlib.Path:
    """Write a pytree of arrays (sharded or not) and JSON metadata to the folder ``directory``.

    Arguments:
        directory: the checkpoint's folder (replaced if it exists; Orbax writes it atomically).
        tree: a pytree of arrays; under ``jax.distributed`` each process writes the shards it holds
            (every process must call ``save``).
        metadata: JSON-serialisable facts stored beside it.

    Returns:
        The folder.
    """
    directory = pathlib.Path(directory).absolute()
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
        checkpointer.save(directory, args=_args(tree, metadata, restore=False), force=True)
    return directory


def restore(directory: str | os.PathLike, template: Any) -> tuple[Any, dict]:
    """Read a checkpoint written by ``save`` (or by ``BackupAndRestore``, one of its step folders).

    Arguments:
        directory: the checkpoint's folder.
        template: a pytree of arrays or ``jax.ShapeDtypeStruct`` of the saved structure; the arrays come back
            with its shardings (one process can restore what several wrote, and the reverse).

    Returns:
        ``(tree, metadata)``.
    """
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
        restored = checkpointer.restore(pathlib.Path(directory).absolute(), args=_args(template, None, restore=True))
    return restored["state"], restored["meta"]


def read_metadata(directory: str | os.PathLike) -> dict:
    """The JSON metadata of a checkpoint written by ``save``, without reading its arrays."""
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
        restored = checkpointer.restore(
            pathlib.Path(directory).absolute(), args=ocp.args.Composite(meta=ocp.args.JsonRestore())
        )
    return restored["meta"]


@dataclass(frozen=True)
class Resume:
    """Where an interrupted run goes on: its state after ``epoch - 1`` and its history so far."""

    params: Any
    opt_state: Any
    key: jax.Array
    epoch: int
    history: dict


class BackupAndRestore(cb.Callback):
    """Save the run after every epoch (asynchronously, with Orbax) and resume from it when ``fit`` starts again.

    The folder holds the latest ``max_to_keep`` epochs; it is kept after training (delete it to start
    anew). Other callbacks' own state (EarlyStopping's patience count, ...) is not saved.

    Arguments:
        directory: the backup folder.
        max_to_keep: epochs kept (the latest ones).
    """

    def __init__(self, directory: str | os.PathLike, max_to_keep: int = 2):
        self.directory = pathlib.Path(directory).absolute()
        self.max_to_keep = max_to_keep

    def on_train_begin(self, state):
        self.manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=self.max_to_keep, enable_async_checkpointing=True),
        )

    def resume(self, state: cb.TrainingState, key: jax.Array) -> Resume | None:
        """The latest saved point, restored with the shardings of ``state``'s arrays; None if there is none."""
        step = self.manager.latest_step()
        if step is None:
            return None
        template = {"params": state.params, "opt_state": state.opt_state, "key": jax.random.key_data(key)}
        restored = self.manager.restore(step, args=_args(template, None, restore=True))
        tree, meta = restored["state"], restored["meta"]
        return Resume(
            tree["params"],
            tree["opt_state"],
            # JAX annotates key_bits_array as jax.Array, but any uint32 array-like is taken (and this is host data)
            jax.random.wrap_key_data(np.asarray(tree["key"]), impl=meta["key_impl"]),  # type: ignore[arg-type]
            meta["epoch"] + 1,
            meta["history"],
        )

    def backup(self, epoch: int, state: cb.TrainingState, key: jax.Array, history: dict) -> None:
        """Start saving the state after ``epoch`` (returns once the arrays are copied off the devices)."""
        tree = {"params": state.params, "opt_state": state.opt_state, "key": jax.random.key_data(key)}
        meta = {"epoch": epoch, "key_impl": str(jax.random.key_impl(key)), "history": history}
        self.manager.save(epoch, args=_args(tree, meta, restore=False))

    def on_train_end(self, state):
        self.manager.wait_until_finished()
        self.manager.close()
        return None
