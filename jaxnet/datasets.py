"""Data sets with Keras-identical shapes and dtypes, and the small helpers around them.

``load_digits`` and ``load_iris`` return real data shipped inside scikit-learn
(the embedded defaults). The others read the standard files: MNIST as Keras'
``mnist.npz`` or the four IDX gzip files, Fashion-MNIST as its IDX gzip files,
CIFAR-10 as its python batches, Boston and California housing as Keras' ``.npz``.
They are looked for in ``path`` when given, else in ``$JAXNET_DATA/<name>``,
``~/.jaxnet/datasets/<name>`` and Keras' own cache (``$KERAS_HOME`` or
``~/.keras``, then ``datasets/...`` with Keras 3's file names), so data that Keras
downloaded is used as it is. When none has them, they are downloaded from the
address Keras uses, checked against the published SHA-256 and written atomically
(into ``path``, else ``$JAXNET_DATA/<name>``, else Keras' cache); ``download=False``
turns that off. The error for a machine that cannot reach the address says where
to put the files by hand.
"""

from __future__ import annotations

import gzip
import math
import os
import pathlib
import pickle
import struct
import tarfile
import tempfile
import urllib.error
import zlib
from dataclasses import dataclass

import jax
import numpy as np

from jaxnet._src import labels as label_forms
from jaxnet._src.download import ChecksumError, fetch

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
CIFAR10_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


@dataclass(frozen=True)
class Source:
    """Where a data set is published, and where Keras 3 caches it.

    Attributes:
        files: the files the loader reads, in one folder.
        origin: the address of the published file(s): a folder of ``files``, or ``archive``'s address.
        sha256: the published SHA-256 of each downloaded file (of ``files``, or of the archive alone).
        keras_dirs: the folders under Keras' ``datasets`` cache that hold ``files`` (Keras 3's layout first).
        archive: for CIFAR-10, the ``.tar.gz`` whose ``archive_dir`` folder holds ``files``.
        archive_dir: that folder inside the archive.
    """

    files: tuple[str, ...]
    origin: str
    sha256: tuple[str, ...]
    keras_dirs: tuple[str, ...] = ("",)
    archive: bool = False
    archive_dir: str = ""

    @property
    def url(self) -> str:
        """The address(es) to tell a user who fetches the files by hand."""
        if self.archive or len(self.files) == 1:
            return self.origin if self.archive else self.origin + self.files[0]
        return f"{self.origin}{{{','.join(self.files)}}}"  # the shell's brace notation for several files


# Keras' own addresses and checksums (keras/src/datasets). Keras gives none for Fashion-MNIST: these are the
# SHA-256 of the files Zalando publishes (whose MD5s its README lists), of which Keras' copies are the same bytes.
SOURCES = {
    "mnist": Source(
        ("mnist.npz",), KERAS_ORIGIN, ("731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",)
    ),
    "fashion_mnist": Source(
        MNIST_FILES,
        KERAS_ORIGIN,
        (
            "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
            "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
            "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
            "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
        ),
        keras_dirs=("fashion-mnist",),
    ),
    "cifar10": Source(
        CIFAR10_FILES,
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        ("6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",),
        keras_dirs=("cifar-10-batches-py-target/cifar-10-batches-py", "cifar-10-batches-py"),
        archive=True,
        archive_dir="cifar-10-batches-py",
    ),
    "boston_housing": Source(
        ("boston_housing.npz",), KERAS_ORIGIN, ("f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",)
    ),
    "california_housing": Source(
        ("california_housing.npz",), KERAS_ORIGIN, ("1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f",)
    ),
}


class DatasetError(ValueError):
    """A data file that is missing, corrupt or not in the expected format."""


def keras_cache_dir() -> pathlib.Path:
    """Keras' data cache: ``$KERAS_HOME/datasets``, else ``~/.keras/datasets``."""
    return pathlib.Path(os.environ.get("KERAS_HOME") or pathlib.Path.home() / ".keras") / "datasets"


def data_dir(name: str, path: str | os.PathLike | None = None) -> pathlib.Path:
    """The folder jaxnet reads and downloads data set ``name`` in, before Keras' cache.

    ``path``, else $JAXNET_DATA/name, else ~/.jaxnet/datasets/name.
    """
    if path is not None:
        return pathlib.Path(path)
    root = os.environ.get("JAXNET_DATA")
    return (pathlib.Path(root) if root else pathlib.Path.home() / ".jaxnet" / "datasets") / name


def search_dirs(name: str, path: str | os.PathLike | None = None) -> list[pathlib.Path]:
    """The folders looked in for data set ``name``, in order: ``path`` alone when given, else jaxnet's then Keras'."""
    if path is not None:
        return [pathlib.Path(path)]
    return [data_dir(name), *(keras_cache_dir() / sub for sub in SOURCES[name].keras_dirs)]


