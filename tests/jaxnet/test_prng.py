"""jaxnet registers JAX's unrolled threefry lowering for the CPU: the same random bits, without the loop."""

import json
import os
import subprocess
import sys

import jax

from jaxnet._src import prng

_PROGRAM = """
import json, sys
import jax, jax.numpy as jnp, numpy as np
import jaxnet  # registers the unrolled lowering unless JAXNET_ROLLED_THREEFRY=1
from jaxnet import Dense, Dropout, Sequential

key = jax.random.key(42)
draws = jax.jit(lambda k: (jax.random.bits(k, (1001,)), jax.random.bernoulli(k, 0.8, (37, 128)),
                           jax.random.normal(k, (513,)), jax.random.key_data(jax.random.split(k, 5)),
                           jax.random.uniform(jax.random.fold_in(k, 7), (3, 3), dtype=jnp.float32)))(key)
model = Sequential([Dense(16, activation="relu"), Dropout(0.5), Dense(3)])
params = model.init(jax.random.key(0), (8,))
out = jax.jit(lambda p, k: model.apply(p, jnp.ones((4, 8)), key=k, training=True))(params, key)
text = jax.jit(lambda k: jax.random.bits(k, (1000,))).lower(key).as_text()
print(json.dumps({"values": [np.asarray(a).tolist() for a in (*draws, out)], "loop": "while" in text}))
"""


def _run(rolled: bool) -> dict:
    env = dict(os.environ, JAXNET_ROLLED_THREEFRY="1" if rolled else "0", JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, "-c", _PROGRAM], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_unrolled_lowering_gives_the_same_bits_without_the_loop():
    rolled, unrolled = _run(rolled=True), _run(rolled=False)
    assert rolled["loop"], "JAX's CPU lowering of threefry is expected to be a loop"
    if prng._CHECKED[0] <= prng._version() < prng._CHECKED[1]:
        assert not unrolled["loop"], "the unrolled lowering was not registered"
    assert unrolled["values"] == rolled["values"]


def test_unchecked_jax_versions_and_the_opt_out_leave_jax_alone(monkeypatch):
    monkeypatch.setattr(jax, "__version__", "9.0.0")
    assert prng.use_unrolled_threefry_on_cpu() is False
    monkeypatch.setattr(jax, "__version__", "0.10.2")
    monkeypatch.setenv("JAXNET_ROLLED_THREEFRY", "1")
    assert prng.use_unrolled_threefry_on_cpu() is False
