import subprocess
import sys

import pytest


def run(*args):
    return subprocess.run([sys.executable, "-m", "graphviz_tools", *args], capture_output=True, text=True)


def test_help_lists_every_command():
    out = run("--help").stdout
    for name in ["apple", "apple_orange", "sigmoid", "affine", "softmax_loss", "two_layer", "jaxpr", "model"]:
        assert name in out


def test_dot_to_stdout():
    result = run("apple_orange", "--format", "dot")
    assert result.returncode == 0 and result.stdout.startswith("digraph") and "price = 715" in result.stdout


@pytest.mark.needs_dot
def test_example_svg_and_png_files(tmp_path):
    for fmt in ("svg", "png"):
        result = run("apple", "--format", fmt, "--out", str(tmp_path))
        assert result.returncode == 0, result.stderr
        assert (tmp_path / f"apple.{fmt}").stat().st_size > 1000
        assert f"apple.{fmt}" in result.stdout


@pytest.mark.needs_dot
def test_jaxpr_and_grad_of_a_module_function(tmp_path):
    result = run(
        "jaxpr",
        "jaxnet.losses:mean_squared_error",
        "--shapes",
        "4,3",
        "4,3",
        "--grad",
        "--format",
        "svg",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    svg = (tmp_path / "mean_squared_error_grad.svg").read_text()
    assert ">y_pred<" in svg and 'fill="#d62728"' in svg  # the input, and gradients drawn in red


@pytest.mark.needs_dot
def test_backprop_of_a_book_example_and_a_module_function(tmp_path):
    assert run("backprop", "apple_orange", "--format", "svg", "--out", str(tmp_path)).returncode == 0
    assert ">165<" in (tmp_path / "apple_orange_backprop.svg").read_text()  # dOrange_num
    result = run(
        "backprop",
        "jaxnet.losses:mean_squared_error",
        "--shapes",
        "4,3",
        "4,3",
        "--format",
        "dot",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    result = run("backprop", "nope", "--format", "dot")
    assert result.returncode == 2 and "apple_orange" in result.stderr


def test_jaxpr_errors_are_messages_not_tracebacks():
    result = run("jaxpr", "jaxnet.activations:softmax", "--shapes", "3", "--grad", "--format", "dot")
    assert result.returncode == 2 and "seed=" in result.stderr and "Traceback" not in result.stderr
    result = run("jaxpr", "jaxnet.activations:nope", "--format", "dot")
    assert result.returncode != 0 and "cannot load" in result.stderr
    result = run("jaxpr", "jaxnet.activations:relu", "--shapes", "3,x", "--format", "dot")
    assert result.returncode == 2 and "comma-separated integers" in result.stderr


def test_model_plot_dot():
    result = run("model", "--model", "cnn", "--input-shape", "32,32,3", "--format", "dot")
    assert result.returncode == 0 and "18,496" in result.stdout


def test_usage_errors_exit_2_with_one_line():
    for bad in ("abc", "{}{}", "{:d}"):
        result = run("apple", "--number-format", bad, "--format", "dot")
        assert result.returncode == 2 and "number format" in result.stderr, (bad, result.stderr)
        assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    result = run("jaxpr", "jaxnet.activations", "--format", "dot")
    assert result.returncode == 2 and "MODULE:FUNCTION" in result.stderr
    result = run("jaxpr", "jaxnet.activations:nope", "--format", "dot")
    assert result.returncode == 2 and "cannot load" in result.stderr
    result = run("apple", "--rankdir", "XX", "--format", "dot")
    assert result.returncode == 2
