"""Timing helpers shared by the benchmarks: warm-up, blocking, medians, environment facts."""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any, Callable

import jax
import numpy as np


def median_times(fn: Callable[[], Any], repeats: int, warmup: int = 3) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn()`` over ``repeats`` runs after ``warmup`` untimed runs.

    JAX results are waited for with ``block_until_ready``, so asynchronous dispatch is timed in full.
    CPU time is the process's (``time.process_time``: every thread's), so CPU / wall says how many cores
    a call kept busy.
    """
    for _ in range(warmup):
        jax.block_until_ready(fn())
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        jax.block_until_ready(fn())
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def median_time(fn: Callable[[], Any], repeats: int, warmup: int = 3) -> float:
    """Median wall seconds of ``fn()``; see ``median_times``."""
    return median_times(fn, repeats, warmup)[0]


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
