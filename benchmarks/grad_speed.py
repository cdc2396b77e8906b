"""Numerical vs manual vs automatic gradients, measured side by side.

    python -m benchmarks.grad_speed [--quick] [--json FILE] [--csv FILE] [--plot FILE.png]

On the book's TwoLayerNet (784-H-10, batch 100) for a sweep of hidden sizes H it
times: the book's central-difference gradient (NumPy), the book's hand-written
backprop (NumPy), ``jax.grad`` (eager and under ``jax.jit``, compile time apart; and
``SCAN_GRADIENTS`` gradients in one compiled ``lax.scan``, which leaves out the per-call
cost of dispatch and of waiting for the result), forward passes, and per-example
gradients (``vmap`` against a Python loop). It checks that the three gradients agree
in float64.

Each family runs in its own process: the NumPy methods in one, the JAX methods in
another, so OpenBLAS's and XLA's thread pools never compete.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import multiprocessing
import pathlib
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.report_files import check_report_paths, positive_int, write_report_files
from benchmarks.timing import environment, median_times

BOOK_HIDDEN = 50
SCAN_GRADIENTS = 20  # gradients per compiled call in the "jit in scan" column


@dataclass(frozen=True)
class Config:
    """What one run measures."""

    hiddens: tuple[int, ...]
    batch: int = 100
    repeats: int = 5
    numerical_budget_s: float = 5.0  # above this a full numerical gradient is estimated from a subset
    dtype: str = "float64"
    seed: int = 0


QUICK = Config(hiddens=(10, 50, 200), repeats=3, numerical_budget_s=1.0)
FULL = Config(hiddens=(10, 50, 100, 300, 1000), repeats=7, numerical_budget_s=8.0)


def make_problem(hidden: int, batch: int, dtype: str, seed: int):
    """The network, NumPy parameters (std 0.01, as the book) and a batch of MNIST-shaped data."""
    from jaxnet.book.backprop import TwoLayerNet

    rng = np.random.default_rng(seed + hidden)
    net = TwoLayerNet(784, hidden, 10)
    params = {
        "W1": 0.01 * rng.standard_normal((784, hidden)),
        "b1": np.zeros(hidden),
        "W2": 0.01 * rng.standard_normal((hidden, 10)),
        "b2": np.zeros(10),
    }
    params = {k: v.astype(dtype) for k, v in params.items()}
    x = rng.uniform(size=(batch, 784)).astype(dtype)
    t = np.eye(10, dtype=dtype)[rng.integers(0, 10, batch)]
    return net, params, x, t


def subset_indices(params: dict, count: int, rng: np.random.Generator) -> dict[int, np.ndarray]:
    """``count`` random parameter positions, as flat indices per leaf (leaves in jax.tree order)."""
    import jax

    sizes = [leaf.size for leaf in jax.tree.leaves(params)]
    chosen = np.sort(rng.choice(sum(sizes), size=min(count, sum(sizes)), replace=False))
    offsets = np.cumsum([0] + sizes)
    return {i: chosen[(chosen >= lo) & (chosen < hi)] - lo for i, (lo, hi) in enumerate(zip(offsets, offsets[1:]))}


def _timer(row: dict, repeats: int):
    """``time_it(name, fn)``: fn's median wall seconds into row[name + "_s"], CPU seconds into row[name + "_cpu_s"]."""

    def time_it(name: str, fn) -> float:
        row[name + "_s"], row[name + "_cpu_s"] = median_times(fn, repeats)
        return row[name + "_s"]

    return time_it


def _warmed(rows_for, config: Config) -> list[dict]:
    """Run ``rows_for(hidden)`` for every hidden size after one untimed pass at the first size, so the first
    size is not measured on cold thread pools, allocators and caches."""
    rows_for(config.hiddens[0])
    return [rows_for(hidden) for hidden in config.hiddens]


