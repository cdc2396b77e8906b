"""Runs benchmarks.train_speed in --quick mode and checks the report's structure (no timing limits)."""
import json
import subprocess
import sys

import pytest

from benchmarks import train_speed
from benchmarks.train_speed import TRAINERS, _verdict


def run(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "benchmarks.train_speed", "--quick", "--json", str(tmp_path / "r.json"),
                           "--plot", str(tmp_path / "r.png"), *args], capture_output=True, text=True, check=True)


def check_block(block, trainers):
    assert block["flops_per_example"] > 1e5
    for label in trainers:
        row = block["trainers"][label]
        if "skipped" in row:
            assert "not installed" in row["skipped"]
            continue
        assert row["samples_per_s"] > 0 and row["median_epoch_s"] > 0 and 0 < row["fraction_of_peak"] < 1.5
        assert len(row["epoch_times"]) == 2 and row["threads"]


def test_quick_mlp_with_jaxnet_and_the_books_numpy(tmp_path):
    out = run(tmp_path, "--workloads", "mlp", "--trainers", "jaxnet fit", "numpy (book)", "keras 3 (jax)").stdout
    for text in ["Machine limit", "== mlp: batch 32", "samples/s", "% peak", "fastest:", "jaxnet fit", "numpy (book)"]:
        assert text in out, text
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["machine"]["peak_flops"] > 1e8
    check_block(report["workloads"]["mlp"], ["jaxnet fit", "numpy (book)", "keras 3 (jax)"])
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_quick_everything(tmp_path):
    run(tmp_path)
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report["workloads"]) == {"mlp", "mlp_b256", "cnn"}
    for name, block in report["workloads"].items():
        check_block(block, [t for t, (_, _, only) in TRAINERS.items() if only is None or name in only])


def test_verdict_names_the_fastest_and_the_keras_ratio():
    rows = {"jaxnet fit": {"samples_per_s": 300.0}, "keras 3 (jax)": {"samples_per_s": 100.0},
            "pytorch eager": {"skipped": "torch is not installed"}}
    assert _verdict(rows) == "fastest: jaxnet fit, 3.00x the next (keras 3 (jax)); jaxnet fit / Keras 3 (JAX) = 3.00x"


@pytest.mark.parametrize("args", [["--repeats", "-1"], ["--repeats", "0"], ["--json", "."], ["--plot", "README.md/x.png"]])
def test_bad_arguments_exit_2_before_timing(args, capsys):
    with pytest.raises(SystemExit) as stopped:
        train_speed.main(["--quick", *args])
    assert stopped.value.code == 2
    assert "error:" in capsys.readouterr().err