def _download_dir(name: str, path) -> pathlib.Path:
    """Where a download goes: ``path``, else $JAXNET_DATA/name, else Keras' cache (shared with Keras)."""
    if path is not None or os.environ.get("JAXNET_DATA"):
        return data_dir(name, path)
    return keras_cache_dir() / SOURCES[name].keras_dirs[0]


def _download(name: str, folder: pathlib.Path) -> None:
    """Fetch data set ``name``'s files into ``folder`` (an archive is extracted), each checksum-verified."""
    source = SOURCES[name]
    if not source.archive:
        for file, digest in zip(source.files, source.sha256):
            if not (folder / file).exists():
                fetch(source.origin + file, folder / file, digest)
        return
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
        archive = fetch(source.origin, pathlib.Path(tmp) / "archive.tar.gz", source.sha256[0])
        with tarfile.open(archive, "r:gz") as tar:
            members = [tar.getmember(f"{source.archive_dir}/{file}") for file in source.files]
            tar.extractall(tmp, members=members, filter="data")  # plain files only, nothing outside tmp
        for file in source.files:  # each file appears whole, by a rename within one file system
            os.replace(pathlib.Path(tmp) / source.archive_dir / file, folder / file)


def _require(
    name: str, path=None, download: bool | None = None, alternatives: tuple[str, ...] = ()
) -> list[pathlib.Path]:
    """The paths of data set ``name``'s files: from the first folder holding them all, else downloaded.

    Arguments:
        name: a key of ``SOURCES``.
        path: the one folder to use, or for a one-file data set the file (None: jaxnet's folder, then Keras' cache).
        download: fetch the files when no folder has them (None: unless $JAXNET_DOWNLOAD is "0").
        alternatives: other file names accepted instead (MNIST's IDX files instead of mnist.npz); when a
            folder has them all, they are returned.

    Raises:
        FileNotFoundError: when the files are nowhere and downloading is off or fails; it says where to put them.
        DatasetError: when a download's checksum is wrong (nothing is kept).
    """
    if download is None:
        download = os.environ.get("JAXNET_DOWNLOAD", "1") != "0"
    source, folders = SOURCES[name], search_dirs(name, path)
    if path is not None and len(source.files) == 1 and pathlib.Path(path).is_file():
        return [pathlib.Path(path)]  # Keras' load_data(path=...) names the .npz file itself
    for folder in folders:
        for files in (source.files, alternatives):
            if files and all((folder / f).exists() for f in files):
                return [folder / f for f in files]
    target = _download_dir(name, path)
    missing = ", ".join(alternatives + (("or " if alternatives else "") + ", ".join(source.files),))
    where = f"in {folders[0]}" if len(folders) == 1 else f"in any of {', '.join(map(str, folders))}"
    what = f"the files of its {source.archive_dir}/ folder" if source.archive else "the files"
    by_hand = (
        f"fetch {source.url} yourself and put {what} in {target} "
        "(or give that folder as path=... or as the CLI's --data-dir, or set JAXNET_DATA)"
    )
    if not download:
        raise FileNotFoundError(
            f"{name}: missing {missing} {where}, and downloading is off (download=False or "
            f"JAXNET_DOWNLOAD=0); {by_hand}."
        )
    try:
        _download(name, target)
    except ChecksumError as err:
        raise DatasetError(f"{name}: {err}") from err
    except (OSError, urllib.error.URLError) as err:
        reason = getattr(err, "reason", err)
        raise FileNotFoundError(
            f"{name}: missing {missing} {where}, and downloading {source.url} failed "
            f"({reason}); if this machine is offline, {by_hand}."
        ) from err
    return [target / f for f in source.files]


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
        raise DatasetError(
            f"{path} is truncated or padded: {len(data)} bytes of data, the header's shape {shape} "
            f"needs {math.prod(shape)}"
        )
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


def _read_npz(file: pathlib.Path, keys: tuple[str, ...], what: str) -> list[np.ndarray]:
    try:
        with np.load(file, allow_pickle=False) as data:
            return [data[k] for k in keys]
    except (OSError, ValueError, KeyError) as err:
        names = f"{', '.join(keys[:-1])} and {keys[-1]}"
        raise DatasetError(f"{file} is not {what} with arrays {names} ({err})") from err


