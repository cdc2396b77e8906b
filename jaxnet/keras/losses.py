"""``keras.losses``: jaxnet's Keras-convention losses ``loss(y_pred, y_true, sample_weight=None)``."""
from jaxnet.losses import (
                           binary_crossentropy,
                           categorical_crossentropy,
                           get,
                           hinge,
                           huber,
                           mean_absolute_error,
                           mean_squared_error,
                           sparse_categorical_crossentropy,
                           squared_hinge,
)

mse, mae = mean_squared_error, mean_absolute_error

__all__ = ["binary_crossentropy", "categorical_crossentropy", "get", "hinge", "huber", "mae", "mean_absolute_error",
           "mean_squared_error", "mse", "sparse_categorical_crossentropy", "squared_hinge"]
