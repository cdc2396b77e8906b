"""Training speed of the seeds' models: jaxnet against each peer run the way its best users run it.

    python -m benchmarks.train_speed [--quick] [--json FILE] [--plot FILE.png] [--markdown FILE.md]
                                     [--workloads mlp cnn ...] [--trainers ...] [--rounds R]

Workloads (synthetic data of the real shapes): the seeds' MNIST MLP
(784-128-Dropout(0.2)-10, Adam, batch 32, 60,000 examples), the same at batch 256,
and the seeds' CIFAR-10 CNN (122,570 parameters, Adam, batch 64). Trainers, each row
naming its configuration: jaxnet's fit (functional and Keras face); Keras 3 on JAX
with ``model.fit`` as shipped and with ``steps_per_execution=32``, and an expert's
loop (``stateless_call`` in a scanned epoch); Flax NNX with split/merge around a
``jax.jit`` step and in a scanned epoch; PyTorch with fused Adam at its faster of 1
and all threads (channels_last for the CNN), eager and under ``torch.compile``; the
book's NumPy layers.

Each trainer runs in its own process (thread pools never compete), trains one
warm-up epoch (compilation included) and then timed epochs; samples/s come from
the median timed epoch. With ``--rounds R`` every trainer runs in R fresh processes,
the trainers interleaved (each round in the other order), and the median round counts:
on a shared machine one process per trainer can be off by 1.5x. The machine's limit
is the workload's own matrix multiplies (``benchmarks.gemm``) timed in MKL (PyTorch),
OpenBLAS (NumPy) and XLA, each in its own process, the fastest per shape; a
trainer's "GEMM share" is that limit's time over its step time. Peers that are not
installed (``pip install -e '.[bench]'``) are reported as skipped.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import pathlib
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks.peer_env import worker_environment
from benchmarks.report_files import check_report_paths, positive_int, write_report_files
from benchmarks.workloads import WORKLOADS

MLP_ONLY = ("mlp", "mlp_b256")
TRAINERS = {  # label -> (module, function, workloads it runs)
    "jaxnet fit": ("benchmarks.trainers.jaxnet_fit", "train", None),
    "jaxnet fit, rbg keys": ("benchmarks.trainers.jaxnet_fit", "train_rbg_keys", MLP_ONLY),
    "jaxnet keras face": ("benchmarks.trainers.jaxnet_fit", "train_keras_face", None),
    "keras 3 fit": ("benchmarks.trainers.keras3", "train", None),
    "keras 3 fit, spe=32": ("benchmarks.trainers.keras3", "train_steps_per_execution", None),
    "keras 3 expert, scan": ("benchmarks.trainers.keras3", "train_expert", None),
    "flax nnx, jit": ("benchmarks.trainers.flax_nnx", "train", MLP_ONLY),
    "flax nnx, scan": ("benchmarks.trainers.flax_nnx", "train_scanned", MLP_ONLY),
    "pytorch, fused adam": ("benchmarks.trainers.torch_eager", "train", None),
    "pytorch, compiled": ("benchmarks.trainers.torch_eager", "train_compiled", None),
    "numpy (book)": ("benchmarks.trainers.numpy_book", "train", None),
}
JAXNET_TRAINERS = "benchmarks.trainers.jaxnet_fit:"
PEER_PACKAGES = {"benchmarks.trainers.keras3": "keras", "benchmarks.trainers.torch_eager": "torch"}
GEMM_PACKAGES = {"mkl (pytorch)": "torch"}


def _worker(args) -> dict:
    """Run in a child process: one trainer on one workload, or a machine measurement."""
    if args.worker.startswith("gemm:"):
        from benchmarks.gemm import measure

        library = args.worker.split(":", 1)[1]
        package = GEMM_PACKAGES.get(library)
        if package and importlib.util.find_spec(package) is None:
            return {"library": library, "skipped": f"{package} is not installed"}
        return measure(library, WORKLOADS[args.workload], args.quick)
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
    return {"examples": len(x), **result}  # a trainer that drops the last partial batch says how many it saw


_CHECKOUT = pathlib.Path(__file__).resolve().parent.parent


def _spawn(worker: str, workload: str, quick: bool, epochs: int, timeout: float) -> dict:
    command = [
        sys.executable,
        "-m",
        "benchmarks.train_speed",
        "--worker",
        worker,
        "--workload",
        workload,
        "--epochs",
        str(epochs),
    ] + (["--quick"] if quick else [])
    env = worker_environment(peer=worker.startswith("benchmarks.trainers.") and not worker.startswith(JAXNET_TRAINERS))
    try:
        # The benchmarks live in the checkout, not in the installed wheel: run the worker from its root.
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, cwd=_CHECKOUT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(
    workloads: list[str],
    quick: bool,
    repeats: int,
    timeout: float,
    trainers: list[str] | None = None,
    rounds: int = 1,
) -> dict:
    """Measure the trainers (default: all) and the GEMM limit on every workload; returns the report.

    Each trainer runs ``rounds`` times in a fresh process, interleaved with the others."""
    from benchmarks.gemm import LIBRARIES, limit
    from benchmarks.timing import environment

    report: dict[str, Any] = {
        "environment": environment(),
        "quick": quick,
        "repeats": repeats,
        "rounds": rounds,
        "workloads": {},
    }
    for name in workloads:
        workload = WORKLOADS[name]
        flops = _spawn("flops", name, quick, 0, timeout).get("flops_per_example")
        gemm = [_spawn(f"gemm:{library}", name, quick, 0, timeout) for library in LIBRARIES]
        machine = limit(gemm)
        chosen = [
            (label, module, function)
            for label, (module, function, only) in TRAINERS.items()
            if (only is None or name in only) and (not trainers or label in trainers)
        ]
        runs: dict[str, list[dict]] = {label: [] for label, _, _ in chosen}
        for round_ in range(rounds):  # trainers interleaved, every other round in reverse: drifts hit all alike
            for label, module, function in chosen if round_ % 2 == 0 else chosen[::-1]:
                started = time.perf_counter()
                result = _spawn(f"{module}:{function}", name, quick, 1 + repeats, timeout)
                result["wall_s"] = time.perf_counter() - started
                runs[label].append(result)
        rows = {}
        for label, results in runs.items():
            failed = [r for r in results if "epoch_times" not in r]
            result = failed[0] if failed else dict(results[0])
            if not failed:
                # each round's median timed epoch; the row's figure is the median over rounds
                result["round_epoch_s"] = [statistics.median(r["epoch_times"][1:]) for r in results]
                result["median_epoch_s"] = statistics.median(result["round_epoch_s"])
                result["samples_per_s"] = result["examples"] / result["median_epoch_s"]
                result["first_epoch_s"] = statistics.median(r["epoch_times"][0] for r in results)
                if flops:
                    result["achieved_flops"] = flops * result["samples_per_s"]
                if machine:
                    steps = math.ceil(result["examples"] / workload.batch_size)
                    result["gemm_share"] = steps * machine["step_s"] / result["median_epoch_s"]
            rows[label] = result
        report["workloads"][name] = {
            "batch_size": workload.batch_size,
            "flops_per_example": flops,
            "gemm": gemm,
            "gemm_limit": machine,
            "trainers": rows,
        }
    return report


def _best(rows: dict, prefixes: tuple[str, ...]) -> tuple[float, str] | None:
    ranked = [
        (r["samples_per_s"], label) for label, r in rows.items() if label.startswith(prefixes) and "samples_per_s" in r
    ]
    return max(ranked) if ranked else None


def _verdict(rows: dict) -> str:
    """The fastest trainer, and jaxnet fit against the best JAX peer and the best PyTorch row."""
    ranked = sorted(((r["samples_per_s"], label) for label, r in rows.items() if "samples_per_s" in r), reverse=True)
    if len(ranked) < 2:
        return "not enough trainers ran to compare"
    (best, first), (second, runner_up) = ranked[0], ranked[1]
    text = f"fastest: {first}, {best / second:.2f}x the next ({runner_up})"
    ours = rows.get("jaxnet fit", {}).get("samples_per_s")
    for what, prefixes in (("the best JAX peer", ("keras", "flax")), ("the best PyTorch", ("pytorch",))):
        peer = _best(rows, prefixes)
        if ours and peer:
            text += f"; jaxnet fit / {what} ({peer[1]}) = {ours / peer[0]:.2f}x"
    return text


def format_report(report: dict) -> str:
    lines = [
        "Environment: " + ", ".join(f"{k}={v}" for k, v in report["environment"].items() if v != ""),
        f"Each trainer in its own process; 1 warm-up epoch, then the median of {report['repeats']} timed epochs"
        + (
            f"; {report['rounds']} rounds of fresh processes, trainers interleaved, the median round shown "
            "(every round's epoch s after the configuration)."
            if report.get("rounds", 1) > 1
            else "."
        ),
        "GEMM share: the step's matrix multiplies at the fastest library per shape, over the trainer's step.",
    ]
    for name, block in report["workloads"].items():
        workload = WORKLOADS[name]
        examples = next((r["examples"] for r in block["trainers"].values() if "examples" in r), "?")
        flops = block["flops_per_example"]
        lines += [
            "",
            f"== {name}: batch {block['batch_size']}, {examples} synthetic examples of shape "
            f"{workload.input_shape}, {flops / 1e6 if flops else float('nan'):.2f} MFLOP per example "
            "per training step ==",
            f"{'trainer':<22} {'samples/s':>11} {'epoch s':>9} {'1st epoch s':>12} {'vs jaxnet':>10} "
            f"{'GFLOP/s':>8} {'GEMM share':>10}  configuration; threads",
        ]
        ours = block["trainers"].get("jaxnet fit", {}).get("samples_per_s")
        for label, r in block["trainers"].items():
            if "samples_per_s" not in r:
                lines.append(f"{label:<22} {'skipped: ' + r.get('skipped', r.get('error', '?'))}")
                continue
            ratio = f"{r['samples_per_s'] / ours:.2f}x" if ours else "-"
            lines.append(
                f"{label:<22} {r['samples_per_s']:>11,.0f} {r['median_epoch_s']:>9.3f} "
                f"{r['first_epoch_s']:>12.3f} {ratio:>10} {r.get('achieved_flops', 0) / 1e9:>8.2f} "
                f"{100 * r.get('gemm_share', 0):>9.1f}%  {r.get('config', '')}; {r['threads']}"
                + (
                    f"; rounds {' '.join(f'{t:.3f}' for t in r['round_epoch_s'])}"
                    if len(r["round_epoch_s"]) > 1
                    else ""
                )
            )
        lines.append(_verdict(block["trainers"]))
        lines += _format_gemm(block)
    return "\n".join(lines)


def _format_gemm(block: dict) -> list[str]:
    machine = block.get("gemm_limit")
    if not machine:
        return ["GEMM limit: no library measured"]
    libraries = [m["library"] for m in block["gemm"] if "shapes" in m]
    lines = [
        f"GEMM limit: {machine['step_s'] * 1e3:.3f} ms per step ({machine['gflops']:.1f} GFLOP/s), "
        "the fastest library per shape; GFLOP/s per library and shape:"
    ]
    lines += [
        f"  {m['library']} skipped: {m.get('skipped', m.get('error'))}" for m in block["gemm"] if "shapes" not in m
    ]
    lines.append(f"  {'product':<26} {'m x k x n':>20} " + " ".join(f"{lib:>17}" for lib in libraries) + "  fastest")
    for row in machine["shapes"]:
        size = f"{row['m']}x{row['k']}x{row['n']}"
        lines.append(
            f"  {row['what']:<26} {size:>20} "
            + " ".join(f"{row[lib]:>17.1f}" for lib in libraries)
            + f"  {row['best']}"
        )
    return lines


WORKLOAD_TITLES = {
    "mlp": "seeds' MLP, batch 32",
    "mlp_b256": "seeds' MLP, batch 256",
    "cnn": "seeds' CIFAR CNN, batch 64",
}


def format_markdown(report: dict) -> str:
    """The README's Speed table: samples/s per trainer (rows, with configurations) and workload (columns),
    then the GEMM limit in samples/s and jaxnet's ratio to the best peer."""
    blocks = report["workloads"]
    header = "| samples/s | " + " | ".join(WORKLOAD_TITLES.get(n, n) for n in blocks) + " |"
    lines = [header, "| --- |" + " ---: |" * len(blocks)]
    labels = [label for label in TRAINERS if any(label in b["trainers"] for b in blocks.values())]
    for label in labels:
        cells, config = [], ""
        for block in blocks.values():
            r = block["trainers"].get(label, {})
            cells.append(f"{r['samples_per_s']:,.0f}" if "samples_per_s" in r else "-")
            config = config or r.get("config", "")
        lines.append(f"| {label}{' (' + config + ')' if config else ''} | " + " | ".join(cells) + " |")
    limit_cells = []
    for block in blocks.values():
        machine = block.get("gemm_limit")
        limit_cells.append(f"{block['batch_size'] / machine['step_s']:,.0f}" if machine else "-")
    lines.append(
        "| GEMM limit (the step's matrix multiplies only, fastest library per shape) | "
        + " | ".join(limit_cells)
        + " |"
    )
    ratios = []
    for block in blocks.values():
        ours, peer = (
            block["trainers"].get("jaxnet fit", {}).get("samples_per_s"),
            _best({k: v for k, v in block["trainers"].items() if not k.startswith(("jaxnet", "numpy"))}, ("",)),
        )
        ratios.append(f"{ours / peer[0]:.2f}x ({peer[1]})" if ours and peer else "-")
    lines.append("| jaxnet fit / best peer | " + " | ".join(ratios) + " |")
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
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.train_speed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="fewer examples and repeats (under two minutes)")
    parser.add_argument("--workloads", nargs="+", choices=sorted(WORKLOADS), default=["mlp", "mlp_b256", "cnn"])
    parser.add_argument(
        "--trainers",
        nargs="+",
        choices=list(TRAINERS),
        metavar="TRAINER",
        help=f"which trainers to run (default all: {', '.join(TRAINERS)})",
    )
    parser.add_argument("--repeats", type=positive_int, help="timed epochs per trainer (default 3, quick 1)")
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=1,
        help="fresh processes per trainer, interleaved with the other trainers; the median round is reported",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed to one trainer")
    parser.add_argument("--json", type=pathlib.Path, help="write every figure as JSON")
    parser.add_argument("--plot", type=pathlib.Path, help="write a bar chart of samples/s as PNG")
    parser.add_argument("--markdown", type=pathlib.Path, help="write the README's Speed table (Markdown)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--workload", default="mlp", help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    check_report_paths(parser, json=args.json, plot=args.plot, markdown=args.markdown)
    if args.worker:
        print(json.dumps(_worker(args)))
        return 0
    repeats = args.repeats or (1 if args.quick else 3)
    report = run(args.workloads, args.quick, repeats, args.timeout, args.trainers, args.rounds)
    print(format_report(report))
    write_report_files(
        report,
        args.json,
        [
            (args.plot, lambda p: write_plot(report, p)),
            (args.markdown, lambda p: p.write_text(format_markdown(report) + "\n")),
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
