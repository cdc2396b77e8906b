"""``keras.losses``: jaxnet's Keras-convention losses ``loss(y_pred, y_true, sample_weight=None)``."""

from jaxnet.losses import (
    binary_crossentropy,
    categorical_crossentropy,
    categorical_hinge,
    cosine_similarity,
    get,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)

mse, mae = mean_squared_error, mean_absolute_error
mape, msle = mean_absolute_percentage_error, mean_squared_logarithmic_error

__all__ = [
    "binary_crossentropy",
    "categorical_crossentropy",
    "get",
    "hinge",
    "huber",
    "mae",
    "mean_absolute_error",
    "mean_squared_error",
    "mse",
    "sparse_categorical_crossentropy",
    "squared_hinge",
    "categorical_hinge",
    "cosine_similarity",
    "kl_divergence",
    "log_cosh",
    "mape",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "msle",
    "poisson",
]
