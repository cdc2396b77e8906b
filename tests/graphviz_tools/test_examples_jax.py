"""The book's figures drawn from plain JAX carry the same numbers as the Var drawings, edge for edge."""

import numpy as np
import pytest

from graphviz_tools import examples, examples_jax


def var_edges(root):
    """(value, cotangent or None) for every edge ``to_digraph`` draws, the output edge included."""
    pairs = [(root.value, root.grad)]
    for v in root.topological_order():
        for i, parent in enumerate(v.parents):
            pairs.append((parent.value, None if parent.constant else v.edge_grads[i]))
    return pairs


def jax_edges(trace):
    return [(e.value, e.cotangent) for e in trace.edges]


def assert_same_edges(expected, actual):
    """Every expected (value, cotangent) pair matches one actual pair (float32 tolerance), and none is left."""
    left = list(actual)
    for value, grad in expected:
        for k, (v, g) in enumerate(left):
            if (
                np.shape(v) == np.shape(value)
                and np.allclose(v, value, rtol=1e-5, atol=1e-6)
                and (g is None) == (grad is None)
                and (grad is None or np.allclose(g, grad, rtol=1e-5, atol=1e-6))
            ):
                del left[k]
                break
        else:
            raise AssertionError(f"no edge carries value {value} / gradient {grad}; left: {left}")
    assert not left, f"edges only in the JAX picture: {left}"


@pytest.mark.parametrize("name", ["apple", "apple_orange", "sigmoid", "affine", "softmax_loss", "two_layer"])
def test_jax_twin_carries_the_var_numbers(name):
    assert_same_edges(var_edges(examples.EXAMPLES[name]()), jax_edges(examples_jax.trace(name)))


def test_apple_numbers_are_the_books():
    trace = examples_jax.trace("apple")
    grads = {trace.nodes[e.src].label: float(e.cotangent) for e in trace.edges if trace.nodes[e.src].kind == "input"}
    assert grads == pytest.approx({"apple": 2.2, "apple_num": 110, "tax": 200})
