import xml.etree.ElementTree as ET

import jax
import jax.numpy as jnp
import pytest

from graphviz_tools import backprop_graph, grad_graph, jaxpr_graph, render
from graphviz_tools.jaxpr import scope_segments, sub_jaxprs
from jaxnet import Dense, Sequential


@jax.custom_jvp
def smooth(x):
    return jnp.sin(x)


smooth.defjvp(lambda primals, tangents: (smooth(primals[0]), jnp.cos(primals[0]) * tangents[0]))


@jax.custom_vjp
def clip_gradient(x):
    return x


clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (jnp.clip(g, -1, 1),))


def mixed(x):
    with jax.named_scope("stage1"):
        y = jax.jit(lambda z: z * 2.0)(x)
    y = jax.lax.cond(y.sum() > 0, lambda v: v + 1, lambda v: v - 1, y)
    total, _ = jax.lax.scan(lambda c, xi: (c + xi, None), 0.0, y)
    total = jax.lax.while_loop(lambda c: c < 100, lambda c: c * 2, total)
    return smooth(total) + jax.checkpoint(jnp.exp)(clip_gradient(total) / 100)


def test_nested_jaxprs_are_clusters():
    source = jaxpr_graph(mixed)(jnp.ones(3)).source
    for text in [
        "cluster_",
        "scope stage1",
        "jit: <lambda>",
        "branches[0]",
        "branches[1]",
        "scan",
        "while",
        "custom_jvp_call",
        "custom_vjp_call",
        "remat",
        "sin",
        "exp",
        "f32[3]",
    ]:
        assert text in source, text


def test_values_on_edges_for_small_inputs():
    source = jaxpr_graph(mixed)(jnp.ones(3)).source
    assert "f32[3] = [2, 2, 2]" in source  # x * 2 leaving the jit
    assert "= [2, 2, 2]" not in jaxpr_graph(mixed, values=False)(jnp.ones(3)).source


def test_max_depth_zero_draws_calls_as_single_nodes():
    source = jaxpr_graph(mixed, max_depth=0)(jnp.ones(3)).source
    assert "branches[0]" not in source and "cond" in source


def test_sub_jaxprs_found_generically():
    closed = jax.make_jaxpr(mixed)(jnp.ones(3))
    kinds = {eqn.primitive.name: [label for label, _ in sub_jaxprs(eqn.params)] for eqn in closed.jaxpr.eqns}
    assert kinds["cond"] == ["branches[0]", "branches[1]"]
    assert "jaxpr" in kinds["scan"] and {"cond_jaxpr", "body_jaxpr"} <= set(kinds["while"])


def apple_orange(apple, apple_num, orange, orange_num, tax):
    return (apple * apple_num + orange * orange_num) * tax


def test_grad_graph_is_a_deprecated_name_of_backprop_graph():
    with pytest.warns(DeprecationWarning, match="backprop_graph"):
        old = grad_graph(apple_orange)(100.0, 2.0, 150.0, 3.0, 1.1).source
    assert old == backprop_graph(apple_orange)(100.0, 2.0, 150.0, 3.0, 1.1).source


def test_backprop_graph_needs_a_seed_for_a_non_scalar_output():
    with pytest.raises(ValueError, match="seed="):
        backprop_graph(jnp.sin)(jnp.ones(3))


def test_model_layers_become_clusters_and_collapse():
    model = Sequential([Dense(8, activation="relu"), Dense(4, activation="relu"), Dense(2)])
    params = model.init(jax.random.key(0), (5,))
    loss = lambda p, x: jnp.sum(model.apply(p, x) ** 2)
    x = jnp.ones((3, 5))
    source = jaxpr_graph(loss)(params, x).source
    assert "scope dense_1" in source and "p['dense_1']['w']" in source
    collapsed = jaxpr_graph(loss, collapse=["dense", "dense_1", "dense_2"])(params, x).source
    assert "dot_general" not in collapsed and "box3d" in collapsed


@pytest.mark.needs_dot
def test_renders_to_svg(tmp_path):
    no_while = lambda x: smooth(jax.lax.cond(x.sum() > 0, jnp.sum, jnp.max, x * 2))
    path = render(backprop_graph(no_while)(jnp.ones(3)), tmp_path / "grad.svg")
    assert ET.parse(path).getroot().tag.endswith("svg")


def test_scope_segments_peel_transformations():
    assert scope_segments("transpose(jvp(dense_1))/inner") == (("dense_1", "dense_1 (backward)"), ("inner", "inner"))
    assert scope_segments("jvp()") == ()
