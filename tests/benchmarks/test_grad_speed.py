"""Runs the benchmark's --quick mode and checks the report's structure and agreement figures (no timing limits)."""

import csv
import json
import subprocess
import sys


def test_quick_run_writes_every_output(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.grad_speed",
            "--quick",
            "--json",
            str(tmp_path / "r.json"),
            "--csv",
            str(tmp_path / "r.csv"),
            "--plot",
            str(tmp_path / "r.png"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for heading in [
        "Environment:",
        "jax=",
        "isolation=",
        "Time per gradient",
        "Ratios",
        "Per-example gradients",
        "Agreement in float64",
        "compile s",
        "jit in scan",
        "manual/jit in scan",
        "grad/fwd jit",
        "DP deltas",
        "The book's size",
    ]:
        assert heading in out, heading
    report = json.loads((tmp_path / "r.json").read_text())
    rows = report["rows"]
    assert [r["hidden"] for r in rows] == [10, 50, 200]
    assert [r["params"] for r in rows] == [7_960, 39_760, 159_010]
    for r in rows:
        for key in (
            "numerical_s",
            "manual_s",
            "jax_grad_eager_s",
            "jit_grad_s",
            "jit_grad_scan_s",
            "jit_compile_s",
            "forward_numpy_s",
            "forward_jit_s",
            "per_example_vmap_s",
            "per_example_loop_s",
            "per_example_norms_vmap_s",
            "per_example_norms_loop_s",
            "per_example_deltas_s",
            "per_example_norms_deltas_s",
            "dp_sgd_optax_vmap_s",
            "dp_sgd_deltas_s",
            "manual_cpu_s",
            "jit_grad_cpu_s",
        ):
            assert r[key] > 0, key
        assert r["numerical_s"] > r["manual_s"]  # two forward passes per parameter against one backward pass
        assert r["manual_over_jit_scan"] == r["manual_s"] / r["jit_grad_scan_s"]
    book = report["agreement"]["book_check"]
    assert book["numerical_vs_manual"]["relative"] < 1e-8
    assert book["manual_vs_autodiff"]["relative"] < 1e-14
    assert all(v < 1e-9 for v in book["mean_abs_numerical_vs_manual"].values())
    for r in report["agreement"]["per_size"]:
        assert r["manual_vs_autodiff"]["relative"] < 1e-14
    with open(tmp_path / "r.csv") as f:
        assert len(list(csv.DictReader(f))) == 3
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_hidden_size_is_rejected():
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.grad_speed", "--hidden", "0"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "hidden sizes must be positive" in result.stderr
