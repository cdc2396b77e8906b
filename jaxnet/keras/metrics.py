"""``keras.metrics``: jaxnet's per-example metrics."""

from jaxnet.metrics import (
    REGISTRY,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    get,
    mean_absolute_error,
    mean_squared_error,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)

mse, mae = mean_squared_error, mean_absolute_error
# Keras' loss functions as metrics, one value per example
binary_crossentropy, categorical_crossentropy = REGISTRY["binary_crossentropy"], REGISTRY["categorical_crossentropy"]
sparse_categorical_crossentropy = REGISTRY["sparse_categorical_crossentropy"]
hinge, squared_hinge, categorical_hinge = REGISTRY["hinge"], REGISTRY["squared_hinge"], REGISTRY["categorical_hinge"]
kl_divergence, poisson, log_cosh = REGISTRY["kl_divergence"], REGISTRY["poisson"], REGISTRY["log_cosh"]
mean_absolute_percentage_error = mape = REGISTRY["mean_absolute_percentage_error"]
mean_squared_logarithmic_error = msle = REGISTRY["mean_squared_logarithmic_error"]

__all__ = [
    "accuracy",
    "binary_accuracy",
    "binary_crossentropy",
    "categorical_accuracy",
    "categorical_crossentropy",
    "categorical_hinge",
    "get",
    "hinge",
    "kl_divergence",
    "log_cosh",
    "mae",
    "mape",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "mse",
    "msle",
    "poisson",
    "sparse_categorical_accuracy",
    "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy",
    "squared_hinge",
    "top_k_categorical_accuracy",
]
