"""jaxnet: *Deep Learning from Scratch* and the Keras chapters of the course, as pure JAX functions.

Layers are ``init`` / ``apply`` pairs, models are pytrees of parameters, gradients
come from ``jax.grad`` and training runs on Optax (``fit`` / ``evaluate`` /
``predict``), with a Keras-style face in ``jaxnet.keras``.
"""
from jaxnet import activations, callbacks, datasets, initializers, layers, losses, metrics, optimizers, zoo
from jaxnet.callbacks import CSVLogger, EarlyStopping, ModelCheckpoint, TensorBoard, TerminateOnNaN
from jaxnet.keras import load_model
from jaxnet.layers import (
    Activation,
    AveragePooling2D,
    AvgPool2D,
    Concatenate,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Identity,
    Layer,
    MaxPool2D,
    MaxPooling2D,
    Maxout,
)
from jaxnet.model import Branch, Parallel, Sequential
from jaxnet.per_example import per_example_gradients
from jaxnet.summary import count_params
from jaxnet.train import History, evaluate, fit, predict

__version__ = "0.1.0"


__all__ = [
    "activations", "callbacks", "datasets", "initializers", "layers", "losses", "metrics", "optimizers", "zoo",
    "CSVLogger", "EarlyStopping", "ModelCheckpoint", "TensorBoard", "TerminateOnNaN", "load_model",
    "Activation", "AveragePooling2D", "AvgPool2D", "Concatenate", "Conv2D", "Dense", "Dropout", "Flatten",
    "Identity", "Layer", "MaxPool2D", "MaxPooling2D", "Maxout", "Branch", "Parallel", "Sequential",
    "per_example_gradients", "count_params", "History", "evaluate", "fit", "predict"
]
