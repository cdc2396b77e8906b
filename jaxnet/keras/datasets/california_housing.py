"""``keras.datasets.california_housing``."""

from jaxnet import datasets as _datasets


def load_data(version: str = "large", path=None, test_split: float = 0.2, seed: int = 113, download=None):
    """California housing as Keras returns it (the same split: test_split 0.2, seed 113).

    Arguments:
        version: "large" (20,640 examples) or "small" (the first 600).
        path: the folder holding ``california_housing.npz``, or the file; None looks in $JAXNET_DATA or
            ~/.jaxnet/datasets, then Keras' cache.
        test_split: the fraction held out for testing.
        seed: the shuffle seed.
        download: fetch the published file when none is found (default: on, unless $JAXNET_DOWNLOAD=0).

    Returns:
        ``((x_train, y_train), (x_test, y_test))``.
    """
    return _datasets.load_california_housing(path, test_split=test_split, seed=seed, download=download, version=version)
