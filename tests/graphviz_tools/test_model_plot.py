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


def _svg_texts(graph, tmp_path):
    """The text a person sees: one string per <text> element of the SVG drawn by real dot."""
    import xml.etree.ElementTree as ET
    root = ET.parse(render(graph, tmp_path / "model.svg")).getroot()
    return ["".join(t.itertext()).strip() for t in root.iter("{http://www.w3.org/2000/svg}text")]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_svg_shows_one_row_per_fact(tmp_path):
    texts = _svg_texts(plot_model(zoo.cnn(), (32, 32, 3), show_activations=True), tmp_path)
    assert "conv2d (Conv2D)" in texts and "activation: relu" in texts and "dense (Dense)" in texts
    assert not any("Dense)activation" in t or "Conv2D)activation" in t for t in texts)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_wide_and_deep_names_the_nested_model(tmp_path):
    texts = _svg_texts(plot_model(zoo.wide_and_deep(), (8,)), tmp_path)
    titles = [t for t in texts if t.endswith(")") and "(" in t and not t.startswith("(")]
    # every layer box has a distinct title; the deep path's layers carry its name, and it is labelled
    assert len(titles) == len(set(titles)), titles
    assert "deep (Sequential)" in texts
    assert "deep/dense (Dense)" in texts and "deep/dense_1 (Dense)" in texts and "dense (Dense)" in texts
