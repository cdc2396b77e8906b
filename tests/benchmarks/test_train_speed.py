"""Runs benchmarks.train_speed in --quick mode and checks the report's structure (no timing limits)."""

import json
import subprocess
import sys

import pytest

from benchmarks import train_speed
from benchmarks.gemm import gemm_shapes, limit
from benchmarks.train_speed import TRAINERS, _verdict, format_markdown
from benchmarks.workloads import WORKLOADS


def run(tmp_path, *args):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.train_speed",
            "--quick",
            "--json",
            str(tmp_path / "r.json"),
            "--plot",
            str(tmp_path / "r.png"),
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )


def check_block(block, trainers):
    assert block["flops_per_example"] > 1e5
    for label in trainers:
        row = block["trainers"][label]
        if "skipped" in row:
            assert "not installed" in row["skipped"]
            continue
        assert row["samples_per_s"] > 0 and row["median_epoch_s"] > 0 and 0 < row["gemm_share"] < 1.5
        assert len(row["epoch_times"]) == 2 and row["threads"] and row["config"]
    measured = [m for m in block["gemm"] if "shapes" in m]  # torch's MKL is skipped where torch is not installed
    assert measured and all("not installed" in m["skipped"] for m in block["gemm"] if "shapes" not in m)
    assert block["gemm_limit"]["step_s"] > 0
    assert all(len(block["gemm_limit"]["shapes"]) == len(m["shapes"]) for m in measured)


def test_rounds_interleave_fresh_processes_and_report_the_median_round(tmp_path, monkeypatch):
    calls = []

    def spawn(worker, workload, quick, epochs, timeout):
        if worker == "flops" or worker.startswith("gemm:"):
            return {"skipped": "not measured here"} if worker.startswith("gemm:") else {"flops_per_example": 1e6}
        calls.append(worker)
        first = {"train": [9.0, 1.0, 3.0, 2.0], "train_keras_face": [9.0, 5.0, 4.0, 6.0]}[worker.split(":")[1]]
        times = [t * (1 + len(calls)) for t in first]  # every later process slower: a drifting machine
        return {"epoch_times": times, "examples": 100, "threads": "t", "config": "c"}

    monkeypatch.setattr(train_speed, "_spawn", spawn)
    report = train_speed.run(["mlp"], True, 3, 60.0, ["jaxnet fit", "jaxnet keras face"], rounds=3)
    labels = [w.split(":")[1] for w in calls]
    assert labels == ["train", "train_keras_face", "train_keras_face", "train", "train", "train_keras_face"]
    fit_row = report["workloads"]["mlp"]["trainers"]["jaxnet fit"]
    assert fit_row["round_epoch_s"] == [4.0, 10.0, 12.0]  # median timed epoch of processes 1, 4 and 5
    assert fit_row["median_epoch_s"] == 10.0 and fit_row["samples_per_s"] == 10.0
    assert "rounds 4.000 10.000 12.000" in train_speed.format_report(report)


def test_quick_mlp_with_jaxnet_and_the_books_numpy(tmp_path):
    out = run(
        tmp_path,
        "--workloads",
        "mlp",
        "--trainers",
        "jaxnet fit",
        "numpy (book)",
        "keras 3 fit, spe=32",
        "--markdown",
        str(tmp_path / "r.md"),
    ).stdout
    for text in [
        "GEMM limit",
        "== mlp: batch 32",
        "samples/s",
        "GEMM share",
        "fastest:",
        "jaxnet fit",
        "numpy (book)",
        "dense forward",
    ]:
        assert text in out, text
    report = json.loads((tmp_path / "r.json").read_text())
    check_block(report["workloads"]["mlp"], ["jaxnet fit", "numpy (book)", "keras 3 fit, spe=32"])
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = (tmp_path / "r.md").read_text().splitlines()
    assert table[0] == "| samples/s | seeds' MLP, batch 32 |" and table[2].startswith(
        "| jaxnet fit (fit, threefry keys) | "
    )


