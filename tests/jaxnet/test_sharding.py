"""The data set is split by rows over the devices, not copied to each: 4 simulated CPU devices in a subprocess."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from jaxnet._src.sharding import _rows, padded_rows

SCRIPT = textwrap.dedent("""
    import json
    import jax
    import numpy as np
    from jaxnet import zoo, datasets
    from jaxnet._src import parallel
    from jaxnet.train import fit

    placed = []  # what fit puts on the devices as data, seen through DataParallel.shard_rows
    shard_rows = parallel.DataParallel.shard_rows
    parallel.DataParallel.shard_rows = lambda self, tree: placed.append(shard_rows(self, tree)) or placed[-1]

    (x, y), _ = datasets.load_digits()
    x = x.astype(np.float32)
    model = zoo.mlp()
    params = model.init(jax.random.key(0), (8, 8))
    runs = {}
    for name, devices in (("one", jax.devices()[:1]), ("all", None)):
        placed.clear()
        trained, history = fit(model, params, x, y, metrics=["accuracy"], epochs=2, batch_size=32,
                               validation_split=0.1, devices=devices, verbose=0)
        runs[name] = {"history": history.history, "w": np.asarray(trained["dense_1"]["w"]).tolist()}
    layouts = []
    for arrays in placed:  # the four-device run: training then validation (x, y, weights)
        for a in arrays:
            shards = a.addressable_shards
            layouts.append({"shape": list(a.shape), "spec": a.sharding.spec == jax.sharding.PartitionSpec("data"), "devices": len(shards),
                            "shard_rows": [s.data.shape[0] for s in shards],
                            "shard_bytes": [s.data.nbytes for s in shards], "bytes": a.nbytes,
                            "rows_match": all(np.array_equal(np.asarray(s.data), np.asarray(a)[s.index])
                                              for s in shards)})
    n_train = int(len(x) * (1 - 0.1))  # Keras' validation_split: the last 10 % rounded up are validation
    runs["sizes"] = [n_train, len(x) - n_train]
    runs["x"] = x[:n_train].tolist()
    runs["layouts"] = layouts
    runs["first_x"] = np.asarray(placed[0][0]).tolist()
    print(json.dumps(runs))
""")


@pytest.fixture(scope="module")
def four_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_each_device_holds_a_quarter_of_the_data(four_devices):
    n_train, n_val = four_devices["sizes"]  # after validation_split=0.1
    layouts = four_devices["layouts"]
    assert len(layouts) == 6  # x, y and the example weights of the training set, then of the validation set
    for layout, n in zip(layouts, [n_train] * 3 + [n_val] * 3):
        padded = -(-n // 4) * 4
        assert layout["shape"][0] == padded and layout["spec"]
        assert layout["devices"] == 4 and layout["shard_rows"] == [padded // 4] * 4
        assert all(b == layout["bytes"] // 4 for b in layout["shard_bytes"])  # a quarter each, not the whole set
        assert layout["rows_match"]
    # the global array is the data, then zero rows up to a multiple of 4
    placed = np.array(four_devices["first_x"])
    np.testing.assert_array_equal(placed[:n_train], np.array(four_devices["x"]))
    np.testing.assert_array_equal(placed[n_train:], 0)


def test_results_equal_one_devices(four_devices):
    one, four = four_devices["one"], four_devices["all"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert four["history"][key] == pytest.approx(one["history"][key], rel=1e-5, abs=1e-6), key
    np.testing.assert_allclose(four["w"], one["w"], rtol=1e-4, atol=1e-5)


def test_rows_of_a_shard_are_read_and_padded():
    data = np.arange(10 * 3).reshape(10, 3)
    assert padded_rows(10, 4) == 12
    np.testing.assert_array_equal(_rows(data, (slice(3, 6), slice(None)), 12), data[3:6])
    np.testing.assert_array_equal(_rows(data, (slice(9, 12), slice(None)), 12), [data[9], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(_rows(data, (slice(None), slice(1, 2)), 12)[:10], data[:, 1:2])
