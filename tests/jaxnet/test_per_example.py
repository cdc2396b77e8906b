import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnet import Activation, Dense, Dropout, Flatten, Maxout, Sequential, losses
from jaxnet.per_example import per_example_gradient_norms, per_example_gradients


def test_mean_of_per_example_gradients_is_the_batch_gradient(x64, rng):
    model = Sequential([Dense(6, activation="tanh"), Dense(3, activation="softmax")])
    params = jax.tree.map(lambda p: p.astype(jnp.float64), model.init(jax.random.key(0), (4,)))
    x, y = jnp.asarray(rng.normal(size=(5, 4))), jnp.array([0, 2, 1, 1, 0])
    loss = lambda p, a, b: losses.sparse_categorical_crossentropy(model.apply(p, a), b)
    per = per_example_gradients(loss, params, x, y)
    assert per["dense"]["w"].shape == (5, 4, 6)
    batch = jax.grad(loss)(params, x, y)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a.mean(0), b, rtol=1e-12), per, batch)
    second = jax.grad(loss)(params, x[1:2], y[1:2])
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a[1], b, rtol=1e-12), per, second)


def _reference_norms(model, loss, params, x, y):
    per = per_example_gradients(lambda p, a, b: loss(model.apply(p, a), b), params, x, y)
    flat = jnp.concatenate([g.reshape(len(x), -1) for g in jax.tree.leaves(per)], axis=1)
    return jnp.linalg.norm(flat, axis=1)


@pytest.mark.parametrize("make", [
    lambda: Sequential([Dense(6, activation="tanh"), Dense(3, activation="softmax")]),
    lambda: Sequential([Flatten(), Dense(7, activation="relu"), Dropout(0.3), Dense(5, activation="tanh"),
                        Activation("sigmoid"), Dense(3, activation="softmax")]),
    lambda: Sequential([Dense(6, activation="tanh"), Maxout(2, 3), Dense(3, activation="softmax")]),  # fallback
    lambda: Sequential([Dense(6, activation="tanh", use_bias=False), Dense(3, activation="softmax")]),  # fallback
], ids=["two-dense", "three-dense", "maxout-fallback", "no-bias-fallback"])
def test_gradient_norms_match_vmap_grad(x64, rng, make):
    model = make()
    params = jax.tree.map(lambda p: p.astype(jnp.float64), model.init(jax.random.key(0), (4,)))
    x, y = jnp.asarray(rng.normal(size=(9, 4))), jnp.asarray(rng.integers(0, 3, size=9))
    loss = losses.sparse_categorical_crossentropy
    norms = per_example_gradient_norms(model, params, x, y, loss)
    assert norms.shape == (9,)
    np.testing.assert_allclose(norms, _reference_norms(model, loss, params, x, y), rtol=1e-10)


def test_gradient_norms_after_flatten_of_images(x64, rng):
    model = Sequential([Flatten(), Dense(5, activation="relu"), Dense(2)])
    params = jax.tree.map(lambda p: p.astype(jnp.float64), model.init(jax.random.key(1), (3, 2)))
    x, y = jnp.asarray(rng.normal(size=(6, 3, 2))), jnp.asarray(rng.normal(size=(6, 2)))
    norms = per_example_gradient_norms(model, params, x, y, losses.mean_squared_error)
    np.testing.assert_allclose(norms, _reference_norms(model, losses.mean_squared_error, params, x, y), rtol=1e-10)


def test_dense_models_take_the_fast_path(x64, rng, monkeypatch):
    import jaxnet.per_example as pe

    def no_vmap(*args):
        raise AssertionError("fell back to vmap(grad)")

    monkeypatch.setattr(pe, "per_example_gradients", no_vmap)
    model = Sequential([Flatten(), Dense(5, activation="relu"), Dropout(0.5), Dense(3, activation="softmax")])
    params = model.init(jax.random.key(0), (2, 2))
    norms = per_example_gradient_norms(model, params, jnp.ones((4, 2, 2)), jnp.array([0, 1, 2, 0]),
                                       losses.sparse_categorical_crossentropy)
    assert norms.shape == (4,) and bool(jnp.all(jnp.isfinite(norms)))
