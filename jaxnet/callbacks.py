"""Keras-style callbacks through one protocol.

``fit`` calls every callback at four points: ``on_train_begin(state)``,
``on_epoch_begin(epoch, state)``, ``on_epoch_end(epoch, logs, state)`` and
``on_train_end(state)``. ``state`` is a read-only ``TrainingState`` (the current
parameters and optimizer state, the epoch, the names of the logs, ``save(path)``).
A callback changes the run only by returning an ``Action`` from ``on_epoch_end`` or
``on_train_end``: stop after this epoch (with a reason), and/or continue or finish
with other parameters. Later callbacks see the state after earlier actions.

Parameters are donated to the next epoch's compiled step, so a callback that keeps
weights for later (EarlyStopping, TerminateOnNaN) keeps a copy (``copy_tree``).
"""

from __future__ import annotations

import csv
import math
import os
import pathlib
import string
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp


def copy_tree(tree: Any) -> Any:
    """A device copy of a pytree (the original buffers may be donated to the next step)."""
    return jax.tree.map(jnp.array, tree)


def all_finite(tree: Any) -> bool:
    """Whether every leaf of a pytree of arrays is free of NaN and infinity (one host sync)."""
    leaves = [
        jnp.all(jnp.isfinite(leaf))
        for leaf in jax.tree.leaves(tree)
        if jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.inexact)
    ]
    return bool(jnp.all(jnp.stack(leaves))) if leaves else True


@dataclass(frozen=True)
class TrainingState:
    """What callbacks see of a run; read-only (a callback acts by returning an ``Action``).

    Attributes:
        params: the current parameters.
        opt_state: the current optimizer state.
        epoch: the epoch being run or just finished (0-based).
        epochs: the epoch training stops after.
        log_names: the keys every epoch's logs will have ("loss", metrics, then "val_" ones).
        save: ``save(path)`` writes a checkpoint of this state.
        stop_reason: why training stopped early, once it has.
    """

    params: Any
    opt_state: Any
    epoch: int
    epochs: int
    log_names: tuple[str, ...]
    save: Callable[[str | os.PathLike], Any]
    stop_reason: str | None = None


@dataclass(frozen=True)
class Action:
    """What a callback asks of ``fit``.

    Attributes:
        stop: a reason to stop after this epoch (None: go on).
        params: parameters to continue (or finish) with instead of the current ones.
        opt_state: the optimizer state to go with ``params``.
    """

    stop: str | None = None
    params: Any = None
    opt_state: Any = None


