"""Streamed input against resident input: the seeds' MNIST MLP trained from a memmap and from memory.

    python -m benchmarks.stream_speed [--quick] [--epochs N] [--workload mlp]

The same synthetic data (``benchmarks.workloads``) is written to a ``.npy`` file and
opened as a memmap; ``fit`` streams it in chunks, reading each one while the
device trains on the previous one. Each run trains
one warm-up epoch (compilation) and then timed epochs; samples/s come from the median
timed epoch. The ratio streamed / in memory is the figure to watch (goal: >= 90%).
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import tempfile

import jax
import numpy as np

from benchmarks.workloads import WORKLOADS


def samples_per_second(x, y, workload, epochs: int) -> float:
    """Median samples/s over ``epochs`` timed epochs, after one warm-up epoch."""
    from jaxnet import zoo
    from jaxnet.train import fit

    model = zoo.mlp()
    params = model.init(jax.random.key(0), workload.input_shape)
    _, history = fit(model, params, x, y, batch_size=workload.batch_size, epochs=epochs + 1, verbose=0)
    return len(y) / statistics.median(history.epoch_times[1:])


def main(argv: list[str] | None = None) -> dict:
    """Run the comparison and print one line per input; returns the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the small data set (seconds)")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (default 3)")
    parser.add_argument("--workload", choices=["mlp", "mlp_b256"], default="mlp")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    workload = WORKLOADS[args.workload]
    x, y = workload.data(args.quick)
    with tempfile.TemporaryDirectory() as folder:
        np.save(pathlib.Path(folder) / "x.npy", x)
        mapped = np.load(pathlib.Path(folder) / "x.npy", mmap_mode="r")
        results = {
            "in memory": samples_per_second(x, y, workload, args.epochs),
            "memmap, streamed": samples_per_second(mapped, y, workload, args.epochs),
        }
    for name, rate in results.items():
        print(f"{workload.name} ({len(y)} examples, batch {workload.batch_size}) {name:>17}: {rate:10,.0f} samples/s")
    ratio = results["memmap, streamed"] / results["in memory"]
    print(f"streamed / in memory: {ratio:.0%}")
    return {**results, "ratio": ratio}


if __name__ == "__main__":
    main()
