"""Training speed of the seeds' models: jaxnet against the tools people would use instead.

    python -m benchmarks.train_speed [--quick] [--json FILE] [--plot FILE.png] [--workloads mlp cnn ...]

Workloads (synthetic data of the real shapes): the seeds' MNIST MLP
(784-128-Dropout(0.2)-10, Adam, batch 32, 60,000 examples), the same at batch 256,
and the seeds' CIFAR-10 CNN (122,570 parameters, Adam, batch 64). Trainers:
jaxnet's fit (functional and Keras face), Keras 3 on JAX, PyTorch eager (CPU, best
thread count), the Flax NNX MLP with Flax's own loop, and the book's NumPy layers.

Each trainer runs in its own process (thread pools never compete), trains one
warm-up epoch (compilation included) and then timed epochs; samples/s come from
the median timed epoch. The machine's limit is a measured float32 matrix multiply;
achieved FLOP/s use the training step's FLOPs from XLA's cost analysis. Peers
that are not installed (``pip install -e '.[bench]'``) are reported as skipped.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

from benchmarks.report_files import check_report_paths, positive_int, write_report_files
from benchmarks.workloads import WORKLOADS

TRAINERS = {  # label -> (module, function, workloads it runs)
    "jaxnet fit": ("benchmarks.trainers.jaxnet_fit", "train", None),
    "jaxnet fit, rbg keys": ("benchmarks.trainers.jaxnet_fit", "train_rbg_keys", ("mlp", "mlp_b256")),
    "jaxnet keras face": ("benchmarks.trainers.jaxnet_fit", "train_keras_face", None),
    "keras 3 (jax)": ("benchmarks.trainers.keras3", "train", None),
    "pytorch eager": ("benchmarks.trainers.torch_eager", "train", None),
    "flax nnx loop": ("benchmarks.trainers.flax_nnx", "train", ("mlp", "mlp_b256")),
    "numpy (book)": ("benchmarks.trainers.numpy_book", "train", None),
}
PEER_PACKAGES = {"benchmarks.trainers.keras3": "keras", "benchmarks.trainers.torch_eager": "torch"}


def _worker(args) -> dict:
    """Run in a child process: one trainer on one workload, or a machine measurement."""
    if args.worker == "matmul":
        return measure_matmul(args.quick)
    if args.worker == "flops":
        from benchmarks.trainers.jaxnet_fit import flops_per_example

        return {"flops_per_example": flops_per_example(WORKLOADS[args.workload])}
    module, function = args.worker.split(":")
    package = PEER_PACKAGES.get(module)
    if package and importlib.util.find_spec(package) is None:
        return {"skipped": f"{package} is not installed (pip install -e '.[bench]')"}
    workload = WORKLOADS[args.workload]
    x, y = workload.data(args.quick)
    result = getattr(importlib.import_module(module), function)(workload, x, y, args.epochs)
    return {**result, "examples": len(x)}


def measure_matmul(quick: bool) -> dict:
    """float32 matrix-multiply FLOP/s with XLA and with NumPy (median of repeats); the larger is the limit."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from benchmarks.timing import median_time

    n = 1024 if quick else 2048
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    matmul = jax.jit(jnp.matmul)
    a_dev = jnp.asarray(a)
    xla = 2 * n**3 / median_time(lambda: matmul(a_dev, a_dev), 5 if quick else 10)
    numpy = 2 * n**3 / median_time(lambda: a @ a, 5 if quick else 10)
    return {"n": n, "xla_flops": xla, "numpy_flops": numpy, "peak_flops": max(xla, numpy)}


_CHECKOUT = pathlib.Path(__file__).resolve().parent.parent


def _spawn(worker: str, workload: str, quick: bool, epochs: int, timeout: float) -> dict:
    command = [sys.executable, "-m", "benchmarks.train_speed", "--worker", worker, "--workload", workload,
               "--epochs", str(epochs)] + (["--quick"] if quick else [])
    env = dict(os.environ, KERAS_BACKEND="jax")
    try:
        # The benchmarks live in the checkout, not in the installed wheel: run the worker from its root.
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, cwd=_CHECKOUT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(workloads: list[str], quick: bool, repeats: int, timeout: float, trainers: list[str] | None = None) -> dict:
    """Measure the trainers (default: all) on every workload; returns the report."""
    from benchmarks.timing import environment

    report = {"environment": environment(), "quick": quick, "repeats": repeats,
              "machine": _spawn("matmul", "mlp", quick, 0, timeout), "workloads": {}}
    for name in workloads:
        workload = WORKLOADS[name]
        flops = _spawn("flops", name, quick, 0, timeout).get("flops_per_example")
        rows = {}
        for label, (module, function, only) in TRAINERS.items():
            if (only is not None and name not in only) or (trainers and label not in trainers):
                continue
            started = time.perf_counter()
            result = _spawn(f"{module}:{function}", name, quick, 1 + repeats, timeout)
            result["wall_s"] = time.perf_counter() - started
            if "epoch_times" in result:
                timed = result["epoch_times"][1:]
                result["median_epoch_s"] = statistics.median(timed)
                result["samples_per_s"] = result["examples"] / result["median_epoch_s"]
                result["first_epoch_s"] = result["epoch_times"][0]
                if flops:
                    result["achieved_flops"] = flops * result["samples_per_s"]
                    result["fraction_of_peak"] = result["achieved_flops"] / report["machine"]["peak_flops"]
            rows[label] = result
        report["workloads"][name] = {"batch_size": workload.batch_size, "flops_per_example": flops, "trainers": rows}
    return report


