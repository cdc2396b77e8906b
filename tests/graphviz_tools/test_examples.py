import jax
import jax.numpy as jnp
import numpy as np
import pytest

from graphviz_tools import examples, to_digraph


def leaves(root):
    return {v.name: v for v in root.topological_order() if v.name and not v.op}


def test_apple_values_and_dot():
    root = examples.apple()
    v = leaves(root)
    assert float(root.value) == pytest.approx(220)
    assert (float(v["apple"].grad), float(v["apple_num"].grad), float(v["tax"].grad)) == (
        pytest.approx(2.2),
        pytest.approx(110),
        pytest.approx(200),
    )
    source = to_digraph(root).source
    for text in ["price = 220", ">2.2<", ">110<", ">200<", "apple_num", "×"]:
        assert text in source, text


def test_apple_orange_values_and_dot():
    root = examples.apple_orange()
    v = leaves(root)
    assert float(root.value) == pytest.approx(715)
    named = {n.name: float(n.value) for n in root.topological_order() if n.name and n.op}
    assert named == {
        "apple_price": pytest.approx(200),
        "orange_price": pytest.approx(450),
        "all_price": pytest.approx(650),
        "price": pytest.approx(715),
    }
    grads = {k: float(x.grad) for k, x in v.items()}
    assert grads == {
        "apple": pytest.approx(2.2),
        "apple_num": pytest.approx(110),
        "orange": pytest.approx(3.3),
        "orange_num": pytest.approx(165),
        "tax": pytest.approx(650),
    }
    source = to_digraph(root).source
    for text in ["all_price = 650", "price = 715", ">3.3<", ">165<", ">650<", ">1.1<", "+"]:
        assert text in source, text


def test_sigmoid_parts_and_node_agree():
    parts, node = examples.sigmoid(1.0), examples.sigmoid_node(1.0)
    y = 1 / (1 + np.exp(-1.0))
    assert float(parts.value) == pytest.approx(y) and float(node.value) == pytest.approx(y)
    assert float(leaves(parts)["x"].grad) == pytest.approx(y * (1 - y))
    assert float(leaves(node)["x"].grad) == pytest.approx(y * (1 - y))
    ops = [v.op for v in parts.topological_order() if v.op]
    assert ops == ["mul", "exp", "add", "reciprocal"]
    source = to_digraph(parts).source
    assert "exp" in source and 'label="/"' in source and "-1" in source
    assert "sigmoid" in to_digraph(node).source


def test_affine_gradients():
    root = examples.affine()
    v = leaves(root)
    np.testing.assert_allclose(root.value, [0.6, 1.3, 2.0])
    np.testing.assert_allclose(v["W"].grad, np.outer([1.0, 2.0], np.ones(3)))  # X^T dY
    np.testing.assert_allclose(v["B"].grad, np.ones(3))
    np.testing.assert_allclose(v["X"].grad, v["W"].value @ np.ones(3))  # dY W^T


def test_softmax_loss_gradient_is_y_minus_t():
    root = examples.softmax_loss()
    y = np.array([0.01821127, 0.24519181, 0.73659691])
    assert float(root.value) == pytest.approx(-np.log(y[2]), rel=1e-6)
    np.testing.assert_allclose(leaves(root)["a"].grad, y - [0, 0, 1], rtol=1e-6)


def test_two_layer_matches_jax_grad(x64):
    root = examples.two_layer()
    v = leaves(root)
    x, t = v["x"].value, v["t"].value

    def loss(w1, b1, w2, b2):
        h = jax.nn.sigmoid(x @ w1 + b1)
        return -jnp.sum(t * jax.nn.log_softmax(h @ w2 + b2))

    names = ["W1", "b1", "W2", "b2"]
    grads = jax.grad(loss, argnums=(0, 1, 2, 3))(*(v[n].value for n in names))
    assert float(root.value) == pytest.approx(float(loss(*(v[n].value for n in names))), rel=1e-12)
    for n, g in zip(names, grads):
        np.testing.assert_allclose(v[n].grad, g, rtol=1e-10)
