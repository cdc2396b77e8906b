import dataclasses
import functools
import gzip
import http.server
import os
import pickle
import socket
import struct
import tarfile
import threading

import jax
import numpy as np
import pytest

from jaxnet import datasets
from jaxnet._src.download import sha256_of
from jaxnet.datasets import DatasetError
from jaxnet.keras import datasets as keras_datasets


def write_idx(path, array):
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize(
    "name,loader", [("mnist", datasets.load_mnist), ("fashion_mnist", datasets.load_fashion_mnist)]
)
def test_idx_files_load_with_keras_shapes(name, loader, tmp_path, rng):
    images = rng.integers(0, 256, size=(6, 28, 28))
    labels = rng.integers(0, 10, size=6)
    for file, arr in zip(datasets.MNIST_FILES, (images, labels, images[:2], labels[:2])):
        write_idx(tmp_path / file, arr)
    (x, y), (xt, yt) = loader(tmp_path)
    assert x.shape == (6, 28, 28) and x.dtype == np.uint8 and y.shape == (6,) and y.dtype == np.uint8
    assert xt.shape == (2, 28, 28)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


def test_truncated_idx_and_bad_magic(tmp_path):
    write_idx(tmp_path / "a.gz", np.zeros((3, 4, 4)))
    data = gzip.open(tmp_path / "a.gz").read()
    with gzip.open(tmp_path / "t.gz", "wb") as f:
        f.write(data[:-5])
    with pytest.raises(DatasetError, match="truncated"):
        datasets.read_idx(tmp_path / "t.gz")
    with gzip.open(tmp_path / "m.gz", "wb") as f:
        f.write(b"\x01\x02\x03\x04")
    with pytest.raises(DatasetError, match="magic"):
        datasets.read_idx(tmp_path / "m.gz")
    (tmp_path / "broken.gz").write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(DatasetError, match="cannot read"):
        datasets.read_idx(tmp_path / "broken.gz")


def test_missing_files_say_where_and_from_where(tmp_path):
    with pytest.raises(
        FileNotFoundError,
        match=r"mnist: missing train-images-idx3-ubyte.gz.*or mnist.npz in .*"
        r"downloading is off.*storage.googleapis",
    ):
        datasets.load_mnist(tmp_path)