class Callback:
    """Base class: override the hooks you need; each may return None."""

    def on_train_begin(self, state: TrainingState) -> None:
        """Before the first epoch: check the configuration against ``state.log_names``, open files."""

    def on_epoch_begin(self, epoch: int, state: TrainingState) -> None:
        """Before each epoch."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float], state: TrainingState) -> Action | None:
        """After each epoch, with its logs; return an ``Action`` to stop or to replace the parameters."""

    def on_train_end(self, state: TrainingState) -> Action | None:
        """After the last epoch (also after an early stop); return an ``Action`` to finish with other parameters."""


def _improvement(mode: str, monitor: str) -> Callable[[float, float, float], bool]:
    if mode == "auto":
        mode = "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "min":
        return lambda current, best, delta: current < best - delta
    return lambda current, best, delta: current > best + delta


def _require_log(monitor: str, state: TrainingState, who: str) -> None:
    if monitor not in state.log_names:
        raise ValueError(
            f"{who} monitors {monitor!r}, which this run does not log (it logs "
            f"{list(state.log_names)}); pass validation data for val_ metrics or pick another key"
        )


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Arguments:
        monitor: a log key, e.g. "val_loss" or "val_accuracy".
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        mode: "min", "max" or "auto" (max for accuracies).
        restore_best_weights: finish with the best epoch's parameters.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ):
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.better = _improvement(mode, monitor)
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, state):
        _require_log(self.monitor, state, "EarlyStopping")
        self.best, self.wait, self.best_params, self.best_epoch, self.stopped_epoch = None, 0, None, None, None

    def on_epoch_end(self, epoch, logs, state):
        current = logs[self.monitor]
        if self.best is None or self.better(current, self.best, self.min_delta):
            self.best, self.wait, self.best_epoch = current, 0, epoch
            if self.restore_best_weights:
                self.best_params = copy_tree(state.params)
            return None
        self.wait += 1
        if self.wait < self.patience:
            return None
        self.stopped_epoch = epoch
        return Action(
            stop=f"early stopping: {self.monitor} has not improved for {self.patience} epochs "
            f"(best {self.best:.4g} at epoch {self.best_epoch + 1})"
        )

    def on_train_end(self, state):
        if self.restore_best_weights and self.best_params is not None:
            return Action(params=self.best_params)
        return None


def _check_filepath(filepath: str, log_names: tuple[str, ...]) -> None:
    """Fail before training when a ModelCheckpoint path names a log this run lacks or has a bad format."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(filepath) if name is not None]
    except ValueError as error:
        raise ValueError(f"ModelCheckpoint filepath {filepath!r} is not a valid format string: {error}") from None
    unknown = [f for f in fields if f != "epoch" and f not in log_names]
    if unknown:
        raise ValueError(
            f"ModelCheckpoint filepath {filepath!r} names {unknown}, which this run does not log "
            f"(it logs {['epoch', *log_names]}); pass validation data for val_ keys"
        )
    try:
        filepath.format(epoch=1, **{name: 0.5 for name in log_names})
    except (ValueError, IndexError, KeyError) as error:
        raise ValueError(f"ModelCheckpoint filepath {filepath!r} cannot be formatted: {error}") from None


class ModelCheckpoint(Callback):
    """Save a checkpoint every epoch, or only when ``monitor`` improves (``save_best_only``).

    Parameters with NaN or infinity are never saved (a warning says so), whatever the
    order of the callbacks.

    Arguments:
        filepath: the file; may contain ``{epoch}`` and log keys, e.g. "ckpt/epoch{epoch:02d}-{val_loss:.3f}.npz".
        monitor, mode: as in EarlyStopping.
        save_best_only: save only on improvement.
        backend: "npz" (one file, written by process 0, see ``jaxnet.checkpoint``) or "orbax" (a folder of
            parameters and optimizer state written by every process's shards, see ``jaxnet.orbax_checkpoint``).
    """

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
        backend: str = "npz",
    ):
        if backend not in ("npz", "orbax"):
            raise ValueError(f"ModelCheckpoint backend must be 'npz' or 'orbax', got {backend!r}")
        self.filepath, self.monitor, self.save_best_only = str(filepath), monitor, save_best_only
        self.better = _improvement(mode, monitor)
        self.best = None
        self.backend = backend

    def on_train_begin(self, state):
        _check_filepath(self.filepath, state.log_names)
        if self.save_best_only:
            _require_log(self.monitor, state, "ModelCheckpoint")

    def on_epoch_end(self, epoch, logs, state):
        if self.save_best_only:
            current = logs[self.monitor]
            if not math.isfinite(current) or (self.best is not None and not self.better(current, self.best, 0.0)):
                return None
        if not all_finite(state.params):
            warnings.warn(
                f"ModelCheckpoint: the parameters of epoch {epoch + 1} contain NaN or infinity; not saved",
                RuntimeWarning,
                stacklevel=2,
            )
            return None
        if self.save_best_only:
            self.best = logs[self.monitor]
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.backend == "orbax":
            from jaxnet import orbax_checkpoint

            orbax_checkpoint.save(path, {"params": state.params, "opt_state": state.opt_state}, {"epoch": epoch})
        else:
            state.save(path)
        return None


