"""``keras.utils``: ``to_categorical`` and ``plot_model``."""

from __future__ import annotations

import os

import numpy as np

from jaxnet.datasets import one_hot


def to_categorical(y, num_classes: int | None = None) -> np.ndarray:
    """One-hot encode integer class labels, as Keras' ``to_categorical``.

    Arguments:
        y: integer labels of any shape; a trailing axis of size 1 is dropped, as Keras does.
        num_classes: the number of classes; ``max(y) + 1`` when None.

    Returns:
        A float32 array of shape ``y.shape + (num_classes,)``.
    """
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    rows = one_hot(y, num_classes)  # jaxnet.datasets' encoder: checks labels are whole numbers in range
    return rows.reshape(*y.shape, rows.shape[-1])


def plot_model(
    model,
    to_file: str | os.PathLike = "model.png",
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = False,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    show_layer_activations: bool = False,
    input_shape: tuple | None = None,
    **options,
):
    """Draw a model and write the picture to ``to_file``, with Keras 3's arguments and defaults.

    Arguments:
        model: a ``keras.Sequential`` (built, so its input shape is known) or a ``jaxnet.Sequential``
            given with ``input_shape=``.
        to_file: the file to write; its suffix picks the format (.png, .svg, .pdf, .dot, .html).
        show_shapes, show_dtype, show_layer_names, rankdir, expand_nested, dpi, show_layer_activations:
            as in Keras' ``plot_model`` (one row per fact; nested models as clusters when expanded).
        input_shape: one example's shape, for a model that does not know it.
        options: more keywords for ``graphviz_tools.plot_model`` (``show_params``, ``splines``).

    Returns:
        The ``graphviz.Digraph`` (a notebook displays it inline).
    """
    # imported here: only this function needs the visualizer
    from graphviz_tools import plot_model as draw
    from graphviz_tools import render

    network = getattr(model, "network", model)
    input_shape = input_shape or getattr(model, "input_shape", None)
    if input_shape is None:
        raise ValueError(
            "plot_model needs the input shape: build the model first (fit it, or give its first "
            "layer input_shape=...) or pass input_shape=..."
        )
    graph = draw(
        network,
        input_shape,
        show_shapes=show_shapes,
        show_dtype=show_dtype,
        show_layer_names=show_layer_names,
        rankdir=rankdir,
        expand_nested=expand_nested,
        dpi=dpi,
        show_layer_activations=show_layer_activations,
        **options,
    )
    render(graph, to_file)
    return graph


__all__ = ["plot_model", "to_categorical"]
