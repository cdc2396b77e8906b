"""The Model Explorer export: the JSON graph format its built-in JSON adapter reads, checked by structure, by
numbers computed with NumPy, and (when the `explorer` extra is installed) by Model Explorer's own dataclasses."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from graphviz_tools import examples
from graphviz_tools.model_explorer import INLINE, export_model_explorer
from jaxnet import losses, zoo


def _equations(jaxpr) -> int:
    """Equations of a jaxpr with the bodies of plain calls (jit) counted in place of the call."""
    count = 0
    for eqn in jaxpr.eqns:
        body = eqn.params.get("jaxpr") if eqn.primitive.name in INLINE else None
        count += _equations(getattr(body, "jaxpr", body)) if body is not None else 1
    return count


@pytest.fixture(scope="module")
def mlp_export(tmp_path_factory):
    model = zoo.mlp()
    params = model.init(jax.random.key(0), (28, 28))
    x = jax.random.uniform(jax.random.key(1), (2, 28, 28))
    y = jnp.array([3, 7])
    loss = lambda p, x, y: losses.sparse_categorical_crossentropy(model.apply(p, x), y)  # noqa: E731
    grad = jax.grad(loss)
    path = export_model_explorer(grad, tmp_path_factory.mktemp("me") / "mlp_grad.json", params, x, y, values=True)
    return json.loads(path.read_text()), jax.make_jaxpr(grad)(params, x, y), params, x


def test_graph_structure(mlp_export):
    data, closed, _, _ = mlp_export
    assert data["label"] == "<lambda>" and len(data["graphs"]) == 1
    nodes = data["graphs"][0]["nodes"]
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids))
    for node in nodes:  # every edge starts at a node of the graph, at one of its outputs
        for edge in node["incomingEdges"]:
            source = nodes[ids.index(edge["sourceNodeId"])]
            assert int(edge["sourceNodeOutputId"]) < len(source["outputsMetadata"])
    equations = [n for n in nodes if n["id"].startswith("eqn")]
    assert len(equations) == _equations(closed.jaxpr)
    inputs = [n["label"] for n in nodes if n["id"].startswith("input")]
    assert inputs == ["p['dense']['b']", "p['dense']['w']", "p['dense_1']['b']", "p['dense_1']['w']", "x", "y"]
    assert {"flatten", "dense", "dense_1", "dense (backward)", "dense_1 (backward)"} <= {n["namespace"] for n in nodes}
    assert all(any(a["key"] == "source" and ".py:" in a["value"] for a in n["attrs"]) for n in equations)


def test_shapes_and_values_match_numpy(mlp_export):
    data, _, params, x = mlp_export
    nodes = data["graphs"][0]["nodes"]
    matmul = next(n for n in nodes if n["label"] == "dot_general" and n["namespace"] == "dense")
    attrs = {a["key"]: a["value"] for a in matmul["outputsMetadata"][0]["attrs"]}
    assert attrs["tensor_shape"] == "float32[2,128]"
    h = np.asarray(x).reshape(2, 784) @ np.asarray(params["dense"]["w"])
    numbers = [float(v.split()[-1]) for v in attrs["value"].split(", ")]
    assert numbers == pytest.approx([h.min(), h.mean(), h.max(), np.linalg.norm(h)], rel=1e-3, abs=1e-4)


def test_loads_with_model_explorers_own_dataclasses(mlp_export):
    dacite = pytest.importorskip("dacite", reason="Model Explorer is not installed: pip install -e '.[explorer]'")
    graph_builder = pytest.importorskip(
        "model_explorer.graph_builder", reason="Model Explorer is not installed: pip install -e '.[explorer]'"
    )
    data = mlp_export[0]
    collection = dacite.from_dict(graph_builder.GraphCollection, data, config=dacite.Config(strict=True))
    assert len(collection.graphs[0].nodes) == len(data["graphs"][0]["nodes"])


def test_control_flow_bodies_are_subgraphs(tmp_path):
    def f(x):
        return jax.lax.cond(x.sum() > 0, jnp.sin, jnp.cos, x)

    data = json.loads(export_model_explorer(f, tmp_path / "cond.json", jnp.ones(3)).read_text())
    cond = next(n for g in data["graphs"] for n in g["nodes"] if n["label"] == "cond")
    assert len(cond["subgraphIds"]) == 2
    graphs = {g["id"]: g for g in data["graphs"]}
    labels = [{n["label"] for n in graphs[sub]["nodes"]} for sub in cond["subgraphIds"]]
    assert {"sin", "cos"} <= set().union(*labels)


def test_var_graph(tmp_path):
    data = json.loads(export_model_explorer(examples.apple(), tmp_path / "apple.json").read_text())
    nodes = {n["label"]: n for n in data["graphs"][0]["nodes"] if n["label"] != "×"}
    assert set(nodes) == {"apple", "apple_num", "tax"}
    grads = {label: next(a["value"] for a in n["attrs"] if a["key"] == "grad") for label, n in nodes.items()}
    assert grads == {"apple": "2.2", "apple_num": "110", "tax": "200"}  # the book's dApple, dApple_num, dTax


def test_bad_input_says_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="name it e.g. graph.json"):
        export_model_explorer(examples.apple(), tmp_path / "apple.svg")
    with pytest.raises(ValueError, match="example arguments"):
        export_model_explorer(jnp.sin, tmp_path / "sin.json")
    assert list(tmp_path.iterdir()) == []
