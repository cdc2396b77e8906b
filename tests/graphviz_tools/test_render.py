import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from graphviz_tools import examples, render, to_digraph
from graphviz_tools.render import GraphvizNotInstalled


@pytest.mark.needs_dot
def test_svg_is_valid_xml_with_the_numbers(tmp_path):
    path = render(examples.apple_orange(), tmp_path / "apple_orange.svg")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    texts = {t.text for t in root.iter() if t.tag.endswith("text")}
    assert {"715", "650", "2.2", "110", "3.3", "165", "×", "+"} <= {s.split(" = ")[-1] for s in texts if s}


@pytest.mark.needs_dot
@pytest.mark.parametrize("name", sorted(examples.EXAMPLES))
def test_png_signature_and_size(name, tmp_path):
    path = render(examples.EXAMPLES[name](), tmp_path / f"{name}.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 200 and height > 50
    assert os.listdir(tmp_path) == [f"{name}.png"]  # no temporary file left behind


@pytest.mark.needs_dot
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


@pytest.mark.parametrize("target", ["folder", "file"])
def test_an_unwritable_target_is_refused_before_drawing(tmp_path, monkeypatch, target):
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / "apple.svg"
    if target == "file":
        path.write_text("kept")
        path.chmod(0o444)
    else:
        folder.chmod(0o555)
    module = sys.modules[render.__module__]  # graphviz_tools.render, the module (the package exports the function)
    monkeypatch.setattr(module, "to_digraph", lambda *a, **k: pytest.fail("drew before checking"))
    try:
        with pytest.raises(PermissionError, match=f"cannot write a graph to .*the {target} .*read-only"):
            render(examples.apple(), path)
    finally:
        folder.chmod(0o755)
    assert sorted(p.name for p in folder.iterdir()) == (["apple.svg"] if target == "file" else [])


def test_digraph_shows_inline_in_jupyter():
    assert hasattr(to_digraph(examples.apple()), "_repr_mimebundle_")


def test_cli_without_dot_says_how_to_install(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # no dot on this PATH
    result = subprocess.run(
        [sys.executable, "-m", "graphviz_tools", "apple", "--format", "png", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
    )
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


@pytest.mark.parametrize("draw", ["to_digraph", "jaxpr_graph", "backprop_graph", "plot_model"])
def test_rankdir_is_checked_everywhere(draw):
    import jax.numpy as jnp

    import graphviz_tools
    from jaxnet import zoo

    calls = {
        "to_digraph": lambda: to_digraph(examples.apple(), rankdir="XX"),
        "jaxpr_graph": lambda: graphviz_tools.jaxpr_graph(jnp.sin, rankdir="XX")(1.0),
        "backprop_graph": lambda: graphviz_tools.backprop_graph(jnp.sin, rankdir="XX")(1.0),
        "plot_model": lambda: graphviz_tools.plot_model(zoo.mlp(), (28, 28), rankdir="XX"),
    }
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


@pytest.mark.needs_dot
def test_node_budget(tmp_path):
    from graphviz_tools.render import count_nodes

    source = to_digraph(examples.apple()).source
    assert count_nodes(source) == 6  # apple, apple_num, ×, tax, ×, the output label
    with pytest.raises(ValueError, match="max_nodes=5"):
        render(examples.apple(), tmp_path / "a.svg", max_nodes=5)
    assert not (tmp_path / "a.svg").exists()
    render(examples.apple(), tmp_path / "a.svg", max_nodes=6)
    render(examples.apple(), tmp_path / "a.dot", max_nodes=1)  # DOT source needs no layout: never refused


@pytest.mark.needs_dot
def test_dot_timeout(tmp_path):
    import graphviz

    big = graphviz.Digraph()
    for i in range(1500):
        big.edge(f"n{i}", f"n{(i * 7 + 1) % 1500}")
        big.edge(f"n{i}", f"n{(i * 13 + 5) % 1500}")
    with pytest.raises(TimeoutError, match="timeout"):
        render(big, tmp_path / "big.svg", timeout=0.01)


@pytest.mark.needs_dot
def test_var_displays_inline_as_svg():
    svg = examples.apple()._repr_svg_()
    texts = ["".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert "apple" in texts and "price = 220" in texts and "2.2" in texts


def test_every_node_has_a_tooltip_and_gradient_edges_are_numbered_backward():
    import re

    root = examples.two_layer()
    source = to_digraph(root).source
    nodes = [n for n in re.findall(r"^\t(\w+) \[(.*)\]$", source, re.M) if n[0] not in ("node", "edge")]
    assert nodes and all("tooltip=" in attrs for _, attrs in nodes)
    edges = {(a, b): int(k) for a, b, k in re.findall(r'^\t(\w+) -> (\w+) \[.*class="grad-step-(\d+)"', source, re.M)}
    # one step per edge that carries a gradient (none from a constant), plus the edge into the output
    order = root.topological_order()
    carrying = 1 + sum(not p.constant for v in order for p in v.parents)
    assert sorted(edges.values()) == list(range(carrying)) and carrying >= 11
    assert [edge for edge, k in edges.items() if k == 0] == [(f"v{len(order) - 1}", "output")]
    # backward order: an edge's cotangent comes after the gradient reaching its head from the output side
    for (tail, head), k in edges.items():
        if head != "output":
            assert k > min(j for (t, _), j in edges.items() if t == head), (tail, head)
    assert "grad-step" not in to_digraph(examples.two_layer(), show_grad=False).source


def test_tooltips_say_equation_source_line_shape_value_and_gradient():
    import inspect
    import re

    source = to_digraph(examples.apple()).source
    tips = dict(re.findall(r'^\t(\w+) \[.*tooltip="([^"]*)"', source, re.M))
    lines, first = inspect.getsourcelines(examples.apple)
    site = f"examples.py:{first + next(i for i, line in enumerate(lines) if 'apple_price = a * n' in line)}"
    assert tips["v2"] == f"apple_price = apple × apple_num\\n{site}\\nshape () float64\\nvalue 200\\ngrad 1.1"
    assert tips["v0"] == "apple (input)\\nshape () float64\\nvalue 100\\ngrad 2.2"


def test_summaries_of_arrays():
    import numpy as np

    from graphviz_tools.render import summarize

    assert summarize(np.array([1.0, 2.0, 3.0])) == "[1, 2, 3]"
    values = np.arange(12.0).reshape(3, 4)
    assert summarize(values) == f"min 0, mean 5.5, max 11, norm {np.sqrt((values**2).sum()):.4g}"


@pytest.mark.needs_dot
def test_html_by_extension(tmp_path):
    path = render(examples.apple(), tmp_path / "apple.html")
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text and "apple_price = apple × apple_num" in text
    assert os.listdir(tmp_path) == ["apple.html"]