def _verdict(rows: dict) -> str:
    ranked = sorted(((r["samples_per_s"], label) for label, r in rows.items() if "samples_per_s" in r), reverse=True)
    if len(ranked) < 2:
        return "not enough trainers ran to compare"
    (best, first), (second, runner_up) = ranked[0], ranked[1]
    text = f"fastest: {first}, {best / second:.2f}x the next ({runner_up})"
    ours, keras = rows.get("jaxnet fit", {}), rows.get("keras 3 (jax)", {})
    if "samples_per_s" in ours and "samples_per_s" in keras:
        text += f"; jaxnet fit / Keras 3 (JAX) = {ours['samples_per_s'] / keras['samples_per_s']:.2f}x"
    return text


def format_report(report: dict) -> str:
    machine = report["machine"]
    lines = ["Environment: " + ", ".join(f"{k}={v}" for k, v in report["environment"].items() if v != ""),
             f"Machine limit: float32 {machine.get('n')}x{machine.get('n')} matmul, XLA "
             f"{machine.get('xla_flops', 0) / 1e9:.1f} GFLOP/s, NumPy {machine.get('numpy_flops', 0) / 1e9:.1f} "
             f"GFLOP/s",
             f"Each trainer in its own process; 1 warm-up epoch, then the median of {report['repeats']} timed epochs."]
    for name, block in report["workloads"].items():
        workload = WORKLOADS[name]
        examples = next((r["examples"] for r in block["trainers"].values() if "examples" in r), "?")
        flops = block["flops_per_example"]
        lines += ["", f"== {name}: batch {block['batch_size']}, {examples} synthetic examples of shape "
                      f"{workload.input_shape}, {flops / 1e6 if flops else float('nan'):.2f} MFLOP per example "
                      "per training step ==",
                  f"{'trainer':<20} {'samples/s':>11} {'epoch s':>9} {'1st epoch s':>12} {'vs jaxnet':>10} "
                  f"{'GFLOP/s':>8} {'% peak':>7}  threads"]
        ours = block["trainers"].get("jaxnet fit", {}).get("samples_per_s")
        for label, r in block["trainers"].items():
            if "samples_per_s" not in r:
                lines.append(f"{label:<20} {'skipped: ' + r.get('skipped', r.get('error', '?'))}")
                continue
            ratio = f"{r['samples_per_s'] / ours:.2f}x" if ours else "-"
            lines.append(f"{label:<20} {r['samples_per_s']:>11,.0f} {r['median_epoch_s']:>9.3f} "
                         f"{r['first_epoch_s']:>12.3f} {ratio:>10} {r.get('achieved_flops', 0) / 1e9:>8.2f} "
                         f"{100 * r.get('fraction_of_peak', 0):>6.1f}%  {r['threads']}")
        lines.append(_verdict(block["trainers"]))
    return "\n".join(lines)


def write_plot(report: dict, path: pathlib.Path) -> None:
    """A bar chart of samples/s, one group per workload."""
    from jaxnet.plots import save_figure, subplots

    blocks = report["workloads"]
    fig, axes = subplots(1, len(blocks), figsize=(5.5 * len(blocks), 4), squeeze=False)
    for ax, (name, block) in zip(axes[0], blocks.items()):
        rows = [(label, r["samples_per_s"]) for label, r in block["trainers"].items() if "samples_per_s" in r]
        labels, values = zip(*rows) if rows else ((), ())
        colors = ["C3" if label.startswith("jaxnet") else "C0" for label in labels]
        ax.barh(labels, values, color=colors)
        ax.set(xlabel="samples / second", title=f"{name} (batch {block['batch_size']})")
        ax.invert_yaxis()
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:,.0f}", va="center", fontsize=8)
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer examples and repeats (under two minutes)")
    parser.add_argument("--workloads", nargs="+", choices=sorted(WORKLOADS), default=["mlp", "mlp_b256", "cnn"])
    parser.add_argument("--trainers", nargs="+", choices=list(TRAINERS), metavar="TRAINER",
                        help=f"which trainers to run (default all: {', '.join(TRAINERS)})")
    parser.add_argument("--repeats", type=positive_int, help="timed epochs per trainer (default 3, quick 1)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed to one trainer")
    parser.add_argument("--json", type=pathlib.Path, help="write every figure as JSON")
    parser.add_argument("--plot", type=pathlib.Path, help="write a bar chart of samples/s as PNG")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--workload", default="mlp", help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    check_report_paths(parser, json=args.json, plot=args.plot)
    if args.worker:
        print(json.dumps(_worker(args)))
        return 0
    repeats = args.repeats or (1 if args.quick else 3)
    report = run(args.workloads, args.quick, repeats, args.timeout, args.trainers)
    print(format_report(report))
    write_report_files(report, args.json, [(args.plot, lambda p: write_plot(report, p))])
    return 0


if __name__ == "__main__":
    sys.exit(main())
