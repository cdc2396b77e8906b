"""Keras-style callbacks, called once per epoch with the epoch's logs.

Each callback receives a ``TrainingContext``: the current parameters and
optimizer state, ``stop_training`` to end the run, and ``save(path)`` to write a
checkpoint. Parameters are donated to the next epoch's compiled step, so a
callback that keeps weights (EarlyStopping, TerminateOnNaN) keeps a copy.
"""
from __future__ import annotations

import csv
import math
import os
import pathlib
import sys
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp


def copy_tree(tree: Any) -> Any:
    """A device copy of a pytree (the original buffers may be donated to the next step)."""
    return jax.tree.map(jnp.array, tree)


@dataclass
class TrainingContext:
    """What callbacks see and may change."""

    params: Any
    opt_state: Any
    save: Callable[[str | os.PathLike], Any]
    epochs: int
    stop_training: bool = False
    stop_reason: str | None = None
    keep_last_good: bool = False  # set by TerminateOnNaN: fit then copies params before each epoch
    last_good_params: Any = None
    last_good_opt_state: Any = None


class Callback:
    """Base class; override what you need."""

    def on_train_begin(self, ctx: TrainingContext) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float], ctx: TrainingContext) -> None:
        pass

    def on_train_end(self, ctx: TrainingContext) -> None:
        pass


def _improvement(mode: str, monitor: str) -> Callable[[float, float, float], bool]:
    if mode == "auto":
        mode = "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "min":
        return lambda current, best, delta: current < best - delta
    return lambda current, best, delta: current > best + delta


def _monitored(logs: dict, monitor: str, who: str) -> float:
    if monitor not in logs:
        raise ValueError(f"{who} monitors {monitor!r}, which is not in the logs {sorted(logs)}; "
                         "pass validation data for val_ metrics or pick another key")
    return logs[monitor]


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Arguments:
        monitor: a log key, e.g. "val_loss" or "val_accuracy".
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        mode: "min", "max" or "auto" (max for accuracies).
        restore_best_weights: put back the best epoch's parameters at the end.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, mode: str = "auto",
                 restore_best_weights: bool = False):
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.better = _improvement(mode, monitor)
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, ctx):
        self.best, self.wait, self.best_params, self.best_epoch, self.stopped_epoch = None, 0, None, None, None

    def on_epoch_end(self, epoch, logs, ctx):
        current = _monitored(logs, self.monitor, "EarlyStopping")
        if self.best is None or self.better(current, self.best, self.min_delta):
            self.best, self.wait, self.best_epoch = current, 0, epoch
            if self.restore_best_weights:
                self.best_params = copy_tree(ctx.params)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            ctx.stop_training = True
            ctx.stop_reason = (f"early stopping: {self.monitor} has not improved for {self.patience} epochs "
                               f"(best {self.best:.4g} at epoch {self.best_epoch + 1})")

    def on_train_end(self, ctx):
        if self.restore_best_weights and self.best_params is not None:
            ctx.params = self.best_params


class ModelCheckpoint(Callback):
    """Save a checkpoint every epoch, or only when ``monitor`` improves (``save_best_only``).

    Arguments:
        filepath: the file; may contain ``{epoch}`` and log keys, e.g. "ckpt/epoch{epoch:02d}-{val_loss:.3f}.npz".
        monitor, mode: as in EarlyStopping.
        save_best_only: save only on improvement.
    """

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto"):
        self.filepath, self.monitor, self.save_best_only = str(filepath), monitor, save_best_only
        self.better = _improvement(mode, monitor)
        self.best = None

    def on_epoch_end(self, epoch, logs, ctx):
        if self.save_best_only:
            current = _monitored(logs, self.monitor, "ModelCheckpoint")
            if self.best is not None and not self.better(current, self.best, 0.0):
                return
            self.best = current
        ctx.save(self.filepath.format(epoch=epoch + 1, **logs))


class TerminateOnNaN(Callback):
    """Stop when the loss becomes NaN or infinite, keeping the parameters from before that epoch."""

    def on_train_begin(self, ctx):
        ctx.keep_last_good = True

    def on_epoch_end(self, epoch, logs, ctx):
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            ctx.stop_training = True
            ctx.stop_reason = (f"TerminateOnNaN: the loss became {loss} in epoch {epoch + 1}; the parameters from "
                               "the end of the previous epoch were kept (try a lower learning rate)")
            ctx.params, ctx.opt_state = ctx.last_good_params, ctx.last_good_opt_state


class CSVLogger(Callback):
    """Append one CSV row per epoch (epoch and every log) to ``filename``, flushed each epoch."""

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        self.filename, self.separator, self.append = pathlib.Path(filename), separator, append

    def on_train_begin(self, ctx):
        self.filename.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer = None

    def on_epoch_end(self, epoch, logs, ctx):
        if self.writer is None:
            self.writer = csv.DictWriter(self.file, fieldnames=["epoch", *logs], delimiter=self.separator)
            if not self.append or self.file.tell() == 0:
                self.writer.writeheader()
        self.writer.writerow({"epoch": epoch, **logs})
        self.file.flush()

    def on_train_end(self, ctx):
        self.file.close()


class TensorBoard(Callback):
    """Write each epoch's logs as TensorBoard scalars (tensorboardX; no TensorFlow needed).

    Training logs go to ``log_dir/train``, ``val_`` logs to ``log_dir/validation``, as Keras lays them out.
    """

    def __init__(self, log_dir: str | os.PathLike = "logs"):
        self.log_dir = pathlib.Path(log_dir)

    def on_train_begin(self, ctx):
        from tensorboardX import SummaryWriter

        self.writers = {"train": SummaryWriter(str(self.log_dir / "train")),
                        "validation": SummaryWriter(str(self.log_dir / "validation"))}

    def on_epoch_end(self, epoch, logs, ctx):
        for key, value in logs.items():
            split, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            self.writers[split].add_scalar(f"epoch_{name}", value, epoch)

    def on_train_end(self, ctx):
        for writer in self.writers.values():
            writer.close()


class ProgressBar(Callback):
    """A tqdm bar over epochs with Keras-like metrics (verbose=1), or one printed line per epoch (verbose=2)."""

    def __init__(self, verbose: int = 1, stream=None):
        self.verbose, self.stream = verbose, stream or sys.stderr

    def on_train_begin(self, ctx):
        self.bar = None
        if self.verbose == 1:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=ctx.epochs, unit="epoch", file=self.stream, dynamic_ncols=True)

    def on_epoch_end(self, epoch, logs, ctx):
        text = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items() if k != "epoch_time_s")
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1)
        else:
            print(f"Epoch {epoch + 1}/{ctx.epochs} - {logs.get('epoch_time_s', 0):.2f}s - {text}", file=self.stream)

    def on_train_end(self, ctx):
        if self.bar is not None:
            self.bar.close()
        if ctx.stop_reason:
            print(ctx.stop_reason, file=self.stream)
