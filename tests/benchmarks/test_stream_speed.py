"""Runs benchmarks.stream_speed in --quick mode (the seeds' MLP from a memmap and from memory) and checks its report."""

import re
import subprocess
import sys


def test_quick_run_reports_both_inputs_and_their_ratio():
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.stream_speed", "--quick", "--epochs", "1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rates = {
        name: float(rate.replace(",", ""))
        for name, rate in re.findall(r"batch 32\)\s+(in memory|memmap, streamed):\s+([\d,]+) samples/s", out)
    }
    assert set(rates) == {"in memory", "memmap, streamed"} and all(rate > 0 for rate in rates.values())
    ratio = re.search(r"streamed / in memory: (\d+)%", out)
    assert ratio and abs(int(ratio[1]) - 100 * rates["memmap, streamed"] / rates["in memory"]) <= 1  # rounded rates


def test_zero_epochs_exit_2_before_timing():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.stream_speed", "--epochs", "0"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "--epochs must be at least 1" in done.stderr