def numpy_worker(config: Config) -> list[dict]:
    """Time the book's NumPy methods: forward, manual backprop, numerical gradient (full or estimated)."""

    def rows_for(hidden: int) -> dict:
        net, params, x, t = make_problem(hidden, config.batch, config.dtype, config.seed)
        n_params = sum(v.size for v in params.values())
        row = {"hidden": hidden, "params": n_params}
        time_it = _timer(row, config.repeats)
        forward = time_it("forward_numpy", lambda: net.loss(params, x, t))
        time_it("manual", lambda: net.gradient(params, x, t))
        full_estimate = 2 * n_params * forward
        if full_estimate <= config.numerical_budget_s:
            start = time.perf_counter()
            net.numerical_gradient(params, x, t)
            numerical, sampled = time.perf_counter() - start, n_params
        else:
            sampled = max(20, int(config.numerical_budget_s / (2 * forward)))
            indices = subset_indices(params, sampled, np.random.default_rng(config.seed))
            start = time.perf_counter()
            from jaxnet.book.numerical import numerical_gradient

            numerical_gradient(lambda p: net.loss(p, x, t), params, indices=indices)
            numerical = (time.perf_counter() - start) * n_params / sampled
        return {
            **row,
            "numerical_s": numerical,
            "numerical_estimated": sampled < n_params,
            "numerical_sampled_params": sampled,
        }

    return _warmed(rows_for, config)


def jax_worker(config: Config) -> list[dict]:
    """Time the JAX methods: eager jax.grad, jit(grad) with its compile time, jit forward, and per-example
    gradients, their norms and DP-SGD's clipped mean by vmap, by a loop and from one backward pass."""
    import jax

    jax.config.update("jax_enable_x64", config.dtype == "float64")
    import jax.numpy as jnp
    import optax

    from jaxnet import Dense, Sequential, losses
    from jaxnet.per_example import clipped_gradient_sum, dp_sgd_aggregate, per_example_gradient_norms
    from jaxnet.per_example import per_example_gradients as per_example

    def rows_for(hidden: int) -> dict:
        net, params, x, t = make_problem(hidden, config.batch, config.dtype, config.seed)
        params, x, t = jax.tree.map(jnp.asarray, params), jnp.asarray(x), jnp.asarray(t)
        row: dict[str, float] = {"hidden": hidden}
        time_it = _timer(row, config.repeats)
        compiled = lambda fn, *args: jax.jit(fn).lower(*args).compile()
        grad = jax.grad(net.loss)
        time_it("jax_grad_eager", lambda: grad(params, x, t))
        start = time.perf_counter()
        compiled_grad = compiled(grad, params, x, t)
        row["jit_compile_s"] = time.perf_counter() - start
        time_it("jit_grad", lambda: compiled_grad(params, x, t))
        # The same gradient SCAN_GRADIENTS times inside one compiled lax.scan, as fit runs its steps: the call's
        # dispatch and the wait for its result are paid once, so what is left per gradient is XLA's compute.
        batches = jnp.stack([x] * SCAN_GRADIENTS)  # materialized: XLA cannot tell the rows are equal
        summed = lambda p, xs, tb: jax.lax.scan(
            lambda acc, xb: (jax.tree.map(jnp.add, acc, grad(p, xb, tb)), None), jax.tree.map(jnp.zeros_like, p), xs
        )[0]
        compiled_scan = compiled(summed, params, batches, t)
        time_it("jit_grad_scan", lambda: compiled_scan(params, batches, t))
        row["jit_grad_scan_s"] /= SCAN_GRADIENTS
        row["jit_grad_scan_cpu_s"] /= SCAN_GRADIENTS
        compiled_forward = compiled(net.loss, params, x, t)
        time_it("forward_jit", lambda: compiled_forward(params, x, t))
        # Per-example gradients: vmap(grad), a Python loop of jit(grad) per example, and (on the jaxnet
        # Sequential equal to TwoLayerNet: softmax then cross entropy) one backward pass to the deltas.
        vmapped = compiled(lambda p, a, b: per_example(net.loss, p, a, b), params, x, t)
        time_it("per_example_vmap", lambda: vmapped(params, x, t))
        xs, ts = [x[i : i + 1] for i in range(x.shape[0])], [t[i : i + 1] for i in range(t.shape[0])]
        single = compiled(grad, params, xs[0], ts[0])
        time_it("per_example_loop", lambda: [single(params, xi, ti) for xi, ti in zip(xs, ts)])
        model = Sequential([Dense(hidden, activation=net.activation), Dense(10, activation="softmax")])
        model_params = {
            model.names[0]: {"w": params["W1"], "b": params["b1"]},
            model.names[1]: {"w": params["W2"], "b": params["b2"]},
        }
        loss = losses.categorical_crossentropy
        deltas = compiled(lambda p, a, b: per_example(model, p, a, b, loss), model_params, x, t)
        time_it("per_example_deltas", lambda: deltas(model_params, x, t))
        # Each example's gradient norm (clipping's need): here vmap can fuse the B x P gradients into the sum.
        norm = lambda g: jnp.sqrt(
            sum(jnp.sum(leaf.reshape(leaf.shape[0], -1) ** 2, axis=1) for leaf in jax.tree.leaves(g))
        )
        vmap_norms = compiled(lambda p, a, b: norm(per_example(net.loss, p, a, b)), params, x, t)
        time_it("per_example_norms_vmap", lambda: vmap_norms(params, x, t))
        single_norm = compiled(
            lambda p, a, b: norm(jax.tree.map(lambda g: g[None], grad(p, a, b))), params, xs[0], ts[0]
        )
        time_it("per_example_norms_loop", lambda: [single_norm(params, xi, ti) for xi, ti in zip(xs, ts)])
        delta_norms = compiled(lambda p, a, b: per_example_gradient_norms(model, p, a, b, loss), model_params, x, t)
        time_it("per_example_norms_deltas", lambda: delta_norms(model_params, x, t))
        # DP-SGD's clipped, noised mean: Optax's private aggregation of vmap(grad), and the deltas' way.
        clip, noise, batch = 1.0, 1.1, x.shape[0]
        private = optax.contrib.differentially_private_aggregate(clip, noise, key=jax.random.key(0))
        optax_dp = compiled(
            lambda p, a, b, s: private.update(per_example(net.loss, p, a, b), s)[0], params, x, t, private.init(params)
        )
        state = private.init(params)
        time_it("dp_sgd_optax_vmap", lambda: optax_dp(params, x, t, state))
        ours = dp_sgd_aggregate(clip, noise, batch, key=jax.random.key(0))
        deltas_dp = compiled(
            lambda p, a, b, s: ours.update(clipped_gradient_sum(model, p, a, b, loss, clip), s)[0],
            model_params,
            x,
            t,
            ours.init(model_params),
        )
        ours_state = ours.init(model_params)
        time_it("dp_sgd_deltas", lambda: deltas_dp(model_params, x, t, ours_state))
        return row

    return _warmed(rows_for, config)


