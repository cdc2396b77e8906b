"""Peers' worker processes time JAX as shipped: jaxnet's unrolled threefry is jaxnet's speed-up, not theirs."""

import subprocess
import sys
from types import SimpleNamespace

import pytest

from benchmarks import repeat_calls, train_speed
from benchmarks.peer_env import worker_environment
from benchmarks.train_speed import TRAINERS

# What a worker imports (jaxnet, through the report helpers), then whether threefry still lowers to a loop.
_PROGRAM = """
import benchmarks.train_speed, jax
print("while" in jax.jit(lambda k: jax.random.bits(k, (1000,))).lower(jax.random.key(0)).as_text())
"""


@pytest.mark.parametrize("peer", [True, False])
def test_a_peer_worker_gets_jaxs_own_threefry(peer):
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM], env=worker_environment(peer), capture_output=True, text=True, check=True
    )
    assert done.stdout.split()[-1] == str(peer)  # the rolled loop for a peer, jaxnet's unrolled form otherwise


def test_every_peer_trainer_and_keras_3_are_spawned_as_peers(monkeypatch):
    seen = {}

    def fake_run(command, env, **kwargs):
        worker = command[command.index("--worker") + 1]
        seen[worker] = env.get("JAXNET_ROLLED_THREEFRY") == "1"
        return SimpleNamespace(returncode=0, stdout='{"examples": 1}', stderr="")

    monkeypatch.setattr(subprocess, "run", fake_run)
    for module, function, _ in TRAINERS.values():
        train_speed._spawn(f"{module}:{function}", "mlp", True, 1, 10.0)
    for library in repeat_calls.LIBRARIES:
        repeat_calls._run_worker(library, True)
    assert seen == {
        **{f"{m}:{f}": not m.endswith("jaxnet_fit") for m, f, _ in TRAINERS.values()},
        "jaxnet.keras": False,
        "keras 3": True,
    }
