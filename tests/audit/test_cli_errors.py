"""Audit, command-line family: every usage error is one line on stderr and exit status 2, found before any
training or timing; nothing is half-written."""

import gzip
import os
import struct

import numpy as np
import pytest

from benchmarks import grad_speed, train_speed
from graphviz_tools import cli as graph_cli
from jaxnet import cli as jaxnet_cli


def _exit_code(main, argv):
    """``main(argv)``'s exit status, whether it returns it or argparse raises SystemExit."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


def _usage_error(main, argv, capsys, match):
    code = _exit_code(main, argv)
    err = capsys.readouterr().err
    assert code == 2, err
    last = err.strip().splitlines()[-1]
    assert "error:" in last and match in last, err
    assert "Traceback" not in err
    return err


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if a command gets as far as training (errors must come first)."""
    from jaxnet.keras import _model

    def refuse(*args, **kwargs):
        raise AssertionError("training started before the usage error was reported")

    monkeypatch.setattr(_model.train, "fit", refuse)


def _read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o555)
    return folder


TRAIN_CASES = [
    (["--lr", "-1"], "argument --lr: must be positive, got -1"),
    (["--lr", "0"], "must be positive"),
    (["--lr", "abc"], "expected a number"),
    (["--lr", "nan"], "must be positive"),
    (["--epochs", "2.5"], "expected an integer"),
    (["--epochs", "0"], "must be positive"),
    (["--batch-size", "-3"], "must be positive"),
    (["--patience", "0"], "must be positive"),
    (["--validation-split", "1.0"], "must be in [0, 1), got 1.0"),
    (["--validation-split", "-0.1"], "must be in [0, 1)"),
    (["--validation-split", "0.0001"], "leaves no validation example"),
    (["--validation-split", "0", "--patience", "3"], "needs --validation-split > 0"),
    (["--dataset", "digits", "--data-dir", "0.3"], "'digits' ships with scikit-learn"),
    (["--dataset", "mnist", "--data-dir", "no/such/dir"], "no such folder"),
    (["--dataset", "diabetes", "--model", "mlp"], "is a regression set"),
    (["--dataset", "diabetes", "--model", "two_layer"], "is a regression set"),
    (["--dataset", "digits", "--model", "regression_mlp"], "has a linear output"),
    (["--dataset", "iris", "--model", "wide_and_deep"], "has a linear output"),
    (["--dataset", "iris", "--model", "cnn"], "needs image data"),
]


@pytest.mark.parametrize("argv,match", TRAIN_CASES, ids=[" ".join(a) for a, _ in TRAIN_CASES])
def test_train_usage_errors(argv, match, capsys, tmp_path, no_training):
    _usage_error(jaxnet_cli.main, ["train", "--out", str(tmp_path / "o"), "--epochs", "1", *argv], capsys, match)
    assert not (tmp_path / "o").exists()


def test_validation_split_is_refused_before_the_summary(capsys, tmp_path, no_training):
    err = _usage_error(
        jaxnet_cli.main, ["train", "--validation-split", "1.0", "--out", str(tmp_path)], capsys, "validation-split"
    )
    assert "Total params" not in capsys.readouterr().out + err


@pytest.mark.parametrize(
    "blocker", ["file as out", "folder as model.npz", "read-only model.npz", "read-only folder", "file above out"]
)
def test_train_output_location_is_checked_before_training(blocker, capsys, tmp_path, no_training):
    out = tmp_path / "out"
    if blocker == "file as out":
        out.write_text("x")
    elif blocker == "folder as model.npz":
        (out / "model.npz").mkdir(parents=True)
    elif blocker == "read-only model.npz":
        out.mkdir()
        (out / "model.npz").write_text("old")
        os.chmod(out / "model.npz", 0o444)
    elif blocker == "read-only folder":
        out = _read_only_folder(tmp_path) / "out"
    else:
        (tmp_path / "f").write_text("x")
        out = tmp_path / "f" / "out"
    _usage_error(jaxnet_cli.main, ["train", "--epochs", "1", "--out", str(out)], capsys, "--out")


def _idx(path, payload):
    with gzip.open(path, "wb") as f:
        f.write(payload)


