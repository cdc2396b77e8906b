"""Timing helpers shared by the benchmarks: warm-up, blocking, medians, environment facts."""
from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any, Callable

import jax
import numpy as np


def median_time(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    """Median wall time in seconds of ``fn()`` over ``repeats`` runs after ``warmup`` runs.

    JAX results are waited for with ``block_until_ready``, so asynchronous dispatch is timed in full.
    """
    for _ in range(warmup):
        jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def environment() -> dict:
    """Versions, device and thread settings, printed with every benchmark."""
    try:
        from threadpoolctl import threadpool_info

        pools = [f"{p.get('internal_api')}:{p.get('num_threads')}" for p in threadpool_info()]
    except ImportError:
        pools = []
    return {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "device": str(jax.devices()[0]),
        "backend": jax.default_backend(),
        "cpu_count": os.cpu_count(),
        "blas_threads": ", ".join(pools) or "unknown",
        "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", ""),
    }
