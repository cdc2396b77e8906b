"""The machine's limit for a workload: its own matrix multiplies, timed in each GEMM library on the machine.

A training step of the seeds' models is mostly matrix multiplies: per Dense layer the forward
product, the weight gradient and (past the first layer) the input gradient; per Conv2D the same
three on its im2col patches. ``gemm_shapes`` lists them for a workload; ``measure`` times each
in one library (MKL through PyTorch, OpenBLAS through NumPy, XLA:CPU through ``jax.jit``) at its
faster thread setting. The sum over shapes of the fastest library's time is the least time one
step can take, and a trainer's share of that limit is ``limit / its step time``.
"""

from __future__ import annotations

import math
import statistics
import time

LIBRARIES = ("mkl (pytorch)", "openblas (numpy)", "xla")


def gemm_shapes(workload) -> list[tuple[str, int, int, int]]:
    """``(what, m, k, n)`` for every (m x k) @ (k x n) product of one training step of ``workload``."""
    from benchmarks.trainers.jaxnet_fit import network
    from jaxnet.layers import Conv2D, Dense

    model, batch, shapes = network(workload), workload.batch_size, []
    first = True
    for name, layer, shape in zip(model.names, model.layers, model.child_input_shapes(workload.input_shape)):
        if type(layer) is Dense:
            rows, k, n = batch * math.prod(shape[:-1]), shape[-1], layer.units
        elif type(layer) is Conv2D:
            oh, ow, n = layer.output_shape(shape)
            kh, kw = (layer.kernel_size,) * 2 if isinstance(layer.kernel_size, int) else layer.kernel_size
            rows, k = batch * oh * ow, kh * kw * shape[-1]
        else:
            continue
        shapes += [(f"{name} forward", rows, k, n), (f"{name} weight grad", k, rows, n)]
        if not first:
            shapes.append((f"{name} input grad", rows, n, k))
        first = False
    return shapes


def _time(fn, budget_s: float) -> float:
    """Median seconds per call of ``fn`` over batches of calls filling about ``budget_s``."""
    fn()
    start = time.perf_counter()
    fn()
    calls = max(1, min(2000, int(budget_s / 10 / max(time.perf_counter() - start, 1e-7))))
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def measure(library: str, workload, quick: bool) -> dict:
    """Seconds per product for each shape of ``gemm_shapes(workload)`` in ``library`` (run in its own process).

    Returns:
        ``{"library", "threads", "shapes": [{"what", "m", "k", "n", "seconds", "gflops"}]}``; NumPy and
        PyTorch at the faster of 1 and all threads per shape, XLA with its default thread pool.
    """
    import os

    import numpy as np

    budget = 0.05 if quick else 0.3
    rng = np.random.default_rng(0)
    rows = []
    for what, m, k, n in gemm_shapes(workload):
        a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
        times: dict[int | str, float]  # seconds by thread count ("default": XLA's own pool)
        if library == "mkl (pytorch)":
            import torch

            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            times = {}
            for threads in sorted({1, os.cpu_count() or 1}):
                torch.set_num_threads(threads)
                times[threads] = _time(lambda: torch.mm(ta, tb), budget)
        elif library == "openblas (numpy)":
            from threadpoolctl import threadpool_limits

            times = {}
            for threads in sorted({1, os.cpu_count() or 1}):
                with threadpool_limits(threads):
                    times[threads] = _time(lambda: a @ b, budget)
        else:
            import jax
            import jax.numpy as jnp

            matmul, ja, jb = jax.jit(jnp.matmul), jnp.asarray(a), jnp.asarray(b)
            times = {"default": _time(lambda: matmul(ja, jb).block_until_ready(), budget)}
        best = min(times, key=lambda threads: times[threads])
        rows.append(
            {
                "what": what,
                "m": m,
                "k": k,
                "n": n,
                "seconds": times[best],
                "threads": best,
                "gflops": 2 * m * k * n / times[best] / 1e9,
            }
        )
    return {"library": library, "shapes": rows}


def limit(measurements: list[dict]) -> dict:
    """Per shape the fastest library; the step's least GEMM time and the FLOP/s it implies."""
    ok = [m for m in measurements if "shapes" in m]
    if not ok:
        return {}
    shapes, total, flops = [], 0.0, 0
    for i, row in enumerate(ok[0]["shapes"]):
        best = min(ok, key=lambda m: m["shapes"][i]["seconds"])
        shapes.append(
            {
                **{k: row[k] for k in ("what", "m", "k", "n")},
                "best": best["library"],
                **{m["library"]: m["shapes"][i]["gflops"] for m in ok},
            }
        )
        total += best["shapes"][i]["seconds"]
        flops += 2 * row["m"] * row["k"] * row["n"]
    return {"step_s": total, "gflops": flops / total / 1e9, "shapes": shapes}
