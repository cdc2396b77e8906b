"""jaxnet: *Deep Learning from Scratch* and the Keras chapters, as pure JAX functions.

Layers are ``init`` / ``apply`` pairs, models are pytrees of parameters, gradients
come from ``jax.grad`` and training runs on Optax.
"""
from jaxnet import activations, initializers, layers, losses
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
from jaxnet.summary import count_params

__version__ = "0.1.0"
