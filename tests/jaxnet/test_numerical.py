import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnet.book.numerical import gradient_descent, numerical_diff, numerical_gradient


def function_2(x):
    return x[0] ** 2 + x[1] ** 2


def test_numerical_diff_book_examples():
    f = lambda x: 0.01 * x**2 + 0.1 * x
    assert numerical_diff(f, 5.0) == pytest.approx(0.2, abs=1e-9)
    assert numerical_diff(f, 10.0) == pytest.approx(0.3, abs=1e-9)


def test_gradient_at_3_4_is_6_8():
    np.testing.assert_allclose(numerical_gradient(function_2, np.array([3.0, 4.0])), [6, 8], atol=1e-6)
    np.testing.assert_allclose(numerical_gradient(function_2, np.array([0.0, 2.0])), [0, 4], atol=1e-6)


def test_gradient_descent_reaches_origin():
    x, history = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=0.1, step_num=100)
    np.testing.assert_allclose(x, [0, 0], atol=1e-8)  # the book prints about (-6.1e-10, 8.1e-10)
    assert history.shape == (100, 2) and history[0].tolist() == [-3.0, 4.0]
    x_auto, _ = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=0.1, step_num=100, grad=jax.grad(function_2))
    np.testing.assert_allclose(x, x_auto, atol=1e-12)


def test_pytree_gradient_matches_jax_grad(x64):
    params = {"w": np.arange(6.0).reshape(2, 3) / 10, "b": np.array([0.5, -0.5])}
    f = lambda p: jnp.sum(jnp.tanh(jnp.asarray(p["w"]).T @ jnp.asarray(p["b"])))
    numeric = numerical_gradient(f, params, h=1e-6)
    auto = jax.grad(f)(jax.tree.map(jnp.asarray, params))
    for k in params:
        np.testing.assert_allclose(numeric[k], auto[k], rtol=1e-7, atol=1e-10)


def test_subset_indices_leave_others_zero():
    grads = numerical_gradient(function_2, np.array([3.0, 4.0]), indices={0: np.array([1])})
    np.testing.assert_allclose(grads, [0, 8], atol=1e-6)
