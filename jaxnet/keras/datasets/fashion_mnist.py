"""``keras.datasets.fashion_mnist``."""

from jaxnet import datasets as _datasets


def load_data(path=None, download=None):
    """fashion_mnist as Keras returns it, from jaxnet's folder, Keras' cache, or downloaded (see jaxnet.datasets).

    Arguments:
        path: the folder holding the files; None looks in $JAXNET_DATA or ~/.jaxnet/datasets, then Keras' cache.
        download: fetch the published files when none are found (default: on, unless $JAXNET_DOWNLOAD=0).

    Returns:
        ``((x_train, y_train), (x_test, y_test))``.
    """
    return _datasets.load_fashion_mnist(path, download=download)
