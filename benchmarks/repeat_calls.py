"""Repeated calls as a Keras user makes them, with jaxnet's Keras face and with Keras 3 (JAX backend).

The seeds' MNIST MLP (synthetic data of MNIST's shapes) is built and compiled with the same Keras code,
``keras`` being ``jaxnet.keras`` or Keras 3; then ``fit(epochs=1)`` runs twice, then ``evaluate`` and
``predict`` twice each. A first call compiles; the second ones on the same model and shapes should not.
Each library runs in its own process, the two alternating over ``--rounds``; the table shows medians
and Keras' time over jaxnet's for each call (above 1: jaxnet is faster).

    python -m benchmarks.repeat_calls [--quick] [--rounds 3] [--json F]

Needs Keras 3 (``make bench-extra``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks.peer_env import worker_environment
from benchmarks.report_files import check_report_paths, positive_int, write_report_files
from benchmarks.workloads import WORKLOADS

CALLS = ("fit 1", "fit 2", "evaluate 1", "evaluate 2", "predict 1", "predict 2")
LIBRARIES = ("jaxnet.keras", "keras 3")


def _keras_module(library: str) -> Any:
    """``jaxnet.keras`` or Keras 3 (on its JAX backend): the same user code runs on either."""
    if library == "jaxnet.keras":
        return importlib.import_module("jaxnet.keras")
    keras = importlib.import_module("keras")
    if keras.backend.backend() != "jax":
        raise RuntimeError(f"Keras runs on {keras.backend.backend()!r}; set KERAS_BACKEND=jax")
    return keras


def measure(library: str, quick: bool) -> dict[str, float]:
    """Seconds of each call in ``CALLS`` for one library, in this process (the first calls compile).

    Arguments:
        library: one of ``LIBRARIES``.
        quick: use the workload's small data set.

    Returns:
        ``{call: seconds}``.
    """
    keras = _keras_module(library)
    x, y = WORKLOADS["mlp"].data(quick)
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    calls = {
        "fit": lambda: model.fit(x, y, epochs=1, batch_size=32, verbose=0),
        "evaluate": lambda: model.evaluate(x, y, batch_size=32, verbose=0),
        "predict": lambda: model.predict(x, batch_size=32, verbose=0),
    }
    seconds = {}
    for name in CALLS:
        start = time.perf_counter()
        calls[name.split()[0]]()  # fit and evaluate return host numbers; predict returns a NumPy array
        seconds[name] = time.perf_counter() - start
    return seconds


def _run_worker(library: str, quick: bool) -> dict[str, float]:
    args = [sys.executable, "-m", "benchmarks.repeat_calls", "--worker", library] + (["--quick"] if quick else [])
    env = worker_environment(peer=library != "jaxnet.keras")
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {library} worker failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def format_table(medians: dict[str, dict[str, float]]) -> str:
    """The per-call seconds of both libraries and Keras' time over jaxnet's."""
    lines = [f"{'call':<12} {'jaxnet.keras s':>15} {'keras 3 s':>10} {'keras / jaxnet':>15}"]
    for call in CALLS:
        ours, theirs = medians["jaxnet.keras"][call], medians["keras 3"][call]
        lines.append(f"{call:<12} {ours:>15.3f} {theirs:>10.3f} {theirs / ours:>14.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.repeat_calls",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="12,000 examples instead of 60,000, one round")
    parser.add_argument("--rounds", type=positive_int, default=3, help="alternating runs of each library (median)")
    parser.add_argument("--json", type=pathlib.Path, help="write the report to this file")
    parser.add_argument("--worker", choices=LIBRARIES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args.worker, args.quick)))
        return {}
    check_report_paths(parser, json=args.json)  # before the minutes of timing
    rounds = 1 if args.quick else args.rounds
    runs: dict[str, list[dict[str, float]]] = {library: [] for library in LIBRARIES}
    for _ in range(rounds):
        for library in LIBRARIES:
            runs[library].append(_run_worker(library, args.quick))
    medians = {lib: {c: statistics.median(r[c] for r in rs) for c in CALLS} for lib, rs in runs.items()}
    n = len(WORKLOADS["mlp"].data(args.quick)[1])
    print(
        f"The seeds' MLP, {n:,} examples, batch 32, Adam; medians of {rounds} round(s), each library in its own process"
    )
    print(format_table(medians))
    report = {"examples": n, "rounds": rounds, "runs": runs, "medians": medians}
    write_report_files(report, args.json)
    return report


if __name__ == "__main__":
    main()
