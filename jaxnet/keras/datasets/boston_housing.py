"""``keras.datasets.boston_housing``."""

from jaxnet import datasets as _datasets


def load_data(path=None, test_split: float = 0.2, seed: int = 113, download=None):
    """Boston housing as Keras returns it (the same 80/20 split, seed 113).

    Arguments:
        path: the folder holding ``boston_housing.npz``, or the file; None looks in $JAXNET_DATA or
            ~/.jaxnet/datasets, then Keras' cache.
        test_split: the fraction held out for testing.
        seed: the shuffle seed.
        download: fetch the published file when none is found (default: on, unless $JAXNET_DOWNLOAD=0).

    Returns:
        ``((x_train, y_train), (x_test, y_test))``.
    """
    return _datasets.load_boston_housing(path, test_split=test_split, seed=seed, download=download)