# --- Keras' cache layout and downloads ----------------------------------------------------------


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """An empty home (no $JAXNET_DATA) and a Keras home at tmp_path/keras (its cache: tmp_path/keras/datasets)."""
    monkeypatch.delenv("JAXNET_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path / "keras" / "datasets"


def _write_mnist_like(folder, rng, n=5):
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = rng.integers(0, 256, size=(n, 28, 28)), rng.integers(0, 10, size=n)
    for file, arr in zip(datasets.MNIST_FILES, (images, labels, images[:2], labels[:2])):
        write_idx(folder / file, arr)
    return images, labels


def _cifar_batches(folder, rng):
    folder.mkdir(parents=True, exist_ok=True)
    rows = rng.integers(0, 256, size=(4, 3072)).astype(np.uint8)
    for file in datasets.CIFAR10_FILES:
        with open(folder / file, "wb") as f:
            pickle.dump({b"data": rows, b"labels": [1, 2, 3, 4]}, f)
    return rows


def test_reads_keras_own_cache_layout(homes, rng, monkeypatch):
    x = rng.integers(0, 256, size=(3, 28, 28)).astype(np.uint8)
    homes.mkdir(parents=True)
    np.savez(homes / "mnist.npz", x_train=x, y_train=np.arange(3, dtype=np.uint8), x_test=x[:1], y_test=x[0, 0, :1])
    (xtr, ytr), (xte, _) = keras_datasets.mnist.load_data(download=False)
    np.testing.assert_array_equal(xtr, x)
    assert ytr.tolist() == [0, 1, 2] and xte.shape == (1, 28, 28)
    images, labels = _write_mnist_like(homes / "fashion-mnist", rng)
    (xtr, ytr), _ = keras_datasets.fashion_mnist.load_data()
    np.testing.assert_array_equal(xtr, images)
    np.testing.assert_array_equal(ytr, labels)
    _cifar_batches(homes / "cifar-10-batches-py-target" / "cifar-10-batches-py", rng)  # Keras 3's layout
    assert keras_datasets.cifar10.load_data()[0][0].shape == (20, 32, 32, 3)
    np.savez(homes / "boston_housing.npz", x=rng.normal(size=(10, 13)), y=rng.normal(size=10))
    assert keras_datasets.boston_housing.load_data()[0][0].shape == (8, 13)
    # jaxnet's own folder comes first
    _write_mnist_like(homes.parent.parent / "home" / ".jaxnet" / "datasets" / "mnist", rng, n=7)
    assert datasets.load_mnist()[0][0].shape == (7, 28, 28)
    monkeypatch.setenv("JAXNET_DATA", str(homes.parent.parent / "data"))  # and $JAXNET_DATA before it
    _write_mnist_like(homes.parent.parent / "data" / "mnist", rng, n=4)
    assert datasets.load_mnist()[0][0].shape == (4, 28, 28)


def test_keras_3_reads_the_same_fashion_mnist_cache(homes, rng, monkeypatch):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    from keras.src.backend import config

    monkeypatch.setattr(config, "_KERAS_DIR", str(homes.parent))  # Keras reads $KERAS_HOME once, at import
    _write_mnist_like(homes / "fashion-mnist", rng)
    ours, theirs = keras_datasets.fashion_mnist.load_data(), keras.datasets.fashion_mnist.load_data()
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
        np.testing.assert_array_equal(a, b)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving tmp_path/www; yields (folder, base address)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def _serve(monkeypatch, name, origin, digests):
    monkeypatch.setitem(
        datasets.SOURCES, name, dataclasses.replace(datasets.SOURCES[name], origin=origin, sha256=tuple(digests))
    )


def _no_partial_files(folder):
    return not [p for p in folder.rglob("*") if p.name.startswith(".")]


def test_downloads_into_keras_cache_verified(homes, server, rng, monkeypatch, capsys):
    root, base = server
    x, y = rng.normal(size=(10, 13)), rng.normal(size=10)
    np.savez(root / "boston_housing.npz", x=x, y=y)
    _serve(monkeypatch, "boston_housing", base, [sha256_of(root / "boston_housing.npz")])
    (xtr, _), _ = keras_datasets.boston_housing.load_data(download=True)
    order = np.arange(10)
    np.random.RandomState(113).shuffle(order)
    np.testing.assert_array_equal(xtr, x[order[:8]])
    assert (homes / "boston_housing.npz").read_bytes() == (root / "boston_housing.npz").read_bytes()
    assert "Downloading " + base + "boston_housing.npz" in capsys.readouterr().err
    # Fashion-MNIST: four files into Keras' fashion-mnist/ folder
    _write_mnist_like(root, rng)
    _serve(monkeypatch, "fashion_mnist", base, [sha256_of(root / f) for f in datasets.MNIST_FILES])
    assert datasets.load_fashion_mnist(download=True)[0][0].shape == (5, 28, 28)
    assert sorted(p.name for p in (homes / "fashion-mnist").iterdir()) == sorted(datasets.MNIST_FILES)
    assert _no_partial_files(homes)


def test_cifar10_archive_is_downloaded_and_extracted(homes, server, rng, monkeypatch):
    root, base = server
    rows = _cifar_batches(root / "cifar-10-batches-py", rng)
    with tarfile.open(root / "cifar.tar.gz", "w:gz") as tar:
        tar.add(root / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    _serve(monkeypatch, "cifar10", base + "cifar.tar.gz", [sha256_of(root / "cifar.tar.gz")])
    (x, y), _ = datasets.load_cifar10(download=True)
    np.testing.assert_array_equal(x[:4], rows.reshape(4, 3, 32, 32).transpose(0, 2, 3, 1))
    folder = homes / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    assert sorted(p.name for p in folder.iterdir()) == sorted(datasets.CIFAR10_FILES) and _no_partial_files(homes)


def test_wrong_checksum_is_refused_and_not_kept(homes, server, monkeypatch, tmp_path):
    root, base = server
    (root / "mnist.npz").write_bytes(b"not the published file")
    _serve(monkeypatch, "mnist", base, ["0" * 64])
    with pytest.raises(DatasetError, match=r"mnist: the file downloaded from .*mnist.npz has SHA-256 .*not kept"):
        datasets.load_mnist(download=True)
    assert not (homes / "mnist.npz").exists() and (not homes.exists() or _no_partial_files(homes))
    # with a path, the download goes there and fails there alike
    with pytest.raises(DatasetError):
        datasets.load_mnist(tmp_path / "mine", download=True)
    assert list((tmp_path / "mine").iterdir()) == []


def test_offline_message_says_what_to_do(homes, monkeypatch):
    with socket.socket() as s:  # a port nothing listens on: the download fails as on an offline machine
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _serve(monkeypatch, "mnist", f"http://127.0.0.1:{port}/", ["0" * 64])
    with pytest.raises(FileNotFoundError) as err:
        keras_datasets.mnist.load_data(download=True)
    message = str(err.value)
    assert f"downloading http://127.0.0.1:{port}/mnist.npz failed" in message
    assert "if this machine is offline, fetch" in message and str(homes / "mnist.npz")[:-10] in message
    assert "--data-dir" in message  # the CLI user's way to give the folder
    assert "cannot download" not in message


def test_cifar10_python_batches(tmp_path, rng):
    images = rng.integers(0, 256, size=(6, 32, 32, 3)).astype(np.uint8)
    rows = images.transpose(0, 3, 1, 2).reshape(6, 3072)  # the published layout: channel planes, row-major
    for i in range(1, 6):
        with open(tmp_path / f"data_batch_{i}", "wb") as f:
            pickle.dump({b"data": rows, b"labels": list(range(6))}, f)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": rows[:2], b"labels": [3, 4]}, f)
    (x, y), (xt, yt) = datasets.load_cifar10(tmp_path)
    assert x.shape == (30, 32, 32, 3) and x.dtype == np.uint8 and y.shape == (30, 1) and y.dtype == np.uint8
    np.testing.assert_array_equal(x[:6], images)
    assert yt.ravel().tolist() == [3, 4]
    (tmp_path / "test_batch").write_bytes(b"junk")
    with pytest.raises(DatasetError, match="not a CIFAR-10 python batch"):
        datasets.load_cifar10(tmp_path)


def test_boston_housing_npz_split_like_keras(tmp_path, rng):
    x, y = rng.normal(size=(20, 13)), rng.normal(size=20)
    np.savez(tmp_path / "boston_housing.npz", x=x, y=y)
    (xtr, ytr), (xte, yte) = datasets.load_boston_housing(tmp_path)
    order = np.arange(20)
    np.random.RandomState(113).shuffle(order)
    np.testing.assert_array_equal(xtr, x[order[:16]])
    np.testing.assert_array_equal(yte, y[order[16:]])
    np.savez(tmp_path / "california_housing.npz", wrong=x)
    with pytest.raises(DatasetError, match="arrays x and y"):
        datasets.load_california_housing(tmp_path)


def test_packaged_data_shapes():
    (x, y), (xt, yt) = datasets.load_digits()
    assert x.shape[1:] == (8, 8) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert len(x) + len(xt) == 1797 and len(xt) == 359 and y.dtype == np.int32
    (x, y), (xt, yt) = datasets.load_iris()
    assert x.shape == (120, 4) and xt.shape == (30, 4) and set(y) == {0, 1, 2}


def test_helpers():
    np.testing.assert_array_equal(datasets.one_hot([0, 2], 3), [[1, 0, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\]"):
        datasets.one_hot([3], 3)
    assert datasets.scale_pixels(np.array([0, 255], np.uint8)).tolist() == [0.0, 1.0]
    (a, b), (c, d) = datasets.train_validation_split(np.arange(10), np.arange(10), 0.3)
    assert a.tolist() == list(range(7)) and c.tolist() == [7, 8, 9]
    (a, _), (c, _) = datasets.train_validation_split(np.arange(10), np.arange(10), 0.3, key=jax.random.key(0))
    assert sorted(a.tolist() + c.tolist()) == list(range(10)) and len(c) == 3


@pytest.mark.parametrize("name", ["boston_housing", "california_housing"])
def test_regression_splits_match_keras_3(name, tmp_path, rng, monkeypatch):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    pytest.importorskip("keras")
    import importlib

    module = importlib.import_module(f"keras.src.datasets.{name}")
    file = tmp_path / f"{name}.npz"
    np.savez(file, x=rng.normal(size=(700, 8)), y=rng.normal(size=700))
    monkeypatch.setattr(module, "get_file", lambda *a, **k: str(file))  # Keras reads our stand-in file
    versions = [{"version": "small"}, {"version": "large"}] if name == "california_housing" else [{}]
    for kwargs in versions:
        for split in ({}, {"test_split": 0.35, "seed": 7}):
            ours = getattr(keras_datasets, name).load_data(path=file, **kwargs, **split)
            for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(module.load_data(**kwargs, **split))):
                np.testing.assert_array_equal(a, b)
