"""``keras.metrics``: jaxnet's per-example metrics."""
from jaxnet.metrics import accuracy, get, mean_absolute_error, mean_squared_error, sparse_categorical_accuracy

mse, mae = mean_squared_error, mean_absolute_error

__all__ = ["accuracy", "get", "mae", "mean_absolute_error", "mean_squared_error", "mse",
           "sparse_categorical_accuracy"]