@pytest.mark.slow
def test_quick_everything(tmp_path):
    run(tmp_path)
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report["workloads"]) == {"mlp", "mlp_b256", "cnn"}
    for name, block in report["workloads"].items():
        check_block(block, [t for t, (_, _, only) in TRAINERS.items() if only is None or name in only])


def test_verdict_names_the_fastest_and_the_best_peers():
    rows = {
        "jaxnet fit": {"samples_per_s": 300.0},
        "keras 3 fit, spe=32": {"samples_per_s": 100.0},
        "flax nnx, scan": {"samples_per_s": 150.0},
        "pytorch, fused adam": {"samples_per_s": 60.0},
        "pytorch, compiled": {"skipped": "torch is not installed"},
    }
    assert _verdict(rows) == (
        "fastest: jaxnet fit, 2.00x the next (flax nnx, scan); jaxnet fit / the best JAX peer "
        "(flax nnx, scan) = 2.00x; jaxnet fit / the best PyTorch (pytorch, fused adam) = 5.00x"
    )


def test_gemm_shapes_are_the_steps_products():
    mlp = gemm_shapes(WORKLOADS["mlp"])
    assert [s[1:] for s in mlp] == [(32, 784, 128), (784, 32, 128), (32, 128, 10), (128, 32, 10), (32, 10, 128)]
    cnn = {what: (m, k, n) for what, m, k, n in gemm_shapes(WORKLOADS["cnn"])}
    assert cnn["conv2d forward"] == (64 * 30 * 30, 27, 32)  # im2col: every output pixel a row, 3x3x3 patch
    assert cnn["conv2d_1 input grad"] == (64 * 13 * 13, 64, 288)
    assert cnn["dense forward"] == (64, 1024, 64)


def test_limit_takes_the_fastest_library_per_shape():
    shape = lambda seconds, gflops: {"what": "p", "m": 10, "k": 10, "n": 10, "seconds": seconds, "gflops": gflops}
    got = limit(
        [
            {"library": "a", "shapes": [shape(2.0, 1.0), shape(1.0, 2.0)]},
            {"library": "b", "shapes": [shape(1.0, 2.0), shape(3.0, 0.7)]},
            {"library": "c", "skipped": "x"},
        ]
    )
    assert got["step_s"] == 2.0 and [s["best"] for s in got["shapes"]] == ["b", "a"]
    assert got["gflops"] == 2 * 2000 / 2.0 / 1e9


def test_markdown_table_has_a_row_per_trainer_and_the_limit():
    report = {
        "workloads": {
            "mlp": {
                "batch_size": 32,
                "gemm_limit": {"step_s": 1e-4},
                "trainers": {
                    "jaxnet fit": {"samples_per_s": 3000.0, "config": "fit"},
                    "keras 3 fit, spe=32": {"samples_per_s": 1500.0, "config": "model.fit, steps_per_execution=32"},
                },
            }
        }
    }
    assert format_markdown(report).splitlines() == [
        "| samples/s | seeds' MLP, batch 32 |",
        "| --- | ---: |",
        "| jaxnet fit (fit) | 3,000 |",
        "| keras 3 fit, spe=32 (model.fit, steps_per_execution=32) | 1,500 |",
        "| GEMM limit (the step's matrix multiplies only, fastest library per shape) | 320,000 |",
        "| jaxnet fit / best peer | 2.00x (keras 3 fit, spe=32) |",
    ]


@pytest.mark.parametrize(
    "args", [["--repeats", "-1"], ["--repeats", "0"], ["--json", "."], ["--plot", "README.md/x.png"]]
)
def test_bad_arguments_exit_2_before_timing(args, capsys):
    with pytest.raises(SystemExit) as stopped:
        train_speed.main(["--quick", *args])
    assert stopped.value.code == 2
    assert "error:" in capsys.readouterr().err