def _flat(tree) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(tree[k])) for k in ("W1", "b1", "W2", "b2")])


def _agreement(a, b) -> dict:
    a, b = _flat(a), _flat(b)
    return {"max_abs": float(np.max(np.abs(a - b))), "relative": float(np.linalg.norm(a - b) / np.linalg.norm(a + b))}


def agreement(config: Config) -> dict:
    """Float64 agreement: the book's gradient check (3 examples, every parameter) at H=50, and per size
    manual vs jax.grad on the full batch and numerical vs manual on 200 sampled parameters."""
    import jax
    import jax.numpy as jnp

    from jaxnet.book.numerical import numerical_gradient

    with jax.enable_x64(True):
        result: dict[str, Any] = {"book_check": {}, "per_size": []}
        net, params, x, t = make_problem(BOOK_HIDDEN, 3, "float64", config.seed)
        numeric, manual = net.numerical_gradient(params, x, t), net.gradient(params, x, t)
        auto = jax.jit(net.autodiff_gradient)(jax.tree.map(jnp.asarray, params), jnp.asarray(x), jnp.asarray(t))
        result["book_check"] = {
            "numerical_vs_manual": _agreement(numeric, manual),
            "manual_vs_autodiff": _agreement(manual, auto),
            "numerical_vs_autodiff": _agreement(numeric, auto),
            "mean_abs_numerical_vs_manual": {k: float(np.mean(np.abs(numeric[k] - manual[k]))) for k in params},
        }
        for hidden in config.hiddens:
            net, params, x, t = make_problem(hidden, config.batch, "float64", config.seed)
            manual = net.gradient(params, x, t)
            auto = jax.jit(net.autodiff_gradient)(jax.tree.map(jnp.asarray, params), jnp.asarray(x), jnp.asarray(t))
            indices = subset_indices(params, 200, np.random.default_rng(config.seed))
            numeric = numerical_gradient(lambda p: net.loss(p, x, t), params, indices=indices)
            masked = {k: np.zeros_like(v) for k, v in manual.items()}
            for i, k in enumerate(sorted(params)):  # jax.tree order is sorted keys
                masked[k].reshape(-1)[indices[i]] = manual[k].reshape(-1)[indices[i]]
            result["per_size"].append(
                {
                    "hidden": hidden,
                    "manual_vs_autodiff": _agreement(manual, auto),
                    "numerical_vs_manual_sampled": _agreement(numeric, masked),
                }
            )
    return result


