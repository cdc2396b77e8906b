"""backprop_graph: the book's picture from JAX's numbers, readable at model size, with the viewer's attributes."""

import math
import re
import shutil
import time
import xml.etree.ElementTree as ET

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from graphviz_tools import backprop_graph, examples_jax, render
from graphviz_tools.backprop_graph import draw_trace, layer_norms
from graphviz_tools.backprop_trace import trace_backprop

PX_PER_PT = 96 / 72


def svg_size_px(path) -> tuple[float, float]:
    root = ET.parse(path).getroot()
    return tuple(float(root.get(k).removesuffix("pt")) * PX_PER_PT for k in ("width", "height"))


def attrs(line: str) -> str:
    return line.partition("[")[2]


def test_fan_out_edges_carry_their_own_cotangent_and_the_node_the_total():
    trace = trace_backprop(lambda x: jnp.log(x * x + 1))(2.0)
    into_mul = [e for e in trace.edges if trace.nodes[e.src].label == "x"]
    assert [float(e.cotangent) for e in into_mul] == pytest.approx([0.4, 0.4])  # d/dx log(x²+1) = 2x/(x²+1), halved
    x = next(n for n in trace.nodes.values() if n.label == "x")
    assert [float(total) for _, total in x.totals] == pytest.approx([0.8])
    assert "x\n(grad 0.8)" in draw_trace(trace).source.replace("\\n", "\n")


def test_broadcast_add_sums_the_gradient_back_to_the_operand_shape():
    b = np.array([0.1, 0.2, 0.3])
    trace = trace_backprop(lambda x, b: jnp.sum((x + b) ** 2))(np.ones((4, 3)), b)
    edge = next(e for e in trace.edges if trace.nodes[e.src].label == "b")
    np.testing.assert_allclose(edge.cotangent, (2 * (1 + b)) * 4, rtol=1e-6)  # NumPy: sum over the 4 rows


def test_local_derivatives_are_the_books():
    source = examples_jax.draw("sigmoid", local_derivatives=True).source
    for text in ["×exp(x)", "×(−y²)", "×1 ="]:  # exp, the reciprocal "/" node, the +1 node
        assert text in source, text
    source = examples_jax.draw("apple", local_derivatives=True).source
    for text in ["×2 = 2.2", "×100 = 110", "×200 = 200", "×1.1 = 1.1"]:  # the swapped factors of the book
        assert text in source, text


@pytest.fixture(scope="module")
def mlp():
    fun, args = examples_jax.mlp_loss()
    return fun, args, trace_backprop(fun, argnums=0)(*args)


def test_mlp_gradients_are_jax_grads_and_the_picture_is_small(mlp):
    fun, args, trace = mlp
    assert len(trace.nodes) <= 40
    grads = jax.jit(jax.grad(fun))(*args)
    for e in trace.edges:
        label = trace.nodes[e.src].label
        if label.startswith("params["):
            expected = eval(label, {"params": grads})  # noqa: S307 - the label is the pytree path
            np.testing.assert_allclose(e.cotangent, expected, rtol=1e-5, atol=1e-7)
    assert not any(n.id.startswith("lit") for n in trace.nodes.values())  # literals inside folded nodes are hidden
    labels = {n.label for n in trace.nodes.values()}
    assert {
        "categorical_crossentropy",
        "softmax",
        "relu",
        "bernoulli",
        "where",
    } <= labels  # one Dropout: its key is not split
    norms = {name: w for name, w, _ in layer_norms(trace)}
    dense = grads["dense"]
    assert norms["dense"] == pytest.approx(math.hypot(np.linalg.norm(dense["w"]), np.linalg.norm(dense["b"])), rel=1e-5)


def test_viewer_contract_on_the_mlp(mlp):
    _, _, trace = mlp
    source = draw_trace(trace).source
    lines = [line.strip() for line in source.splitlines()]
    nodes = [line for line in lines if re.match(r"^\w+ \[", line) and not line.startswith(("graph", "node", "edge"))]
    assert nodes and all("tooltip=" in line for line in nodes)
    assert any("jaxnet/layers.py:" in line for line in nodes)  # source file:line in the tooltips
    edges = [line for line in lines if " -> " in line]
    assert all("label=" in attrs(line) for line in edges)  # every edge labelled
    steps = sorted(int(k) for k in re.findall(r'class="grad-step-(\d+)"', source))
    assert steps[0] == 0 and len(set(steps)) > 5
    assert re.search(r'subgraph cluster_dense_1 \{\s*[^\n]*label="dense_1 \(Dense\)"', source) is not None


