"""Paired, interleaved A/B timings of jaxnet's ``fit`` under one speed lever, each run in a fresh process.

    python -m benchmarks.levers LEVER [--workload mlp] [--pairs 5] [--full]

Levers (A is the baseline, B the lever):

- ``threefry``: JAX's rolled threefry lowering on the CPU (``JAXNET_ROLLED_THREEFRY=1``) against the
  unrolled one jaxnet registers;
- ``key-split``: ``Sequential.apply`` splitting the key for every layer against passing it whole to the
  one layer that draws from it;
- ``shuffle``: the epoch's order drawn by ``jax.random.permutation`` on the device (a two-round sort)
  against NumPy's shuffle on the host (``jaxnet.train.shuffled_order``);
- ``pin``: XLA's default two-thread pool against the process pinned to one core (``taskset -c 0``).

A and B alternate (A B A B ...), so slow drifts of a shared machine hit both; each process trains one
warm-up epoch and 3 timed epochs and reports their median. Printed: both medians and the per-pair ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys

from benchmarks.report_files import positive_int
from benchmarks.workloads import WORKLOADS

_PROGRAM = r"""
import json, os, sys
import jaxnet.model
if os.environ.get("JAXNET_BENCH_SPLIT_ALWAYS") == "1":
    jaxnet.model._may_draw = lambda layer: True  # every layer counts as drawing: the key is split for all
if os.environ.get("JAXNET_BENCH_DEVICE_SHUFFLE") == "1":
    import jax, numpy as np, jaxnet.train
    jaxnet.train.shuffled_order = lambda key, n: np.asarray(jax.random.permutation(key, n), np.int32)
from benchmarks.trainers.jaxnet_fit import train
from benchmarks.workloads import WORKLOADS
workload = WORKLOADS[sys.argv[1]]
x, y = workload.data(sys.argv[2] == "quick")
times = train(workload, x, y, 4)["epoch_times"][1:]
print(json.dumps(sorted(times)[1]))
"""
# lever -> (A's environment, B's environment, B's command prefix)
LEVERS = {
    "threefry": ({"JAXNET_ROLLED_THREEFRY": "1"}, {"JAXNET_ROLLED_THREEFRY": "0"}, []),
    "key-split": ({"JAXNET_BENCH_SPLIT_ALWAYS": "1"}, {}, []),
    "shuffle": ({"JAXNET_BENCH_DEVICE_SHUFFLE": "1"}, {}, []),
    "pin": ({}, {}, ["taskset", "-c", "0"]),
}
_CHECKOUT = pathlib.Path(__file__).resolve().parent.parent


def epoch_seconds(workload: str, quick: bool, env: dict, prefix: list[str]) -> float:
    """The median timed epoch of one fresh process."""
    done = subprocess.run(
        [*prefix, sys.executable, "-c", _PROGRAM, workload, "quick" if quick else "full"],
        env={**os.environ, **env},
        cwd=_CHECKOUT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.levers", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("lever", choices=sorted(LEVERS))
    parser.add_argument("--workload", choices=sorted(w for w in WORKLOADS if w.startswith("mlp")), default="mlp")
    parser.add_argument("--pairs", type=positive_int, default=5)
    parser.add_argument("--full", action="store_true", help="60,000 examples per epoch (default: 12,000)")
    args = parser.parse_args(argv)
    a_env, b_env, b_prefix = LEVERS[args.lever]
    if b_prefix and shutil.which(b_prefix[0]) is None:
        parser.error(f"the {args.lever} lever needs {b_prefix[0]!r}, which is not installed")
    a, b = [], []
    for _ in range(args.pairs):
        a.append(epoch_seconds(args.workload, not args.full, a_env, []))
        b.append(epoch_seconds(args.workload, not args.full, b_env, b_prefix))
    ratios = [x / y for x, y in zip(a, b)]
    print(
        f"{args.lever} on {args.workload}: A (baseline) {statistics.median(a):.3f} s, B (lever) "
        f"{statistics.median(b):.3f} s per epoch; A/B per pair {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"median {statistics.median(ratios):.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