def run(config: Config) -> dict:
    """Measure everything; returns the report as a dict."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        numpy_rows = pool.submit(numpy_worker, config).result()
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        jax_rows = pool.submit(jax_worker, config).result()
    rows = []
    for np_row, jax_row in zip(numpy_rows, jax_rows):
        row = {**np_row, **jax_row}
        row["grad_over_forward_manual"] = row["manual_s"] / row["forward_numpy_s"]
        row["grad_over_forward_jit"] = row["jit_grad_s"] / row["forward_jit_s"]
        row["numerical_over_manual"] = row["numerical_s"] / row["manual_s"]
        row["numerical_over_jit"] = row["numerical_s"] / row["jit_grad_s"]
        row["manual_over_jit"] = row["manual_s"] / row["jit_grad_s"]
        row["manual_over_jit_scan"] = row["manual_s"] / row["jit_grad_scan_s"]
        row["vmap_speedup_over_loop"] = row["per_example_loop_s"] / row["per_example_vmap_s"]
        row["deltas_speedup_over_loop"] = row["per_example_loop_s"] / row["per_example_deltas_s"]
        row["vmap_norms_speedup_over_loop"] = row["per_example_norms_loop_s"] / row["per_example_norms_vmap_s"]
        row["deltas_norms_speedup_over_loop"] = row["per_example_norms_loop_s"] / row["per_example_norms_deltas_s"]
        row["deltas_norms_speedup_over_vmap"] = row["per_example_norms_vmap_s"] / row["per_example_norms_deltas_s"]
        row["dp_deltas_speedup_over_optax"] = row["dp_sgd_optax_vmap_s"] / row["dp_sgd_deltas_s"]
        row["dp_deltas_speedup_over_loop"] = row["per_example_loop_s"] / row["dp_sgd_deltas_s"]
        rows.append(row)
    return {
        "environment": {
            **environment(),
            "dtype": config.dtype,
            "isolation": "NumPy methods and JAX methods each timed in their own process",
        },
        "config": {
            "hiddens": list(config.hiddens),
            "batch": config.batch,
            "repeats": config.repeats,
            "numerical_budget_s": config.numerical_budget_s,
        },
        "rows": rows,
        "agreement": agreement(config),
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:10.3f}"


def _ms_cpu(row: dict, name: str) -> str:
    """``wall / cpu`` in ms, 17 characters."""
    return f"{row[name + '_s'] * 1e3:8.3f}/{row[name + '_cpu_s'] * 1e3:<8.3f}"


def format_report(report: dict) -> str:
    """The report as the terminal tables."""
    env = report["environment"]
    lines = [
        "Environment: " + ", ".join(f"{k}={v}" for k, v in env.items() if v != ""),
        f"Network: TwoLayerNet(784, H, 10), batch {report['config']['batch']}, medians of "
        f"{report['config']['repeats']} runs after warm-up",
        "",
        "Time per gradient (ms, wall / CPU of the process: CPU above wall means more than one core "
        "busy; numerical in s, '*' = estimated from a timed random subset of parameters)",
        f"{'H':>5} {'params':>9} {'numerical s':>12} {'manual':>17} {'jax.grad':>10} {'jit(grad)':>17} "
        f"{'jit in scan':>17} {'compile s':>10} {'fwd numpy':>10} {'fwd jit':>10}",
    ]
    for r in report["rows"]:
        star = "*" if r["numerical_estimated"] else " "
        lines.append(
            f"{r['hidden']:>5} {r['params']:>9,} {r['numerical_s']:>11.3f}{star} "
            f"{_ms_cpu(r, 'manual')} {_ms(r['jax_grad_eager_s'])} {_ms_cpu(r, 'jit_grad')} "
            f"{_ms_cpu(r, 'jit_grad_scan')} {r['jit_compile_s']:>10.3f} {_ms(r['forward_numpy_s'])} "
            f"{_ms(r['forward_jit_s'])}"
        )
    lines += [
        "",
        "Ratios (gradient/forward: the cheap-gradient principle says a small constant, about 2-3)",
        f"{'H':>5} {'params':>9} {'grad/fwd manual':>16} {'grad/fwd jit':>13} {'numerical/manual':>17} "
        f"{'numerical/jit':>14} {'manual/jit':>11} {'manual/jit in scan':>19}",
    ]
    for r in report["rows"]:
        lines.append(
            f"{r['hidden']:>5} {r['params']:>9,} {r['grad_over_forward_manual']:>16.2f} "
            f"{r['grad_over_forward_jit']:>13.2f} {r['numerical_over_manual']:>17,.0f} "
            f"{r['numerical_over_jit']:>14,.0f} {r['manual_over_jit']:>11.2f} {r['manual_over_jit_scan']:>19.2f}"
        )
    batch = report["config"]["batch"]
    lines += [
        "",
        f"Per-example gradients, batch {batch} (ms): all B x P gradients by jit(vmap(grad)), a Python "
        "loop of jit(grad) per example, and one backward pass to the Dense deltas (jaxnet.per_example_gradients)",
        f"{'H':>5} {'vmap':>10} {'loop':>10} {'deltas':>10} {'vmap/loop':>10} {'deltas vs loop':>15}",
    ]
    for r in report["rows"]:
        lines.append(
            f"{r['hidden']:>5} {_ms(r['per_example_vmap_s'])} {_ms(r['per_example_loop_s'])} "
            f"{_ms(r['per_example_deltas_s'])} {r['vmap_speedup_over_loop']:>9.1f}x "
            f"{r['deltas_speedup_over_loop']:>14.1f}x"
        )
    lines += [
        "",
        "Each example's gradient norm (ms): vmap, loop, deltas (per_example_gradient_norms); DP-SGD's "
        "clipped noised mean: Optax's differentially_private_aggregate on vmap(grad) vs clipped_gradient_sum "
        "+ dp_sgd_aggregate",
        f"{'H':>5} {'norms vmap':>11} {'norms loop':>11} {'deltas':>10} {'vs loop':>8} {'vs vmap':>8} "
        f"{'DP optax':>10} {'DP deltas':>10} {'vs optax':>9} {'vs loop':>8}",
    ]
    for r in report["rows"]:
        lines.append(
            f"{r['hidden']:>5} {_ms(r['per_example_norms_vmap_s']):>11} "
            f"{_ms(r['per_example_norms_loop_s']):>11} {_ms(r['per_example_norms_deltas_s'])} "
            f"{r['deltas_norms_speedup_over_loop']:>7.1f}x {r['deltas_norms_speedup_over_vmap']:>7.1f}x "
            f"{_ms(r['dp_sgd_optax_vmap_s'])} {_ms(r['dp_sgd_deltas_s'])} "
            f"{r['dp_deltas_speedup_over_optax']:>8.1f}x {r['dp_deltas_speedup_over_loop']:>7.1f}x"
        )
    book_rows = [r for r in report["rows"] if r["hidden"] == BOOK_HIDDEN]
    if book_rows:
        r = book_rows[0]
        lines += [
            "",
            f"The book's size, TwoLayerNet(784, {BOOK_HIDDEN}, 10), batch {batch}, "
            f"{report['environment'].get('dtype')}: jit(grad) {r['jit_grad_s'] * 1e3:.3f} ms "
            f"(CPU {r['jit_grad_cpu_s'] * 1e3:.3f}), hand-written NumPy backprop {r['manual_s'] * 1e3:.3f} ms "
            f"(CPU {r['manual_cpu_s'] * 1e3:.3f}): NumPy / jit = {r['manual_over_jit']:.2f}x; inside a compiled scan "
            f"(as fit runs its steps) jit(grad) takes {r['jit_grad_scan_s'] * 1e3:.3f} ms a gradient: "
            f"NumPy / jit in scan = {r['manual_over_jit_scan']:.2f}x. The difference is the cost of one call: "
            f"dispatch and the wait for its result, {(r['jit_grad_s'] - r['jit_grad_scan_s']) * 1e3:.3f} ms here.",
        ]
    book = report["agreement"]["book_check"]
    lines += [
        "",
        "Agreement in float64 (relative error = ||a-b|| / ||a+b||)",
        "  book's gradient check, H=50, 3 examples, every parameter:",
    ]
    for name in ("numerical_vs_manual", "manual_vs_autodiff", "numerical_vs_autodiff"):
        lines.append(f"    {name:<22} max |diff| {book[name]['max_abs']:.2e}   relative {book[name]['relative']:.2e}")
    lines.append(
        "    mean |backprop - numerical|: "
        + ", ".join(f"{k} {v:.1e}" for k, v in book["mean_abs_numerical_vs_manual"].items())
    )
    lines.append(
        f"  per size, batch {batch} (a sampled numerical entry can differ where a ReLU input "
        "lies within h=1e-4 of its kink):"
    )
    for r in report["agreement"]["per_size"]:
        lines.append(
            f"    H={r['hidden']:<5} manual vs jax.grad: relative {r['manual_vs_autodiff']['relative']:.1e}, "
            f"numerical vs manual (200 sampled): relative {r['numerical_vs_manual_sampled']['relative']:.1e}"
        )
    return "\n".join(lines)


def write_csv(report: dict, path: pathlib.Path) -> None:
    """One row per hidden size with every measured figure."""
    rows = report["rows"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_plot(report: dict, path: pathlib.Path) -> None:
    """Time per gradient against the number of parameters, log-log."""
    from jaxnet.plots import save_figure, subplots

    rows = report["rows"]
    p = [r["params"] for r in rows]
    fig, ax = subplots(figsize=(7, 4.5))
    ax.plot(p, [r["numerical_s"] for r in rows], "o-", label="numerical (NumPy, central difference)")
    est = [r for r in rows if r["numerical_estimated"]]
    if est:
        ax.plot(
            [r["params"] for r in est],
            [r["numerical_s"] for r in est],
            "o",
            mfc="white",
            color="C0",
            label="numerical, estimated from a subset",
        )
    ax.plot(p, [r["manual_s"] for r in rows], "s-", label="manual backprop (NumPy)")
    ax.plot(p, [r["jax_grad_eager_s"] for r in rows], "^-", label="jax.grad (eager)")
    ax.plot(p, [r["jit_grad_s"] for r in rows], "d-", label="jax.jit(jax.grad)")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="parameters P",
        ylabel="seconds per gradient (batch 100)",
        title="Gradient cost against model size",
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.grad_speed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="three sizes, fewer repeats (under a minute)")
    parser.add_argument("--hidden", type=int, nargs="+", help="hidden sizes to sweep (default 10 50 100 300 1000)")
    parser.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default="float64",
        help="dtype of the timed runs (the book's NumPy default is float64)",
    )
    parser.add_argument("--repeats", type=positive_int, help="timed runs per figure (median reported)")
    parser.add_argument("--json", type=pathlib.Path, help="write every figure as JSON")
    parser.add_argument("--csv", type=pathlib.Path, help="write the per-size rows as CSV")
    parser.add_argument("--plot", type=pathlib.Path, help="write time against P (log-log) as a PNG")
    args = parser.parse_args(argv)
    check_report_paths(parser, json=args.json, csv=args.csv, plot=args.plot)  # before the minutes of timing
    config = QUICK if args.quick else FULL
    overrides = {"dtype": args.dtype}
    if args.hidden:
        if any(h <= 0 for h in args.hidden):
            parser.error("hidden sizes must be positive")
        overrides["hiddens"] = tuple(args.hidden)
    if args.repeats:
        overrides["repeats"] = args.repeats
    config = Config(**{**config.__dict__, **overrides})
    report = run(config)
    print(format_report(report))
    write_report_files(
        report, args.json, [(args.csv, lambda p: write_csv(report, p)), (args.plot, lambda p: write_plot(report, p))]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
