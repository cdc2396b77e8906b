"""Data sets with Keras-identical shapes and dtypes, and the small helpers around them.

``load_digits`` and ``load_iris`` return real data shipped inside scikit-learn
(the embedded defaults). The others read the standard files from a local folder
(``JAXNET_DATA`` or ``~/.jaxnet/datasets/<name>``): MNIST and Fashion-MNIST as
IDX gzip files, CIFAR-10 as its python batches, Boston and California housing as
Keras' ``.npz``. When a file is missing the error says which, where to put it and
the address it is published at; nothing is downloaded behind your back.
"""
from __future__ import annotations

import gzip
import os
import pathlib
import pickle
import struct

import jax
import numpy as np

from jaxnet._src import labels as label_forms

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
SOURCES = {
    "mnist": ("https://storage.googleapis.com/cvdf-datasets/mnist/", MNIST_FILES),
    "fashion_mnist": ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/", MNIST_FILES),
    "cifar10": ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (extract cifar-10-batches-py/)",
                tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)),
    "boston_housing": ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/", ("boston_housing.npz",)),
    "california_housing": ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
                           ("california_housing.npz",)),
}


class DatasetError(ValueError):
    """A data file that is missing, corrupt or not in the expected format."""


def data_dir(name: str, path: str | os.PathLike | None = None) -> pathlib.Path:
    """Where the files of data set ``name`` are looked for.

    ``path``, else $JAXNET_DATA/name, else ~/.jaxnet/datasets/name.
    """
    if path is not None:
        return pathlib.Path(path)
    root = os.environ.get("JAXNET_DATA")
    return (pathlib.Path(root) if root else pathlib.Path.home() / ".jaxnet" / "datasets") / name


def _require(name: str, folder: pathlib.Path) -> list[pathlib.Path]:
    url, files = SOURCES[name]
    missing = [f for f in files if not (folder / f).exists()]
    if missing:
        raise FileNotFoundError(
            f"{name}: missing {', '.join(missing)} in {folder}. This machine cannot download data; "
            f"fetch the files from {url} and put them in that folder (or pass path=..., or set JAXNET_DATA)."
        )
    return [folder / f for f in files]


# --- packaged data (scikit-learn) ---------------------------------------------------------------

def _holdout(x, y, test_split: float, seed: int) -> Split:
    idx = np.random.default_rng(seed).permutation(len(x))
    cut = len(x) - int(round(len(x) * test_split))
    return (x[idx[:cut]], y[idx[:cut]]), (x[idx[cut:]], y[idx[cut:]])


def load_digits(test_split: float = 0.2, seed: int = 0) -> Split:
    """scikit-learn's 1,797 handwritten digits: images (n, 8, 8) float32 scaled to 0..1, labels int32.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` with ``test_split`` of the examples held out (shuffled by ``seed``).
    """
    from sklearn.datasets import load_digits as sk_digits

    data = sk_digits()
    return _holdout((data.images / 16.0).astype(np.float32), data.target.astype(np.int32), test_split, seed)


def load_iris(test_split: float = 0.2, seed: int = 0) -> Split:
    """scikit-learn's iris: 4 features float32 (standardised on the training split), 3 classes int32."""
    from sklearn.datasets import load_iris as sk_iris

    data = sk_iris()
    (x_tr, y_tr), (x_te, y_te) = _holdout(data.data.astype(np.float32), data.target.astype(np.int32), test_split, seed)
    mean, std = x_tr.mean(0), x_tr.std(0)
    return ((x_tr - mean) / std, y_tr), ((x_te - mean) / std, y_te)


def load_diabetes(test_split: float = 0.2, seed: int = 0) -> Split:
    """scikit-learn's diabetes regression set: 10 standardised features, a float32 target (n,)."""
    from sklearn.datasets import load_diabetes as sk_diabetes

    data = sk_diabetes()
    return _holdout(data.data.astype(np.float32), data.target.astype(np.float32), test_split, seed)


# --- standard file formats -----------------------------------------------------------------------