def load_mnist(path: str | os.PathLike | None = None, download: bool | None = None) -> Split:
    """MNIST as Keras returns it: x uint8 (60000, 28, 28) / (10000, 28, 28), y uint8.

    Arguments:
        path: the one folder to read (None: jaxnet's folder, then Keras' cache; see the module doc).
        download: fetch Keras' mnist.npz when no folder has the data (default: on, unless $JAXNET_DOWNLOAD=0).

    Returns:
        ``((x_train, y_train), (x_test, y_test))``, from Keras' mnist.npz or the four IDX gzip files.
    """
    files = _require("mnist", path, download, alternatives=MNIST_FILES)
    if len(files) == 1:
        x, y, xt, yt = _read_npz(files[0], ("x_train", "y_train", "x_test", "y_test"), "Keras' mnist.npz")
        return (x, y), (xt, yt)
    x, y, xt, yt = (read_idx(p) for p in files)
    return (x, y), (xt, yt)


def load_fashion_mnist(path: str | os.PathLike | None = None, download: bool | None = None) -> Split:
    """Fashion-MNIST from its IDX gzip files, shaped as MNIST (``path``, ``download``: as ``load_mnist``)."""
    x, y, xt, yt = (read_idx(p) for p in _require("fashion_mnist", path, download))
    return (x, y), (xt, yt)


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that builds only plain data: dicts, lists, tuples, bytes, str, numbers and NumPy arrays.

    A pickle can name any importable function to call while loading (``os.system`` included); this one
    admits only the functions NumPy's own array pickles name, and refuses every other.
    """

    ALLOWED = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("numpy.core.numeric", "_frombuffer"),
            ("numpy._core.numeric", "_frombuffer"),
            ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 spell bytes
        }
    )

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f"it asks to call {module}.{name}, which a data file never needs "
                "(refused: only arrays, numbers, strings and containers are loaded)"
            )
        return super().find_class(module, name)


def load_pickled_data(path: str | os.PathLike) -> object:
    """Unpickle a data file (such as a CIFAR batch) that holds only plain data and NumPy arrays.

    Raises:
        DatasetError: for a corrupt file, or one whose pickle would call anything else (it is not run).
    """
    try:
        with open(path, "rb") as f:
            return _ArraysOnly(f, encoding="bytes").load()
    except (
        pickle.UnpicklingError,
        EOFError,
        TypeError,
        ValueError,
        AttributeError,
        IndexError,
        MemoryError,
        RecursionError,
    ) as err:
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
        raise DatasetError(f"{path}: expected data of shape (n, 3072) and n labels, got {data.shape} and {len(labels)}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def load_cifar10(path: str | os.PathLike | None = None, download: bool | None = None) -> Split:
    """CIFAR-10 from its python batches: x uint8 (50000, 32, 32, 3), y uint8 (50000, 1), as Keras returns.

    ``path``, ``download``: as ``load_mnist`` (the download is the published archive, extracted).
    """
    files = _require("cifar10", path, download)
    train = [_read_cifar_batch(p) for p in files[:5]]
    test = _read_cifar_batch(files[5])
    return (np.concatenate([b[0] for b in train]), np.concatenate([b[1] for b in train])), test


def _load_npz_regression(
    name: str, path, test_split: float, seed: int, download: bool | None, limit: int | None = None
) -> Split:
    if not 0 <= test_split < 1:
        raise ValueError(f"test_split must be in [0, 1), got {test_split}")
    (file,) = _require(name, path, download)
    x, y = _read_npz(file, ("x", "y"), f"Keras' {name}.npz")
    x, y = x[:limit], y[:limit]
    # Keras: shuffle with numpy's legacy seeded generator, then take the first 1 - test_split for training.
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def load_boston_housing(
    path: str | os.PathLike | None = None, test_split: float = 0.2, seed: int = 113, download: bool | None = None
) -> Split:
    """Boston housing (13 features) from Keras' boston_housing.npz, split as Keras does (test_split 0.2, seed 113).

    ``path``, ``download``: as ``load_mnist``.
    """
    return _load_npz_regression("boston_housing", path, test_split, seed, download)


def load_california_housing(
    path: str | os.PathLike | None = None,
    test_split: float = 0.2,
    seed: int = 113,
    download: bool | None = None,
    version: str = "large",
) -> Split:
    """California housing (8 features) from Keras' california_housing.npz, split as Keras does.

    ``version``: "large" (all 20,640 examples) or "small" (the first 600), as Keras' ``load_data``.
    """
    if version not in ("large", "small"):
        raise ValueError(f"version must be 'large' or 'small', got {version!r}")
    limit = 600 if version == "small" else None
    return _load_npz_regression("california_housing", path, test_split, seed, download, limit)


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


LOADERS = {
    "digits": load_digits,
    "iris": load_iris,
    "diabetes": load_diabetes,
    "mnist": load_mnist,
    "fashion_mnist": load_fashion_mnist,
    "cifar10": load_cifar10,
    "boston_housing": load_boston_housing,
    "california_housing": load_california_housing,
}
