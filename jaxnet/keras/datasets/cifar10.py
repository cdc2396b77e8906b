"""``keras.datasets.cifar10``."""

from jaxnet import datasets as _datasets


def load_data(path=None, download=None):
    """cifar10 as Keras returns it, from jaxnet's folder, Keras' own cache, or downloaded (see ``jaxnet.datasets``).

    Arguments:
        path: the folder holding the files; None looks in $JAXNET_DATA or ~/.jaxnet/datasets, then Keras' cache.
        download: fetch the published files when none are found (default: on, unless $JAXNET_DOWNLOAD=0).

    Returns:
        ``((x_train, y_train), (x_test, y_test))``.
    """
    return _datasets.load_cifar10(path, download=download)
