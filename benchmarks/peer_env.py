"""The environment of a benchmark's worker process: a peer runs JAX as shipped, Keras on its JAX backend.

Importing jaxnet registers its unrolled threefry lowering for the CPU (``jaxnet/_src/prng.py``), and the
benchmarks' workers import jaxnet for their report helpers. That lowering is a jaxnet speed-up, so a
peer's process opts out of it and times JAX's own lowering, as the peer's users get it.
"""

from __future__ import annotations

import os

from jaxnet._src.prng import THREEFRY_OPT_OUT


def worker_environment(peer: bool) -> dict[str, str]:
    """This process's environment with ``KERAS_BACKEND=jax``, and for a peer jaxnet's threefry turned off.

    Arguments:
        peer: whether the worker times a library other than jaxnet.

    Returns:
        The environment for ``subprocess.run(..., env=...)``.
    """
    env = dict(os.environ, KERAS_BACKEND="jax")
    if peer:
        env[THREEFRY_OPT_OUT] = "1"
    return env
