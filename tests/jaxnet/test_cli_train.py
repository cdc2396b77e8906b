import json
import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "jaxnet", *args], capture_output=True, text=True)


def test_help():
    out = run("--help").stdout
    assert "train" in out and "tour" in out
    out = run("train", "--help").stdout
    for flag in ["--model", "--dataset", "--epochs", "--batch-size", "--optimizer", "--lr", "--out"]:
        assert flag in out


def test_train_mlp_on_digits_writes_everything(tmp_path):
    result = run(
        "train",
        "--model",
        "mlp",
        "--dataset",
        "digits",
        "--epochs",
        "3",
        "--batch-size",
        "64",
        "--optimizer",
        "adam",
        "--lr",
        "0.003",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "Total params" in result.stdout and "test: loss" in result.stdout and "Epoch 3/3" in result.stderr
    history = json.loads((tmp_path / "history.json").read_text())
    assert (
        len(history["history"]["loss"]) == 3 and history["test"]["accuracy"] >= 0.85
    )  # a 3-epoch MLP on digits; chance is 0.1
    assert (tmp_path / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "model.npz").stat().st_size > 1000


def test_offline_data_set_error_is_a_message(tmp_path):
    result = run("train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "missing train-images-idx3-ubyte.gz" in result.stderr
    assert "Traceback" not in result.stderr
    result = run("train", "--epochs", "0")
    assert result.returncode == 2 and "argument --epochs: must be positive, got 0" in result.stderr
