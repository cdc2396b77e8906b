"""Audit, unsafe family: crafted data files and checkpoints never run code and never allocate what they claim."""

import builtins
import io
import os
import pickle
import subprocess
import tracemalloc
import zipfile

import numpy as np
import pytest
from numpy.lib import format as npformat

from jaxnet import checkpoint, datasets, keras, load_model
from jaxnet.checkpoint import CheckpointError
from jaxnet.datasets import DatasetError
from jaxnet.layers import Dense


class _Payload:
    """Pickles as a call of ``fn(*args)``: what a hostile data file would contain."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _cifar_folder(folder, first_batch):
    rows = np.zeros((2, 3072), np.uint8)
    for name in [f"data_batch_{i}" for i in range(2, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps({b"data": rows, b"labels": [0, 1]}))
    (folder / "data_batch_1").write_bytes(first_batch)


def _payloads(marker):
    return {
        "os.system": _Payload(os.system, f"touch {marker}"),
        "subprocess.call": _Payload(subprocess.call, ["touch", str(marker)]),
        "builtins.exec": _Payload(builtins.exec, f"open({str(marker)!r}, 'w').close()"),
        "nested in the labels": {
            b"data": np.zeros((2, 3072), np.uint8),
            b"labels": [0, _Payload(os.system, f"touch {marker}")],
        },
    }


@pytest.mark.parametrize("kind", ["os.system", "subprocess.call", "builtins.exec", "nested in the labels"])
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_cifar_pickle_that_calls_a_function_is_refused_and_not_run(tmp_path, kind, protocol):
    marker = tmp_path / "ran"
    _cifar_folder(tmp_path, pickle.dumps(_payloads(marker)[kind], protocol=protocol))
    with pytest.raises(DatasetError, match="which a data file never needs"):
        datasets.load_cifar10(tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_real_cifar_batches_of_numpy_arrays_still_load(tmp_path, protocol, rng):
    images = rng.integers(0, 256, size=(2, 3072)).astype(np.uint8)
    batch = {
        b"batch_label": b"training batch 1 of 5",
        b"data": images,
        b"labels": [7, 3],
        b"filenames": [b"a.png", b"b.png"],
    }
    _cifar_folder(tmp_path, pickle.dumps(batch, protocol=protocol))
    (x, y), _ = datasets.load_cifar10(tmp_path)
    np.testing.assert_array_equal(x[:2], images.reshape(2, 3, 32, 32).transpose(0, 2, 3, 1))
    assert y[:2].ravel().tolist() == [7, 3]


# --- checkpoints --------------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    model = keras.Sequential([Dense(3)], input_shape=(4,))
    model.compile(optimizer="sgd", loss="mse")
    return model.save(tmp_path / "m.npz")


def _npy(array=None, *, dtype="<f4", shape=(3,), body=b""):
    buffer = io.BytesIO()
    if array is not None:
        np.save(buffer, array, allow_pickle=True)
        return buffer.getvalue()
    npformat.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + body


def _replace_member(path, name, data, compress=zipfile.ZIP_STORED):
    """Rewrite the archive at ``path`` with member ``name`` replaced by ``data`` (bytes, or chunks)."""
    with zipfile.ZipFile(path) as old:
        members = {info.filename: old.read(info) for info in old.infolist()}
    with zipfile.ZipFile(path, "w") as new:
        for member, content in members.items():
            if member != name:
                new.writestr(member, content)
        with new.open(
            zipfile.ZipInfo(name) if compress == zipfile.ZIP_STORED else _deflated(name), "w", force_zip64=True
        ) as f:
            for chunk in [data] if isinstance(data, bytes) else data:
                f.write(chunk)


def _deflated(name):
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _kernel(path):
    with zipfile.ZipFile(path) as archive:
        return next(n for n in archive.namelist() if n.startswith("params/") and "'w'" in n)


def _zeros_bomb(declared_values):
    """An .npy header declaring ``declared_values`` float32 followed by that many zero bytes, in chunks."""
    yield _npy(shape=(declared_values,))
    chunk = bytes(1 << 24)
    left = declared_values * 4
    while left:
        yield chunk[: min(left, len(chunk))]
        left -= min(left, len(chunk))


def test_compressed_bomb_is_refused_before_any_large_allocation(saved):
    _replace_member(saved, _kernel(saved), _zeros_bomb(300_000_000), compress=zipfile.ZIP_DEFLATED)  # 1.2 GB
    assert saved.stat().st_size < 3_000_000
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"does not match the model: \[\(3,\), \(300000000,\)\]"):
            load_model(saved)
        with pytest.raises(CheckpointError, match="compressed arrays, more than"):
            checkpoint.load(saved)  # no architecture to check against: the cap applies
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6, f"{peak / 1e6:.0f} MB allocated"


@pytest.mark.parametrize("shape", [(10**12,), (10**6, 10**6), (2**62,)])
@pytest.mark.parametrize("reader", [load_model, checkpoint.load])
def test_header_claiming_more_than_the_file_holds(saved, shape, reader):
    _replace_member(saved, _kernel(saved), _npy(shape=shape, body=bytes(48)))
    with pytest.raises(CheckpointError, match=r"declares shape .* but holds 48 bytes"):
        reader(saved)


@pytest.mark.parametrize(
    "payload", [np.array([object()], dtype=object), np.array([(1, 2.0)], "i4,f4"), np.array(["text"])]
)
def test_object_or_text_arrays_refused_without_advice_to_unpickle(saved, payload):
    _replace_member(saved, _kernel(saved), _npy(payload))
    with pytest.raises(CheckpointError, match="numeric arrays only") as info:
        load_model(saved)
    assert "allow_pickle" not in str(info.value)


@pytest.mark.parametrize("fraction", [0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 0.999])
def test_truncated_checkpoints_never_suggest_allow_pickle(saved, fraction):
    data = saved.read_bytes()
    saved.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(CheckpointError, match="corrupt or truncated") as info:
        load_model(saved)
    assert "allow_pickle" not in str(info.value)


@pytest.mark.parametrize("dtype", [np.int32, np.float16, np.float64, np.int8])
def test_parameters_of_another_dtype_are_refused(saved, dtype):
    leaves, meta = checkpoint.load(saved)
    kernel = leaves["params"][1]  # sorted paths: ['b'] then ['w']
    _replace_member(saved, _kernel(saved), _npy(kernel.astype(dtype)))
    with pytest.raises(CheckpointError, match=f"dtype {np.dtype(dtype).name} where the model has float32"):
        load_model(saved)
    with pytest.raises(CheckpointError, match="where the model has float32"):
        checkpoint.restore({"w": np.zeros((4, 3), np.float32)}, [kernel.astype(dtype)], "parameters")