@pytest.mark.needs_dot
def test_mlp_picture_fits_1600_by_1200(mlp, tmp_path):
    _, _, trace = mlp
    width, height = svg_size_px(render(draw_trace(trace), tmp_path / "mlp.svg"))
    assert width <= 1600 and height <= 1200, (width, height)


def test_cnn_picture_is_small_fits_and_is_the_same_for_xla_and_im2col(tmp_path):
    pictures = []
    for implementation in ("xla", "im2col"):
        fun, args = examples_jax.cnn_loss(implementation)
        trace = trace_backprop(fun, argnums=0)(*args)
        assert len(trace.nodes) <= 60
        source = draw_trace(trace).source
        pictures.append(re.sub(r'tooltip="[^"]*"', "", source))
        if shutil.which("dot") and implementation == "xla":
            width, height = svg_size_px(render(draw_trace(trace), tmp_path / "cnn.svg"))
            assert width <= 1600 and height <= 1200, (width, height)
    assert pictures[0] == pictures[1]  # no backend-dependent op in the picture


def test_long_unrolled_function_is_refused_quickly_naming_the_option():
    def unrolled(x):
        for _ in range(5000):
            x = jnp.sin(x) * 1.01
        return x.sum()

    start = time.perf_counter()
    with pytest.raises(ValueError, match="max_equations=.*|lax.scan"):
        backprop_graph(unrolled)(jnp.ones(3))
    assert time.perf_counter() - start < 10


def test_scan_loop_of_10000_steps_draws_as_one_node():
    def looped(x):
        return jax.lax.fori_loop(0, 10_000, lambda i, v: jnp.sin(v) * 1.01, x).sum()

    trace = trace_backprop(looped)(jnp.ones(3))
    assert sum(n.unit is not None for n in trace.nodes.values()) <= 3
    np.testing.assert_allclose(trace.edges[-1].cotangent if trace.edges[-1].dst != "out0" else 0, 0, atol=1)
    x_edge = next(e for e in trace.edges if trace.nodes[e.src].label == "x")
    np.testing.assert_allclose(x_edge.cotangent, jax.grad(looped)(jnp.ones(3)), rtol=1e-5)


def test_node_budget_collapses_scopes_then_refuses():
    fun, args = examples_jax.mlp_loss()
    collapsed = trace_backprop(fun, argnums=0, max_nodes=15)(*args)
    assert any(n.kind == "scope" for n in collapsed.nodes.values()) and len(collapsed.nodes) <= 15
    with pytest.raises(ValueError, match="max_nodes="):
        trace_backprop(fun, argnums=0, max_nodes=5)(*args)


def test_first_nan_is_marked_and_edges_widen_with_the_gradient():
    def f(x):
        return jnp.sum(jnp.sqrt(x - 2.0) * 3.0)

    trace = trace_backprop(f)(np.array([1.0, 3.0]))
    marked = [n for n in trace.nodes.values() if n.nonfinite]
    assert [(n.label, n.nonfinite) for n in marked] == [("√", "forward and backward")]  # x - 2 is still finite
    source = draw_trace(trace).source
    assert "NaN/Inf first here" in source
    widths = [float(w) for w in re.findall(r"penwidth=([\d.]+)", examples_jax.draw("apple").source)]
    assert max(widths) == pytest.approx(4.0) and min(widths) < 2  # dTax 200 against dPrice 1


def test_bad_options_are_refused_at_once():
    with pytest.raises(ValueError, match="edge_width"):
        backprop_graph(jnp.sin, edge_width="wide")
    with pytest.raises(ValueError, match="summary"):
        backprop_graph(jnp.sin, summary="mean")


def test_identical_consecutive_layers_fold_into_one_node():
    from jaxnet import Dense, Sequential

    model = Sequential([Dense(8, activation="tanh") for _ in range(4)] + [Dense(1)])
    params = jax.jit(model.init, static_argnums=1)(jax.random.key(0), (8,))
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(2, 8)

    def loss(x):
        return jnp.sum(model.apply(params, x))

    trace = trace_backprop(loss, max_depth=0)(x)
    repeats = [n for n in trace.nodes.values() if n.kind == "repeat"]
    assert [n.label for n in repeats] == ["dense (Dense) … dense_3 (Dense)  ×4"]
    x_edge = next(e for e in trace.edges if trace.nodes[e.src].label == "x")
    np.testing.assert_allclose(x_edge.cotangent, jax.grad(loss)(x), rtol=1e-4, atol=1e-6)
