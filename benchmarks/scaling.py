"""Weak scaling of data-parallel ``fit`` over processes on this machine (JAX's distributed runtime, gloo on CPU).

    python -m benchmarks.scaling [--processes 1 2 4] [--examples 3000] [--epochs 3]

Each process gets the same share (``--examples`` examples, batch 32 per process, so
the global batch grows with the processes), trains the seeds' MNIST MLP on synthetic
data, and process 0 reports samples/s from the median timed epoch (after a warm-up
epoch). Efficiency = samples/s with N processes / (N x samples/s with one). On a
machine with fewer cores than processes the processes share cores, so efficiency is
bound by cores / processes.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys


def _worker(nproc: int, pid: int, port: int, examples: int, epochs: int) -> None:
    from jaxnet._src.distributed import initialize

    if nproc > 1:
        initialize(f"127.0.0.1:{port}", nproc, pid, cpu_collectives="gloo")
    import jax

    from benchmarks.workloads import WORKLOADS
    from jaxnet import zoo
    from jaxnet.train import fit

    workload = WORKLOADS["mlp"]
    x, y = workload.data(quick=True)
    x, y = x[: examples * nproc], y[: examples * nproc]  # every process passes the whole set and reads its share
    model = zoo.mlp()
    params = model.init(jax.random.key(0), workload.input_shape)
    _, history = fit(model, params, x, y, batch_size=workload.batch_size * nproc, epochs=epochs + 1, verbose=0)
    if pid == 0:
        print("RESULT " + json.dumps({"samples_per_s": len(y) / statistics.median(history.epoch_times[1:])}))


def run(nproc: int, examples: int, epochs: int) -> float:
    """samples/s of ``nproc`` processes on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.scaling",
                "--worker",
                str(nproc),
                str(pid),
                str(port),
                "--examples",
                str(examples),
                "--epochs",
                str(epochs),
            ],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        for pid in range(nproc)
    ]
    outs = [p.communicate()[0] for p in procs]
    return json.loads(next(line[7:] for line in outs[0].splitlines() if line.startswith("RESULT ")))["samples_per_s"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--examples", type=int, default=3000, help="examples per process (default 3000)")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (default 3)")
    parser.add_argument("--worker", type=int, nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        nproc, pid, port = args.worker
        return _worker(nproc, pid, port, args.examples, args.epochs)
    print(f"{os.cpu_count()} cores; {args.examples} examples and batch 32 per process")
    print("| processes | global batch | samples/s | efficiency |\n| --- | --- | --- | --- |")
    base = None
    for n in args.processes:
        rate = run(n, args.examples, args.epochs)
        base = base or rate
        print(f"| {n} | {32 * n} | {rate:,.0f} | {rate / (n * base):.0%} |", flush=True)


if __name__ == "__main__":
    main()
