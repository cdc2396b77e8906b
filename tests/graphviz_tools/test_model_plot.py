import shutil

import pytest

from graphviz_tools import plot_model, render
from jaxnet import zoo


def test_cnn_plot_has_names_shapes_and_params():
    source = plot_model(zoo.cnn(), (32, 32, 3), show_activations=True).source
    for text in ["conv2d (Conv2D)", "(None, 30, 30, 32)", "896", "18,496", "65,600", "dense_1 (Dense)",
                 "activation: relu", "input_0 (InputLayer)", "rankdir=TB"]:
        assert text in source, text


def test_options():
    source = plot_model(zoo.mlp(), (28, 28), show_shapes=False, show_layer_names=False, rankdir="LR").source
    assert "Output shape" not in source and "dense (Dense)" not in source and "Dense" in source
    assert "rankdir=LR" in source


def test_wide_and_deep_forks_and_joins():
    source = plot_model(zoo.wide_and_deep(), (8,)).source
    assert "wide (Identity)" in source and "concatenate (Concatenate)" in source
    # input->flatten, flatten->wide, flatten->dense, dense->dense_1, wide->concat, dense_1->concat, concat->dense
    assert source.count("->") == 7


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_renders_png(tmp_path):
    data = render(plot_model(zoo.cnn(), (32, 32, 3)), tmp_path / "cnn.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
