"""Threefry on XLA:CPU without its loop: JAX's own unrolled lowering, registered for the CPU too.

JAX lowers the threefry2x32 hash (behind ``jax.random`` with the default keys) to a
5-trip ``fori_loop`` on the CPU and to straight-line code elsewhere. On XLA:CPU each
trip of that loop is several kernel launches, and a Dropout mask per training step
makes it the largest cost of a small model's step after the matrix multiplies. The
unrolled lowering computes the same 20 rounds, so every random bit is unchanged.

The rule lives in JAX's private ``jax._src.random.threefry2x32`` module; it is used only
on the JAX versions it was checked on, and anything missing leaves JAX as it was.
"""

from __future__ import annotations

import importlib
import os

import jax

# JAX releases whose private module was read and whose random bits were tested equal (tests/jaxnet/test_prng.py).
_CHECKED = ((0, 7), (0, 13))
THREEFRY_OPT_OUT = "JAXNET_ROLLED_THREEFRY"  # set to 1 to keep JAX's rolled CPU lowering


def _version() -> tuple[int, int]:
    major, minor = jax.__version__.split(".")[:2]
    return int(major), int(minor)


def use_unrolled_threefry_on_cpu() -> bool:
    """Register JAX's unrolled threefry lowering for the CPU platform, once per process.

    Returns:
        True when the unrolled rule is in place; False (JAX left unchanged) on an unchecked JAX
        version, when JAX's private names moved, or when ``JAXNET_ROLLED_THREEFRY=1`` is set.
    """
    if os.environ.get(THREEFRY_OPT_OUT, "") not in ("", "0") or not _CHECKED[0] <= _version() < _CHECKED[1]:
        return False
    try:
        from jax._src.interpreters import mlir
    except ImportError:
        return False
    for module in ("jax._src.random.threefry2x32", "jax._src.prng"):  # where newer and older JAX keep it
        try:
            threefry = importlib.import_module(module)
        except ImportError:
            continue
        rule = getattr(threefry, "_threefry2x32_lowering_rule", None)
        primitive = getattr(threefry, "threefry2x32_p", None)
        if rule is not None and primitive is not None:
            mlir.register_lowering(primitive, rule, platform="cpu")
            return True
    return False
