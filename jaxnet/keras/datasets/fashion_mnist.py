"""``keras.datasets.fashion_mnist``."""
from jaxnet import datasets as _datasets


def load_data(path=None):
    """fashion_mnist as Keras returns it.

    Arguments:
        path: the folder holding the files (jaxnet.datasets' default folder when None).

    Returns:
        ``((x_train, y_train), (x_test, y_test))``.
    """
    return _datasets.load_fashion_mnist(path)
