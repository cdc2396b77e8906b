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
)

__all__ = ["Activation", "AveragePooling2D", "AvgPool2D", "Concatenate", "Conv2D", "Dense", "Dropout", "Flatten",
           "Identity", "Input", "Layer", "MaxPool2D", "MaxPooling2D", "Maxout", "InputLayer", "concatenate"]
