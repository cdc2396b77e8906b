"""``keras.datasets``: ``mnist``, ``fashion_mnist``, ``cifar10``, ``boston_housing``, each with ``load_data()``.

Each ``load_data`` returns Keras' ``((x_train, y_train), (x_test, y_test))`` from
the files jaxnet.datasets reads (nothing is downloaded; see ``jaxnet.datasets.SOURCES``).
"""
from jaxnet.keras.datasets import boston_housing, cifar10, fashion_mnist, mnist

__all__ = ["boston_housing", "cifar10", "fashion_mnist", "mnist"]