class TerminateOnNaN(Callback):
    """Stop when the loss or the parameters become NaN or infinite, finishing with the last finite parameters.

    The loss of an epoch is computed before its last update, so the parameters that end an
    epoch with a finite loss can already be infinite: the parameters kept are the last ones
    checked to be finite, not simply the previous epoch's.
    """

    def on_train_begin(self, state):
        self.last_finite = (copy_tree(state.params), copy_tree(state.opt_state))

    def on_epoch_end(self, epoch, logs, state):
        loss = logs.get("loss", 0.0)
        if math.isfinite(loss) and all_finite(state.params):
            self.last_finite = (copy_tree(state.params), copy_tree(state.opt_state))
            return None
        what = f"the loss became {loss}" if not math.isfinite(loss) else "the parameters became NaN or infinite"
        params, opt_state = self.last_finite
        return Action(
            stop=f"TerminateOnNaN: {what} in epoch {epoch + 1}; the last finite parameters were kept "
            "(try a lower learning rate)",
            params=params,
            opt_state=opt_state,
        )


class CSVLogger(Callback):
    """Write one CSV row per epoch (epoch and every log) to ``filename``, flushed each epoch.

    With ``append=True`` the rows go after an existing file's, which must have the same columns.
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        self.filename, self.separator, self.append = pathlib.Path(filename), separator, append

    def on_train_begin(self, state):
        fields = ["epoch", *state.log_names]
        existing = self._existing_header() if self.append else None
        if existing is not None and existing != fields:
            raise ValueError(
                f"CSVLogger cannot append to {str(self.filename)!r}: its columns are {existing}, this run "
                f"logs {fields}; use another file or append=False"
            )
        self.filename.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=fields, delimiter=self.separator)
        if existing is None:
            self.writer.writeheader()

    def _existing_header(self) -> list[str] | None:
        if not self.filename.exists() or self.filename.stat().st_size == 0:
            return None
        with open(self.filename, newline="") as file:
            return next(csv.reader(file, delimiter=self.separator), None)

    def on_epoch_end(self, epoch, logs, state):
        self.writer.writerow({"epoch": epoch, **logs})
        self.file.flush()
        return None

    def on_train_end(self, state):
        self.file.close()
        return None


class TensorBoard(Callback):
    """Write each epoch's logs as TensorBoard scalars (tensorboardX's format; no TensorFlow needed).

    Training logs go to ``log_dir/train``, ``val_`` logs to ``log_dir/validation``, as Keras lays them out.
    Events are written synchronously and flushed at the end of every epoch, so a run killed at any
    moment keeps every finished epoch (tensorboardX's own SummaryWriter queues events in a
    background thread and can lose the last ones).
    """

    def __init__(self, log_dir: str | os.PathLike = "logs"):
        self.log_dir = pathlib.Path(log_dir)

    def on_train_begin(self, state):
        from tensorboardX.event_file_writer import EventsWriter

        self.writers = {}
        for split in ("train", "validation"):
            (self.log_dir / split).mkdir(parents=True, exist_ok=True)
            self.writers[split] = EventsWriter(str(self.log_dir / split / "events"))

    def on_epoch_end(self, epoch, logs, state):
        from tensorboardX import summary
        from tensorboardX.proto import event_pb2

        for key, value in logs.items():
            split, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            event = event_pb2.Event(wall_time=time.time(), step=epoch, summary=summary.scalar(f"epoch_{name}", value))
            self.writers[split].write_event(event)
        for writer in self.writers.values():
            writer.flush()
        return None

    def on_train_end(self, state):
        for writer in self.writers.values():
            writer.close()
        return None


class ProgressBar(Callback):
    """A tqdm bar over epochs with Keras-like metrics (verbose=1), or one printed line per epoch (verbose=2)."""

    def __init__(self, verbose: int = 1, stream=None):
        self.verbose, self.stream = verbose, stream or sys.stderr

    def on_train_begin(self, state):
        self.bar = None
        if self.verbose == 1:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=state.epochs, initial=state.epoch, unit="epoch", file=self.stream, dynamic_ncols=True)

    def on_epoch_begin(self, epoch, state):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs, state):
        text = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1)
        else:
            seconds = time.perf_counter() - self.started
            print(f"Epoch {epoch + 1}/{state.epochs} - {seconds:.2f}s - {text}", file=self.stream)
        return None

    def on_train_end(self, state):
        if self.bar is not None:
            self.bar.close()
        if state.stop_reason:
            print(state.stop_reason, file=self.stream)
        return None
