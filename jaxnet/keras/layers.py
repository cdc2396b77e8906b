"""``keras.layers``: jaxnet's layer classes under their Keras names."""
from jaxnet.layers import (Activation, AveragePooling2D, AvgPool2D, Concatenate, Conv2D, Dense, Dropout, Flatten,
                           Identity, Layer, MaxPool2D, MaxPooling2D, Maxout)
from jaxnet.keras._model import Input

__all__ = ["Activation", "AveragePooling2D", "AvgPool2D", "Concatenate", "Conv2D", "Dense", "Dropout", "Flatten",
           "Identity", "Input", "Layer", "MaxPool2D", "MaxPooling2D", "Maxout"]
