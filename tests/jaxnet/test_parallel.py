"""Data parallel fit on 4 simulated CPU devices (in a subprocess, since the device count is fixed at start-up)."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import pytest

from jaxnet import Dense, Sequential
from jaxnet._src.parallel import DataParallel
from jaxnet.train import fit

SCRIPT = textwrap.dedent("""
    import json
    import jax
    from jaxnet import zoo, datasets
    from jaxnet.train import fit

    (x, y), _ = datasets.load_digits()
    model = zoo.mlp()
    params = model.init(jax.random.key(0), (8, 8))
    seen = []

    def apply(p, batch, *, key=None, training=False):
        if training:  # record how the training batch is laid out over the devices
            jax.debug.inspect_array_sharding(batch, callback=lambda s: seen.append(
                [list(s.shard_shape(batch.shape)), len(s.device_set)]))
        return model.apply(p, batch, key=key, training=training)

    runs = {}
    for name, devices in (("one", jax.devices()[:1]), ("all", None)):
        _, history = fit(apply, params, x, y, metrics=["accuracy"], epochs=3, batch_size=32, validation_split=0.1,
                         devices=devices, verbose=0)
        runs[name] = history.history
    print(json.dumps({"devices": jax.device_count(), "layouts": seen, **runs}))
""")


def test_four_devices_match_one_device():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["devices"] == 4
    # one device: the whole batch of 32; four devices: each holds 8 of the 32 examples
    layouts = {(tuple(shape), count) for shape, count in result["layouts"]}
    assert layouts == {((32, 8, 8), 1), ((8, 8, 8), 4)}
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert result["all"][key] == pytest.approx(result["one"][key], rel=1e-5, abs=1e-6), key


def test_single_device_is_a_no_op_and_batch_size_must_split():
    assert DataParallel.over(jax.devices()[:1]).mesh is None
    with pytest.raises(ValueError, match="cannot be split evenly over 4 devices"):
        _fake_four().check_batch_size(30)
    with pytest.raises(ValueError, match="at least one device"):
        DataParallel.over([])
    model = Sequential([Dense(2)])
    params, _ = fit(
        model,
        model.init(jax.random.key(0), (3,)),
        jax.numpy.ones((4, 3)),
        jax.numpy.ones((4, 2)),
        loss="mse",
        devices=jax.devices(),
        verbose=0,
    )
    assert params["dense"]["w"].shape == (3, 2)


def _fake_four():
    class Four(DataParallel):
        @property
        def size(self):
            return 4

    return Four(None)