@pytest.mark.parametrize("corruption", ["bad magic", "short header", "truncated data", "huge shape", "not gzip"])
def test_corrupt_idx_files_are_one_line(corruption, capsys, tmp_path, no_training):
    from jaxnet.datasets import MNIST_FILES

    good = b"\x00\x00\x08\x03" + struct.pack(">3I", 2, 28, 28) + bytes(2 * 28 * 28)
    for name in MNIST_FILES:
        _idx(tmp_path / name, good if "images" in name else b"\x00\x00\x08\x01" + struct.pack(">I", 2) + bytes(2))
    payload = {
        "bad magic": b"\x00\x01\x08\x03" + good[4:],
        "short header": good[:7],
        "truncated data": good[:-100],
        "huge shape": b"\x00\x00\x08\x03" + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1),
    }
    if corruption == "not gzip":
        (tmp_path / MNIST_FILES[0]).write_bytes(b"\x1f\x8b\x08\x00garbage" * 10)
    else:
        _idx(tmp_path / MNIST_FILES[0], payload[corruption])
    _usage_error(
        jaxnet_cli.main,
        ["train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")],
        capsys,
        MNIST_FILES[0],
    )


GRAPH_CASES = [
    (["model", "--num-outputs", "0"], "must be at least 1"),
    (["model", "--num-outputs", "-5"], "must be at least 1"),
    (["jaxpr", "jaxnet.losses:EPSILON", "--format", "dot"], "is a float, not a function"),
    (["jaxpr", "jaxnet.losses:REGISTRY", "--format", "dot"], "is a dict, not a function"),
    (["jaxpr", "jax.numpy:matmul", "--shapes", "3,4", "5,6", "--format", "dot"], "cannot be traced with --shapes"),
    (["jaxpr", "jax.numpy:matmul", "--shapes", "3", "--format", "dot"], "cannot be traced with --shapes"),
    (["jaxpr", "jaxnet.activations:relu", "--shapes", "3", "--grad", "--format", "dot"], ""),
    (["jaxpr", "no.such.module:f", "--format", "dot"], "cannot load"),
    (["jaxpr", "jaxnet.activations:relu", "--max-depth", "-1"], "must be at least 0"),
    (["apple", "--number-format", "{}{}"], ""),
    (["apple", "--number-format", "abc"], ""),
]


@pytest.mark.parametrize("argv,match", GRAPH_CASES, ids=[" ".join(a) for a, _ in GRAPH_CASES])
def test_graphviz_tools_usage_errors(argv, match, capsys):
    _usage_error(graph_cli.main, argv, capsys, match)


@pytest.mark.parametrize("target", ["file", "read-only folder"])
def test_graphviz_tools_output_folder(target, capsys, tmp_path):
    out = tmp_path / "f"
    if target == "file":
        out.write_text("x")
    else:
        out = _read_only_folder(tmp_path)
    _usage_error(graph_cli.main, ["apple", "--format", "dot", "--out", str(out)], capsys, str(out))
    assert os.listdir(tmp_path) == [out.name]


@pytest.mark.parametrize("broken", ["exits 1", "not executable"])
def test_broken_dot_is_one_line(broken, capsys, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'dot: broken install' >&2\nexit 1\n")
    os.chmod(fake, 0o755 if broken == "exits 1" else 0o644)
    monkeypatch.setenv("PATH", str(fake.parent))
    monkeypatch.setattr("shutil.which", lambda name, *a, **k: str(fake) if name == "dot" else None)
    code = _exit_code(graph_cli.main, ["apple", "--format", "svg", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1 and "dot" in err and "Traceback" not in err
    assert not (tmp_path / "o" / "apple.svg").exists()


@pytest.mark.parametrize("module", [grad_speed, train_speed], ids=["grad_speed", "train_speed"])
@pytest.mark.parametrize(
    "argv",
    [
        ["--repeats", "-1"],
        ["--repeats", "0"],
        ["--json", "{dir}"],
        ["--json", "{ro}/r.json"],
        ["--plot", "{file}/x.png"],
    ],
)
def test_benchmark_arguments_checked_before_timing(module, argv, capsys, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    ro = _read_only_folder(tmp_path)
    argv = [a.format(dir=tmp_path, file=tmp_path / "file", ro=ro) for a in argv]
    monkeypatch.setattr(module, "run", lambda *a, **k: pytest.fail("the benchmark ran"))
    _usage_error(module.main, ["--quick", *argv], capsys, "")


def test_digits_data_is_untouched_by_a_bad_data_dir_value(capsys, tmp_path, no_training):
    # the audit's case: the folder name was passed to load_digits as test_split
    _usage_error(
        jaxnet_cli.main,
        ["train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")],
        capsys,
        "ships with scikit-learn",
    )
    assert np.asarray(os.listdir(tmp_path)).size == 0
