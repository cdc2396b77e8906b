"""``keras.datasets``: ``mnist``, ``fashion_mnist``, ``cifar10``, ``boston_housing``, ``california_housing``.

Each ``load_data`` returns Keras' ``((x_train, y_train), (x_test, y_test))`` from
jaxnet's data folder or Keras' own cache (``~/.keras/datasets``), downloading the
published files (checksum-verified) when neither has them; see ``jaxnet.datasets``.
"""

from jaxnet.keras.datasets import boston_housing, california_housing, cifar10, fashion_mnist, mnist

__all__ = ["boston_housing", "california_housing", "cifar10", "fashion_mnist", "mnist"]
