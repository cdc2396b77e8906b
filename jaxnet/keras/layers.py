"""``keras.layers``: jaxnet's layer classes under their Keras names."""
from jaxnet.keras._model import Input
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

__all__ = ["Activation", "AveragePooling2D", "AvgPool2D", "Concatenate", "Conv2D", "Dense", "Dropout", "Flatten",
           "Identity", "Input", "Layer", "MaxPool2D", "MaxPooling2D", "Maxout",
           "BatchNormalization", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "Rescaling",
           "ZeroPadding2D"]
