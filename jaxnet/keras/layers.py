"""``keras.layers``: jaxnet's layer classes under their Keras names."""

from jaxnet.functional import Input, InputLayer
from jaxnet.keras.functional import concatenate
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
    Maxout,
    MaxPool2D,
    MaxPooling2D,
    ZeroPadding2D,
)
from jaxnet.normalization import BatchNormalization
from jaxnet.preprocessing import RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Rescaling

__all__ = [
    "Activation",
    "AveragePooling2D",
    "AvgPool2D",
    "Concatenate",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Identity",
    "Input",
    "InputLayer",
    "Layer",
    "MaxPool2D",
    "MaxPooling2D",
    "Maxout",
    "concatenate",
    "BatchNormalization",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Rescaling",
    "ZeroPadding2D",
]
