"""The Keras-style face, laid out as ``tensorflow.keras`` so the course notes run with ``from jaxnet import keras``.

``keras.Sequential`` / ``keras.Model`` (functional) / ``keras.models.load_model`` hold architecture, weights and
optimizer state (``_model``); the submodules re-export jaxnet's layers, losses,
metrics and callbacks under Keras' names and add Keras-signature optimizers,
``datasets.<name>.load_data()`` and ``utils.to_categorical`` / ``plot_model``.
"""

from jaxnet.functional import Input
from jaxnet.keras import (
    callbacks,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    utils,
)
from jaxnet.keras._model import Sequential, load_model, ordered_weights
from jaxnet.keras.functional import Model

__all__ = [
    "Input",
    "Model",
    "Sequential",
    "callbacks",
    "datasets",
    "initializers",
    "layers",
    "load_model",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "ordered_weights",
    "utils",
]