def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not), the format of MNIST and Fashion-MNIST.

    Raises:
        DatasetError: for a truncated or malformed file.
    """
    path = pathlib.Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as err:
        raise DatasetError(f"cannot read IDX file {path}: {err}") from err
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise DatasetError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path} is truncated: its header is incomplete")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise DatasetError(f"{path} is truncated or padded: {len(data)} bytes, expected {expected} for shape {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _load_idx_set(name: str, path) -> Split:
    train_x, train_y, test_x, test_y = (read_idx(p) for p in _require(name, data_dir(name, path)))
    return (train_x, train_y), (test_x, test_y)


def load_mnist(path: str | os.PathLike | None = None) -> Split:
    """MNIST from its IDX gzip files: x uint8 (60000, 28, 28) / (10000, 28, 28), y uint8, as Keras returns."""
    return _load_idx_set("mnist", path)


def load_fashion_mnist(path: str | os.PathLike | None = None) -> Split:
    """Fashion-MNIST from its IDX gzip files, shaped as MNIST."""
    return _load_idx_set("fashion_mnist", path)


def _read_cifar_batch(path: pathlib.Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")  # the published CIFAR format is a Python pickle
        data, labels = batch[b"data"], batch[b"labels"]
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, AttributeError) as err:
        raise DatasetError(f"{path} is not a CIFAR-10 python batch (corrupt or truncated: {err!r})") from err
    data = np.asarray(data, np.uint8)
    if data.ndim != 2 or data.shape[1] != 3072:
        raise DatasetError(f"{path}: expected data of shape (n, 3072), got {data.shape}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), np.asarray(labels, np.uint8).reshape(-1, 1)


def load_cifar10(path: str | os.PathLike | None = None) -> Split:
    """CIFAR-10 from its python batches: x uint8 (50000, 32, 32, 3), y uint8 (50000, 1), as Keras returns."""
    files = _require("cifar10", data_dir("cifar10", path))
    train = [_read_cifar_batch(p) for p in files[:5]]
    test = _read_cifar_batch(files[5])
    return (np.concatenate([b[0] for b in train]), np.concatenate([b[1] for b in train])), test


def _load_npz_regression(name: str, path, test_split: float, seed: int) -> Split:
    (file,) = _require(name, data_dir(name, path))
    try:
        with np.load(file, allow_pickle=False) as data:
            x, y = data["x"], data["y"]
    except (OSError, ValueError, KeyError) as err:
        raise DatasetError(f"{file} is not Keras' {name}.npz with arrays x and y ({err})") from err
    # Keras: shuffle with numpy's legacy seeded generator, then take the first 1 - test_split for training.
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def load_boston_housing(path: str | os.PathLike | None = None, test_split: float = 0.2, seed: int = 113) -> Split:
    """Boston housing (13 features) from Keras' boston_housing.npz, split as Keras does (test_split 0.2, seed 113)."""
    return _load_npz_regression("boston_housing", path, test_split, seed)


def load_california_housing(path: str | os.PathLike | None = None, test_split: float = 0.2,
                            seed: int = 113) -> Split:
    """California housing (8 features) from Keras' california_housing.npz, split as Keras does."""
    return _load_npz_regression("california_housing", path, test_split, seed)


# --- helpers -------------------------------------------------------------------------------------

def one_hot(labels, num_classes: int | None = None) -> np.ndarray:
    """One-hot float32 rows for integer labels (Keras' to_categorical).

    Raises:
        ValueError: for labels outside [0, num_classes).
    """
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    num_classes = (int(labels.max()) + 1 if labels.size else 0) if num_classes is None else num_classes
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes - 1}], got {labels.min()} to {labels.max()}")
    return label_forms.one_hot(labels, num_classes, np.float32)  # the one encoder, also used inside losses


def scale_pixels(x) -> np.ndarray:
    """uint8 pixels to float32 in [0, 1]."""
    return np.asarray(x, np.float32) / 255.0


def train_validation_split(x, y, validation_fraction: float = 0.2, *, key: jax.Array | None = None):
    """Split off a validation set: the last fraction, or a random one when ``key`` is given.

    Returns:
        ``(x_train, y_train), (x_val, y_val)``.
    """
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    x, y = np.asarray(x), np.asarray(y)
    order = np.arange(len(x)) if key is None else np.asarray(jax.random.permutation(key, len(x)))
    cut = len(x) - int(round(len(x) * validation_fraction))
    return (x[order[:cut]], y[order[:cut]]), (x[order[cut:]], y[order[cut:]])


LOADERS = {"digits": load_digits, "iris": load_iris, "diabetes": load_diabetes, "mnist": load_mnist,
           "fashion_mnist": load_fashion_mnist, "cifar10": load_cifar10, "boston_housing": load_boston_housing,
           "california_housing": load_california_housing}
