"""Runs benchmarks.repeat_calls in --quick mode (jaxnet's Keras face against Keras 3) and checks its report."""

import json
import os
import subprocess
import sys

import pytest

from benchmarks.repeat_calls import CALLS, LIBRARIES

os.environ.setdefault("KERAS_BACKEND", "jax")  # Keras 3 on JAX, as the benchmark's workers run it


def test_quick_run_reports_every_call_of_both_libraries(tmp_path):
    pytest.importorskip("keras")
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.repeat_calls", "--quick", "--json", str(tmp_path / "r.json")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "12,000 examples" in out and "keras / jaxnet" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["rounds"] == 1 and set(report["medians"]) == set(LIBRARIES)
    for library in LIBRARIES:
        assert all(report["medians"][library][call] > 0 for call in CALLS)
    for call in CALLS:  # one table row per call, its ratio the two medians' quotient
        row = next(line for line in out.splitlines() if line.startswith(call + " "))
        ours, theirs = (report["medians"][lib][call] for lib in LIBRARIES)
        assert row.split()[-1] == f"{theirs / ours:.2f}x"


@pytest.mark.parametrize("args", [["--rounds", "0"], ["--json", "."]])
def test_bad_arguments_exit_2_before_timing(args):
    done = subprocess.run([sys.executable, "-m", "benchmarks.repeat_calls", *args], capture_output=True, text=True)
    assert done.returncode == 2 and "error" in done.stderr
