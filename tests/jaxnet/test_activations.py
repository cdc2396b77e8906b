import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnet import activations as A
from jaxnet.book.numerical import numerical_gradient

M = np.array([[-1.0, 3, 2], [0, 2, -3], [-1, -4, 1]])


def test_sigmoid_book_values():
    np.testing.assert_allclose(A.sigmoid(jnp.array([-1.0, 1.0, 2.0])), [0.26894142, 0.73105858, 0.88079708], rtol=1e-6)


def test_relu_matrix_from_seed_000():
    np.testing.assert_array_equal(A.relu(M), [[0, 3, 2], [0, 2, 0], [0, 0, 1]])


def test_tanh_matrix_from_seed_000():
    expected = [[-0.762, 0.995, 0.964], [0, 0.964, -0.995], [-0.762, -0.999, 0.762]]
    np.testing.assert_allclose(np.round(A.tanh(M), 3), expected, atol=1e-6)


def test_step_and_relu_derivative():
    np.testing.assert_array_equal(A.step(jnp.array([-1.0, 0.0, 2.0])), [0, 0, 1])
    grad = jax.vmap(jax.grad(A.relu))(jnp.array([-2.0, -0.5, 0.0, 0.5, 3.0]))
    np.testing.assert_array_equal(grad, [0, 0, 0, 1, 1])  # 1 for x > 0, 0 for x <= 0


def test_leaky_relu_is_keras_slope_and_notes_is_max_of_point_one_x_and_x():
    x = jnp.array([-3.0, -0.5, 0.0, 2.0])
    np.testing.assert_allclose(A.notes_leaky_relu(x), np.maximum(0.1 * np.asarray(x), np.asarray(x)))
    np.testing.assert_allclose(A.get("notes_leaky_relu")(x), [-0.3, -0.05, 0.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(A.get("leaky_relu")(x), [-0.6, -0.1, 0.0, 2.0], rtol=1e-6)  # keras.activations' 0.2


def test_softmax_book_values_and_overflow():
    y = A.softmax(jnp.array([0.3, 2.9, 4.0]))
    np.testing.assert_allclose(y, [0.01821127, 0.24519181, 0.73659691], rtol=1e-6)
    assert float(jnp.sum(y)) == pytest.approx(1.0, abs=1e-6)
    big = A.softmax(jnp.array([1010.0, 1000.0, 990.0]))
    assert np.all(np.isfinite(big)) and float(jnp.sum(big)) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(A.log_softmax(jnp.array([1010.0, 1000.0, 990.0])), np.log(np.asarray(big)), atol=1e-4)


def test_closed_forms_against_numpy(rng):
    x = rng.normal(size=50)
    np.testing.assert_allclose(A.elu(x), np.where(x > 0, x, np.exp(x) - 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(A.swish(x), x / (1 + np.exp(-x)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(A.mish(x), x * np.tanh(np.log1p(np.exp(x))), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(A.softplus(x), np.log1p(np.exp(x)), rtol=1e-5, atol=1e-6)
    scale, alpha = 1.0507009873554805, 1.6732632423543772
    np.testing.assert_allclose(A.selu(x), scale * np.where(x > 0, x, alpha * (np.exp(x) - 1)), rtol=1e-5, atol=1e-6)
    from math import erf

    np.testing.assert_allclose(A.gelu(x), [0.5 * v * (1 + erf(v / np.sqrt(2))) for v in x], rtol=1e-5, atol=1e-6)


SMOOTH = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "swish", "mish", "gelu", "softplus", "identity"]


@pytest.mark.parametrize("name", SMOOTH + ["softmax", "log_softmax"])
def test_gradient_matches_finite_differences(name, x64, rng):
    fn = A.get(name)
    x = rng.uniform(0.1, 2.0, size=6) * rng.choice([-1, 1], size=6)  # away from the kinks at 0
    weights = rng.normal(size=6)
    loss = lambda v: jnp.sum(fn(jnp.asarray(v)) * weights)
    auto = jax.grad(loss)(jnp.asarray(x))
    numeric = numerical_gradient(loss, x, h=1e-6)
    np.testing.assert_allclose(auto, numeric, rtol=1e-6, atol=1e-8)


def test_registry_names_and_unknown():
    assert A.get("relu") is A.relu and A.get(None) is A.identity and A.get(A.tanh) is A.tanh
    assert A.get("silu") is A.silu is A.swish  # Keras' and JAX's other name, as the README lists it
    with pytest.raises(ValueError, match="unknown activation 'rleu'.*relu"):
        A.get("rleu")
