"""``keras.utils``: ``to_categorical`` and ``plot_model``."""
from __future__ import annotations

import os

import numpy as np


def to_categorical(y, num_classes: int | None = None) -> np.ndarray:
    """One-hot encode integer class labels, as Keras' ``to_categorical``.

    Arguments:
        y: integer labels of any shape; a trailing axis of size 1 is dropped, as Keras does.
        num_classes: the number of classes; ``max(y) + 1`` when None.

    Returns:
        A float32 array of shape ``y.shape + (num_classes,)``.
    """
    y = np.asarray(y, dtype=np.int64)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    return np.eye(num_classes, dtype=np.float32)[y]


def plot_model(model, to_file: str | os.PathLike = "model.png", show_shapes: bool = False,
               show_layer_names: bool = True, rankdir: str = "TB", **options):
    """Draw a Keras-face (or jaxnet) Sequential with ``graphviz_tools.plot_model`` and write it to ``to_file``.

    Arguments:
        model: a ``keras.Sequential`` (built, so its input shape is known) or a ``jaxnet.Sequential``
            given with ``input_shape=...`` in ``options``.
        to_file: the image to write; its suffix picks the format.
        show_shapes, show_layer_names, rankdir: as Keras' ``plot_model``.
        options: more keywords for ``graphviz_tools.plot_model`` (``input_shape``, ``show_activations``).

    Returns:
        The ``graphviz.Digraph``.
    """
    # imported here: graphviz is optional and only this function needs it
    from graphviz_tools import plot_model as draw
    from graphviz_tools import render
    network = getattr(model, "network", model)
    input_shape = options.pop("input_shape", None) or getattr(model, "input_shape", None)
    if input_shape is None:
        raise ValueError("plot_model needs the input shape: build the model first or pass input_shape=...")
    graph = draw(network, input_shape, show_shapes=show_shapes, show_layer_names=show_layer_names,
                 rankdir=rankdir, **options)
    render(graph, to_file)
    return graph


__all__ = ["plot_model", "to_categorical"]
