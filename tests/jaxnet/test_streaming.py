"""Training from a memmap or a Grain source: the same results as in memory, with bounded resident memory."""

import json
import os
import subprocess
import sys
import textwrap

import grain
import jax
import numpy as np
import pytest

from jaxnet import zoo
from jaxnet._src import streaming
from jaxnet.train import fit


class Pairs(grain.sources.RandomAccessDataSource):
    """A random-access source of (x, y) pairs, as a Grain ArrayRecord source would be."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(streaming, "CHUNK_BYTES", 64 * 32 * 4 * 5)  # 5 batches a chunk: several chunks an epoch


@pytest.mark.parametrize("mapped_rows", [None, 3], ids=["file kept mapped", "dropped every 3 rows"])
def test_streamed_training_equals_in_memory(tmp_path, small_chunks, monkeypatch, mapped_rows):
    if mapped_rows:  # a budget of 3 rows' pages: reads in groups of 3, across chunk boundaries (160 rows)
        row_bytes = 8 * 8 * 4
        monkeypatch.setattr(streaming, "MAPPED_BYTES", mapped_rows * (row_bytes + 2 * streaming._LARGEST_PAGE))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, 1000)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    model = zoo.mlp()
    params = model.init(jax.random.key(0), (8, 8))
    kw = dict(metrics=["accuracy"], epochs=2, batch_size=32, key=jax.random.key(3), verbose=0)
    x_mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    cases = {
        "memmap": ((x, y), (x_mapped, np.load(tmp_path / "y.npy", mmap_mode="r"))),
        "memmap slice": ((x[100:700], y[100:700]), (x_mapped[100:700], y[100:700])),
        "grain MapDataset": ((x, y), (grain.MapDataset.source(Pairs(x, y)), None)),
        "grain source": ((x, y), (Pairs(x, y), None)),
    }
    for name, (in_memory, streamed_input) in cases.items():
        if mapped_rows and "grain" in name:  # the budget is a memmap's
            continue
        memory_params, memory = fit(model, params, *in_memory, **kw)
        streamed_params, streamed = fit(model, params, *streamed_input, **kw)
        assert streamed.history == memory.history, name  # the same order, step and arithmetic: bitwise equal
        for a, b in zip(jax.tree.leaves(streamed_params), jax.tree.leaves(memory_params)):
            np.testing.assert_array_equal(a, b)


def test_stream_errors(tmp_path):
    x = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=(10, 3))
    model = zoo.mlp()
    params = model.init(jax.random.key(0), (3,))
    with pytest.raises(ValueError, match="validation_split needs the data in memory"):
        fit(model, params, x, np.zeros(10, int), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="needs targets y of the same length"):
        fit(model, params, x, np.zeros(9, int), verbose=0)
    with pytest.raises(ValueError, match="yields \\(x, y\\) pairs"):
        fit(model, params, Pairs(x, x), np.zeros(10), verbose=0)
    with pytest.raises(ValueError, match="C-contiguous"):
        fit(model, params, x[:, :2], np.zeros(10, int), verbose=0)


MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    from jaxnet import Dense, Flatten, Sequential
    from jaxnet._src import streaming
    from jaxnet.train import fit
    streaming.MAPPED_BYTES = 32 << 20  # the file (512 MiB) is 16 times what its reads may keep mapped
    path, n, width = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    x = np.memmap(path, dtype=np.float32, mode="r", shape=(n, width))
    y = np.arange(n) %% 10
    model = Sequential([Dense(32, activation="relu"), Dense(10, activation="softmax")])
    params = model.init(jax.random.key(0), (width,))

    def peak_rss():  # this process's peak resident memory (ru_maxrss would include the forking parent's)
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))

    fit(model, params, x[:4096], y[:4096], epochs=1, batch_size=512, verbose=0)  # compiles the chunk loop
    before = peak_rss()
    params, history = fit(model, params, x, y, epochs=1, batch_size=512, verbose=0)
    peak = peak_rss()
    print(json.dumps({"before": before, "peak": peak, "loss": history.history["loss"][0]}))
"""
    % ()
)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the peak resident memory from /proc")
def test_a_file_larger_than_memory_trains_with_bounded_resident_memory(tmp_path):
    """A 512 MiB memmap trains while the process's peak resident memory grows by a small fraction of it.

    (``resource.setrlimit(RLIMIT_AS)`` cannot cap a JAX process, which reserves far more virtual memory
    than it uses, so the bound is checked on the peak resident set, VmHWM.)
    """
    n, width = 131072, 1024  # 512 MiB of float32
    path = tmp_path / "x.f32"
    rng = np.random.default_rng(0)
    with open(path, "wb") as f:
        for _ in range(n // 8192):
            f.write(rng.normal(size=(8192, width)).astype(np.float32).tobytes())
    size = os.path.getsize(path)
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(path), str(n), str(width)],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ, JAX_PLATFORMS="cpu"),
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    growth = result["peak"] - result["before"]
    print(
        f"file {size / 2**20:.0f} MiB, peak RSS {result['peak'] / 2**20:.0f} MiB "
        f"(+{growth / 2**20:.0f} MiB while training)"
    )
    assert np.isfinite(result["loss"])
    assert growth < size / 6  # 32 MiB of mapped pages and a few 2 MiB chunks, never the file
    assert result["peak"] < size


SHARDED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    from jaxnet import zoo
    from jaxnet._src import streaming
    from jaxnet.train import fit
    streaming.CHUNK_BYTES = 32 * 64 * 4 * 3  # 3 batches a chunk: several chunks an epoch, split over 4 devices
    x = np.load(sys.argv[1], mmap_mode="r")
    y = np.arange(len(x)) % 10
    model = zoo.mlp()
    params = model.init(jax.random.key(0), (64,))
    kw = dict(epochs=2, batch_size=32, key=jax.random.key(1), verbose=0)
    _, memory = fit(model, params, np.asarray(x), y, devices=jax.devices()[:1], **kw)
    _, streamed = fit(model, params, x, y, **kw)
    print(json.dumps({"devices": jax.device_count(), "memory": memory.history, "streamed": streamed.history}))
"""
)


def test_a_memmap_streams_over_four_devices_as_one_device_trains_in_memory(tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(1000, 64)).astype(np.float32))
    out = subprocess.run(
        [sys.executable, "-c", SHARDED_SCRIPT, str(tmp_path / "x.npy")],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=4"),
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["devices"] == 4
    np.testing.assert_allclose(result["streamed"]["loss"], result["memory"]["loss"], rtol=1e-5)
