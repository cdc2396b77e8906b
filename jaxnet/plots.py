"""Learning curves from a History, as the seeds plot them (loss / val_loss, accuracy / val_accuracy)."""

from __future__ import annotations

import os
import pathlib

from jaxnet._src.atomic import atomic_path


def subplots(*args, **kwargs):
    """``matplotlib.pyplot.subplots`` on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> pathlib.Path:
    """Lay out, write (atomically: a temporary file renamed into place) and close a figure.

    The format follows the extension (PNG, SVG, PDF).
    """
    import matplotlib.pyplot as plt

    try:
        fig.tight_layout()
        with atomic_path(path, suffix=pathlib.Path(path).suffix, what="a figure") as tmp:
            fig.savefig(tmp, dpi=dpi)
    finally:
        plt.close(fig)
    return pathlib.Path(path)


def plot_history(history, path: str | os.PathLike, title: str | None = None) -> pathlib.Path:
    """Save one panel per quantity (loss, then each metric), training and validation curves together.

    Arguments:
        history: a ``jaxnet.train.History`` (or anything with a ``history`` dict of lists).
        path: the image file (PNG, SVG or PDF by extension); written atomically.
        title: an optional figure title.

    Returns:
        The written path.
    """
    logs = history.history
    names = [k for k in logs if not k.startswith("val_") and k != "epoch_time_s"]
    if not names:
        raise ValueError("the history is empty: train for at least one epoch first")
    fig, axes = subplots(1, len(names), figsize=(5 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = range(1, len(logs[name]) + 1)
        ax.plot(epochs, logs[name], "o-", ms=3, label=name)
        if f"val_{name}" in logs:
            ax.plot(epochs, logs[f"val_{name}"], "s-", ms=3, label=f"val_{name}")
        ax.set(xlabel="epoch", ylabel=name, title=name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
