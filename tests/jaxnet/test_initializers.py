"""Initializers: the statistics of large samples against Keras 3's own initializers, not only shapes."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnet import Dense, initializers
from jaxnet.keras import initializers as keras_face

os.environ.setdefault("KERAS_BACKEND", "jax")
KEY = jax.random.key(0)
SHAPES = [(400, 300), (3, 3, 32, 64)]  # a Dense kernel and a Conv2D kernel (fan-in 288, fan-out 576)


def _keras():
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("these comparisons run Keras on its JAX backend")
    return keras


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "name",
    [
        "glorot_uniform",
        "glorot_normal",
        "he_normal",
        "he_uniform",
        "lecun_normal",
        "lecun_uniform",
        "random_normal",
        "random_uniform",
        "truncated_normal",
        "variance_scaling",
        "normal",
        "uniform",
    ],
)
def test_statistics_match_keras(name, shape):
    keras = _keras()
    ours = np.asarray(initializers.get(name)(KEY, shape))
    spelled = keras.initializers.get(name)  # Keras' meaning of the name ("normal": RandomNormal(stddev=0.05))
    seeded = type(spelled).from_config({**spelled.get_config(), "seed": 1})  # the same draws on every run
    theirs = np.asarray(seeded(shape))
    assert ours.shape == theirs.shape == shape and ours.dtype == np.float32
    n = ours.size
    assert abs(ours.mean() - theirs.mean()) < 5 * theirs.std() / np.sqrt(n)
    assert ours.std() == pytest.approx(theirs.std(), rel=0.03)
    assert np.abs(ours).max() <= np.abs(theirs).max() * 1.05  # same support (uniform limits, 2-sigma truncation)


def test_named_variances_and_the_books_normal():
    fan_in, fan_out = 400, 300
    cases = {
        "he_normal": np.sqrt(2 / fan_in),
        "he_uniform": np.sqrt(2 / fan_in),
        "lecun_uniform": np.sqrt(1 / fan_in),
        "glorot_normal": np.sqrt(2 / (fan_in + fan_out)),
        "random_normal": 0.05,
        "book_normal": 0.01,
        "truncated_normal": 0.05 * 0.8796,
    }  # Keras' TruncatedNormal redraws beyond 2 sigma, shrinking it
    for name, std in cases.items():
        sample = np.asarray(initializers.get(name)(KEY, (fan_in, fan_out)))
        assert sample.std() == pytest.approx(std, rel=0.03), name
    uniform = np.asarray(initializers.get("he_uniform")(KEY, (fan_in, fan_out)))
    assert np.abs(uniform).max() <= np.sqrt(6 / fan_in) and np.abs(uniform).max() > 0.99 * np.sqrt(6 / fan_in)


@pytest.mark.parametrize("shape", [(300, 200), (200, 300), (3, 3, 8, 16)])
def test_orthogonal_is_orthogonal_as_keras(shape):
    keras = _keras()
    for matrix in (initializers.get("orthogonal")(KEY, shape), keras.initializers.Orthogonal(seed=1)(shape)):
        w = np.asarray(matrix).reshape(-1, shape[-1])
        gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T  # the smaller Gram matrix is the identity
        np.testing.assert_allclose(gram, np.eye(len(gram)), atol=2e-5)
    scaled = np.asarray(initializers.orthogonal(gain=2.0)(KEY, (5, 5)))
    np.testing.assert_allclose(scaled.T @ scaled, 4 * np.eye(5), atol=1e-5)


def test_constants_seeds_and_keras_class_names():
    assert float(initializers.get("ones")(KEY, (3,)).sum()) == 3.0
    np.testing.assert_array_equal(initializers.constant(0.5)(KEY, (2,)), [0.5, 0.5])
    np.testing.assert_array_equal(initializers.get("identity")(KEY, (2, 3)), np.eye(2, 3))
    seeded = initializers.random_normal(stddev=1.0, seed=7)
    np.testing.assert_array_equal(seeded(KEY, (4,)), seeded(jax.random.key(99), (4,)))  # the seed wins
    layer = Dense(64, kernel_initializer=keras_face.RandomNormal(mean=1.0, stddev=0.01))
    w = np.asarray(layer.init(KEY, (256,))["w"])
    assert w.mean() == pytest.approx(1.0, abs=1e-3) and w.std() == pytest.approx(0.01, rel=0.03)
    assert np.asarray(keras_face.HeUniform()(KEY, (100, 10))).std() == pytest.approx(np.sqrt(2 / 100), rel=0.1)
    with pytest.raises(ValueError, match="unknown initializer 'he_normall'"):
        Dense(3, kernel_initializer="he_normall")
    with pytest.raises(ValueError, match="mode must be"):
        initializers.variance_scaling(mode="fan")
    assert jnp.asarray(initializers.get("zeros")(KEY, (2, 2))).sum() == 0
