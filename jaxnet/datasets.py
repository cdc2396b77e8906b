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
import math
import os
import pathlib
import pickle
import struct
import zlib

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
            magic = f.read(4)
            if len(magic) < 4 or magic[:2] != b"\x00\x00" or magic[2] != 0x08:
                raise DatasetError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
            dims = f.read(4 * magic[3])
            if len(dims) < 4 * magic[3]:
                raise DatasetError(f"{path} is truncated: its header is incomplete")
            shape = struct.unpack(f">{magic[3]}I", dims)
            # read no more than the header promises (plus one byte to detect padding): a corrupt or
            # hostile size fails on the length check instead of filling memory
            data = _read_at_most(f, math.prod(shape) + 1)
    except (OSError, EOFError, zlib.error) as err:
        raise DatasetError(f"cannot read IDX file {path}: {err}") from err
    if len(data) != math.prod(shape):
        raise DatasetError(f"{path} is truncated or padded: {len(data)} bytes of data, the header's shape {shape} "
                           f"needs {math.prod(shape)}")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def _read_at_most(f, limit: int, chunk: int = 1 << 24) -> bytes:
    """Up to ``limit`` bytes of ``f``, read in chunks so that a false size never allocates at once."""
    parts, size = [], 0
    while size < limit:
        part = f.read(min(chunk, limit - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _load_idx_set(name: str, path) -> Split:
    train_x, train_y, test_x, test_y = (read_idx(p) for p in _require(name, data_dir(name, path)))
    return (train_x, train_y), (test_x, test_y)


def load_mnist(path: str | os.PathLike | None = None) -> Split:
    """MNIST from its IDX gzip files: x uint8 (60000, 28, 28) / (10000, 28, 28), y uint8, as Keras returns."""
    return _load_idx_set("mnist", path)


def load_fashion_mnist(path: str | os.PathLike | None = None) -> Split:
    """Fashion-MNIST from its IDX gzip files, shaped as MNIST."""
    return _load_idx_set("fashion_mnist", path)


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that builds only plain data: dicts, lists, tuples, bytes, str, numbers and NumPy arrays.

    A pickle can name any importable function to call while loading (``os.system`` included); this one
    admits only the functions NumPy's own array pickles name, and refuses every other.
    """

    ALLOWED = frozenset({
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 spell bytes
    })

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"it asks to call {module}.{name}, which a data file never needs "
                                         "(refused: only arrays, numbers, strings and containers are loaded)")
        return super().find_class(module, name)


def load_pickled_data(path: str | os.PathLike) -> object:
    """Unpickle a data file (such as a CIFAR batch) that holds only plain data and NumPy arrays.

    Raises:
        DatasetError: for a corrupt file, or one whose pickle would call anything else (it is not run).
    """
    try:
        with open(path, "rb") as f:
            return _ArraysOnly(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError, IndexError,
            MemoryError, RecursionError) as err:
        raise DatasetError(f"{path} cannot be loaded as plain data: {err}") from err


def _read_cifar_batch(path: pathlib.Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = load_pickled_data(path)  # the published CIFAR format is a Python pickle
    except DatasetError as err:
        raise DatasetError(f"{path} is not a CIFAR-10 python batch: {err.__cause__}") from err
    try:
        data, labels = batch[b"data"], batch[b"labels"]  # type: ignore[index]
    except (KeyError, TypeError, IndexError) as err:
        raise DatasetError(f"{path} is not a CIFAR-10 python batch (no data and labels: {err!r})") from err
    try:
        data, labels = np.asarray(data, np.uint8), np.asarray(labels, np.uint8).reshape(-1, 1)
    except (TypeError, ValueError, OverflowError) as err:
        raise DatasetError(f"{path}: the data and labels are not arrays of bytes ({err})") from err
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DatasetError(f"{path}: expected data of shape (n, 3072) and n labels, got {data.shape} and "
                           f"{len(labels)}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


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
        ValueError: for labels that are not whole numbers (1.7 is never truncated) or lie outside [0, num_classes).
    """
    labels, num_classes = label_forms.class_labels(np.asarray(labels).reshape(-1), num_classes)
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
