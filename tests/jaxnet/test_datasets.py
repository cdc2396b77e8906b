import gzip
import pickle
import struct

import jax
import numpy as np
import pytest

from jaxnet import datasets
from jaxnet.datasets import DatasetError


def write_idx(path, array):
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("name,loader", [("mnist", datasets.load_mnist), ("fashion_mnist", datasets.load_fashion_mnist)])
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
    with pytest.raises(FileNotFoundError, match=r"mnist: missing train-images-idx3-ubyte.gz.*storage.googleapis"):
        datasets.load_mnist(tmp_path)


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
