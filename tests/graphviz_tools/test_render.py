import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from graphviz_tools import examples, render, to_digraph
from graphviz_tools.render import GraphvizNotInstalled

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


@needs_dot
def test_svg_is_valid_xml_with_the_numbers(tmp_path):
    path = render(examples.apple_orange(), tmp_path / "apple_orange.svg")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    texts = {t.text for t in root.iter() if t.tag.endswith("text")}
    assert {"715", "650", "2.2", "110", "3.3", "165", "×", "+"} <= {s.split(" = ")[-1] for s in texts if s}


@needs_dot
@pytest.mark.parametrize("name", sorted(examples.EXAMPLES))
def test_png_signature_and_size(name, tmp_path):
    path = render(examples.EXAMPLES[name](), tmp_path / f"{name}.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 200 and height > 50
    assert os.listdir(tmp_path) == [f"{name}.png"]  # no temporary file left behind


@needs_dot
def test_pdf(tmp_path):
    assert render(examples.apple(), tmp_path / "apple.pdf").read_bytes()[:5] == b"%PDF-"


def test_dot_source_needs_no_binary(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    path = render(examples.apple(), tmp_path / "apple.dot")
    assert path.read_text().startswith("digraph")
    with pytest.raises(GraphvizNotInstalled, match="apt-get install graphviz"):
        render(examples.apple(), tmp_path / "apple.svg")
    assert not (tmp_path / "apple.svg").exists()


def test_options_direction_format_and_hidden_gradients():
    source = to_digraph(examples.apple(), rankdir="TB", number_format="{:.2f}", show_grad=False).source
    assert "rankdir=TB" in source and "220.00" in source and "2.20" not in source
    with pytest.raises(ValueError, match="rankdir"):
        to_digraph(examples.apple(), rankdir="UP")


def test_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf, \.dot"):
        render(examples.apple(), tmp_path / "apple.jpeg")


def test_digraph_shows_inline_in_jupyter():
    assert hasattr(to_digraph(examples.apple()), "_repr_mimebundle_")


def test_cli_without_dot_says_how_to_install(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # no dot on this PATH
    result = subprocess.run([sys.executable, "-m", "graphviz_tools", "apple", "--format", "png", "--out",
                             str(tmp_path)], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "Graphviz's 'dot' program is not installed" in result.stderr and "apt-get install graphviz" in result.stderr
    assert "Traceback" not in result.stderr and not list(tmp_path.glob("*.png"))


def _edge_grads(source):
    import re
    return re.findall(r'<font color="#d62728">([^<]*)</font>', source)


def test_fan_out_edges_carry_their_own_cotangent():
    from graphviz_tools.autograd import Var
    x = Var(2.0, name="x")
    y = (x * x + 1).log()
    y.backward()
    source = to_digraph(y).source
    # x -> × twice with 0.4 each; × -> + 0.2; 1 is a constant; + -> log 0.2; log -> out 1
    assert _edge_grads(source).count("0.4") == 2
    assert "0.8" not in _edge_grads(source)
    assert "x\\n(grad 0.8)" in source
    a = Var(3.0, name="a")
    b = a + a
    b.backward()
    source = to_digraph(b).source
    assert _edge_grads(source) == ["1", "1", "1"]
    assert "a\\n(grad 2)" in source


def test_backward_twice_does_not_compound():
    from graphviz_tools.autograd import Var
    x = Var(2.0)
    y = x * x * x
    y.backward()
    first = float(x.grad)
    y.backward()
    assert float(x.grad) == first == 12.0


def test_drawing_before_backward_has_no_gradients():
    from graphviz_tools.autograd import Var
    x = Var(2.0, name="x")
    y = x * 3
    with pytest.warns(UserWarning, match="backward"):
        source = to_digraph(y).source
    assert _edge_grads(source) == []


def test_log_of_non_positive_raises():
    from graphviz_tools.autograd import Var
    with pytest.raises(ValueError, match="non-positive"):
        Var(-1.0).log()


@pytest.mark.parametrize("draw", ["to_digraph", "jaxpr_graph", "grad_graph", "plot_model"])
def test_rankdir_is_checked_everywhere(draw):
    import jax.numpy as jnp

    import graphviz_tools
    from jaxnet import zoo
    calls = {"to_digraph": lambda: to_digraph(examples.apple(), rankdir="XX"),
             "jaxpr_graph": lambda: graphviz_tools.jaxpr_graph(jnp.sin, rankdir="XX")(1.0),
             "grad_graph": lambda: graphviz_tools.grad_graph(jnp.sin, rankdir="XX")(1.0),
             "plot_model": lambda: graphviz_tools.plot_model(zoo.mlp(), (28, 28), rankdir="XX")}
    with pytest.raises(ValueError, match="TB, LR, BT, RL"):
        calls[draw]()


def test_unknown_collapse_scope_lists_the_known_ones():
    import jax
    import jax.numpy as jnp

    import graphviz_tools

    def f(x):
        with jax.named_scope("layer"):
            return jnp.sin(x) * 2
    assert "box3d" in graphviz_tools.jaxpr_graph(f, collapse=["layer"])(1.0).source
    with pytest.raises(ValueError, match="known scopes are: layer"):
        graphviz_tools.jaxpr_graph(f, collapse=["layr"])(1.0)


@needs_dot
def test_node_budget(tmp_path):
    from graphviz_tools.render import count_nodes
    source = to_digraph(examples.apple()).source
    assert count_nodes(source) == 6  # apple, apple_num, ×, tax, ×, the output label
    with pytest.raises(ValueError, match="max_nodes=5"):
        render(examples.apple(), tmp_path / "a.svg", max_nodes=5)
    assert not (tmp_path / "a.svg").exists()
    render(examples.apple(), tmp_path / "a.svg", max_nodes=6)
    render(examples.apple(), tmp_path / "a.dot", max_nodes=1)  # DOT source needs no layout: never refused


@needs_dot
def test_dot_timeout(tmp_path):
    import graphviz
    big = graphviz.Digraph()
    for i in range(1500):
        big.edge(f"n{i}", f"n{(i * 7 + 1) % 1500}")
        big.edge(f"n{i}", f"n{(i * 13 + 5) % 1500}")
    with pytest.raises(TimeoutError, match="timeout"):
        render(big, tmp_path / "big.svg", timeout=0.01)


@needs_dot
def test_var_displays_inline_as_svg():
    svg = examples.apple()._repr_svg_()
    texts = ["".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert "apple" in texts and "price = 220" in texts and "2.2" in texts
