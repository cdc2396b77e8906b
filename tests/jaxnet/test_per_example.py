import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnet import Activation, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, Maxout, MaxPool2D, Sequential, losses
from jaxnet.per_example import clipped_gradient_sum, dp_sgd_aggregate, per_example_gradient_norms, per_example_gradients


def _vmap_grad(model, loss, params, x, y):
    """The reference: jax.vmap of jax.grad of the loss on a batch of one example, in inference mode."""
    one = lambda p, xi, yi: loss(model.apply(p, xi[None], key=None, training=False), yi[None])
    return jax.vmap(jax.grad(one), in_axes=(None, 0, 0))(params, x, y)


def _flat(grads, batch):
    return jnp.concatenate([g.reshape(batch, -1) for g in jax.tree.leaves(grads)], axis=1)


MODELS = {  # name -> (model, one example's shape, loss, targets)
    "two-dense": (lambda: Sequential([Dense(6, activation="tanh"), Dense(3, activation="softmax")]), (4,)),
    "three-dense": (
        lambda: Sequential(
            [
                Flatten(),
                Dense(7, activation="relu"),
                Dropout(0.3),
                Dense(5, activation="tanh"),
                Activation("sigmoid"),
                Dense(3, activation="softmax"),
            ]
        ),
        (2, 2),
    ),
    "no-bias": (
        lambda: Sequential([Dense(6, activation="tanh", use_bias=False), Dense(3, activation="softmax")]),
        (4,),
    ),
    "dense-on-sequences": (
        lambda: Sequential([Dense(5, activation="tanh"), Flatten(), Dense(3, activation="softmax")]),
        (3, 4),
    ),
    "cnn-im2col": (
        lambda: Sequential(
            [
                Conv2D(4, 3, activation="relu"),
                MaxPool2D(2),
                Conv2D(3, 2, strides=2, padding="same", use_bias=False, activation="tanh"),
                Flatten(),
                Dense(3, activation="softmax"),
            ]
        ),
        (9, 9, 2),
    ),
    "cnn-xla-conv": (
        lambda: Sequential(
            [
                Conv2D(4, 3, activation="relu", implementation="xla"),
                AveragePooling2D(2),
                Flatten(),
                Dense(3, activation="softmax"),
            ]
        ),
        (8, 8, 2),
    ),
    "maxout-fallback": (
        lambda: Sequential([Dense(6, activation="tanh"), Maxout(2, 3), Dense(3, activation="softmax")]),
        (4,),
    ),
}


def _problem(name, rng, batch=7):
    make, shape = MODELS[name]
    model = make()
    params = jax.tree.map(lambda p: p.astype(jnp.float64), model.init(jax.random.key(0), shape))
    params = jax.tree.map(lambda p: p + 0.1 * jnp.asarray(rng.normal(size=p.shape)), params)  # nonzero biases
    x, y = jnp.asarray(rng.normal(size=(batch, *shape))), jnp.asarray(rng.integers(0, 3, size=batch))
    return model, params, x, y


def test_loss_fn_form_mean_is_the_batch_gradient(x64, rng):
    model = Sequential([Dense(6, activation="tanh"), Dense(3, activation="softmax")])
    params = jax.tree.map(lambda p: p.astype(jnp.float64), model.init(jax.random.key(0), (4,)))
    x, y = jnp.asarray(rng.normal(size=(5, 4))), jnp.array([0, 2, 1, 1, 0])
    loss = lambda p, a, b: losses.sparse_categorical_crossentropy(model.apply(p, a), b)
    per = per_example_gradients(loss, params, x, y)
    assert per["dense"]["w"].shape == (5, 4, 6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a.mean(0), b, rtol=1e-12), per, jax.grad(loss)(params, x, y))
    second = jax.grad(loss)(params, x[1:2], y[1:2])  # one example alone, as a Python loop would compute it
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a[1], b, rtol=1e-12), per, second)


@pytest.mark.parametrize("name", list(MODELS))
def test_gradients_and_norms_match_vmap_grad(x64, rng, name):
    model, params, x, y = _problem(name, rng)
    loss = losses.sparse_categorical_crossentropy
    got, norms = jax.jit(
        lambda p, a, b: (per_example_gradients(model, p, a, b, loss), per_example_gradient_norms(model, p, a, b, loss))
    )(params, x, y)
    want = _vmap_grad(model, loss, params, x, y)
    assert jax.tree.structure(got) == jax.tree.structure(want)
    jax.tree.map(lambda g, w: np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-14), got, want)
    np.testing.assert_allclose(norms, jnp.linalg.norm(_flat(want, 7), axis=1), rtol=1e-10)


def test_gradient_norms_with_a_regression_loss(x64, rng):
    model = Sequential([Flatten(), Dense(5, activation="relu"), Dense(2)])
    params = jax.tree.map(lambda p: p.astype(jnp.float64), model.init(jax.random.key(1), (3, 2)))
    x, y = jnp.asarray(rng.normal(size=(6, 3, 2))), jnp.asarray(rng.normal(size=(6, 2)))
    norms = per_example_gradient_norms(model, params, x, y, losses.mean_squared_error)
    want = jnp.linalg.norm(_flat(_vmap_grad(model, losses.mean_squared_error, params, x, y), 6), axis=1)
    np.testing.assert_allclose(norms, want, rtol=1e-10)


@pytest.mark.parametrize("name", ["three-dense", "cnn-im2col"])
def test_dense_and_conv_models_never_vmap_grad(x64, rng, monkeypatch, name):
    import jaxnet.per_example as pe

    def no_vmap(*args):
        raise AssertionError("fell back to vmap(grad)")

    monkeypatch.setattr(pe, "_vmap_gradients", no_vmap)
    model, params, x, y = _problem(name, rng, batch=4)
    loss = losses.sparse_categorical_crossentropy
    assert per_example_gradient_norms(model, params, x, y, loss).shape == (4,)
    assert jax.tree.leaves(per_example_gradients(model, params, x, y, loss))[0].shape[0] == 4
    assert jax.tree.structure(clipped_gradient_sum(model, params, x, y, loss, 1.0)) == jax.tree.structure(params)


@pytest.mark.parametrize("name", ["three-dense", "cnn-im2col", "maxout-fallback"])
def test_clipped_sum_and_noise_equal_optax_private_aggregate(x64, rng, name):
    model, params, x, y = _problem(name, rng)
    loss = losses.sparse_categorical_crossentropy
    per = _vmap_grad(model, loss, params, x, y)
    clip = float(np.median(np.linalg.norm(_flat(per, 7), axis=1)))  # about half the examples get clipped
    for noise in (0.0, 1.3):
        ours = optax.chain(dp_sgd_aggregate(clip, noise, batch_size=7, key=jax.random.key(5)), optax.sgd(0.1))
        theirs = optax.chain(
            optax.contrib.differentially_private_aggregate(clip, noise, key=jax.random.key(5)), optax.sgd(0.1)
        )
        ours_state, theirs_state = ours.init(params), theirs.init(params)
        for _ in range(2):  # the key advances the same way in both
            summed = jax.jit(lambda p, a, b: clipped_gradient_sum(model, p, a, b, loss, clip))(params, x, y)
            mine, ours_state = ours.update(summed, ours_state, params)
            want, theirs_state = theirs.update(per, theirs_state, params)
            jax.tree.map(lambda m, w: np.testing.assert_allclose(m, w, rtol=1e-10, atol=1e-14), mine, want)


def test_clipped_sum_with_a_large_clip_is_the_sum_of_gradients(x64, rng):
    model, params, x, y = _problem("two-dense", rng)
    loss = losses.sparse_categorical_crossentropy
    summed = clipped_gradient_sum(model, params, x, y, loss, 1e9)
    batch = jax.grad(lambda p: loss(model.apply(p, x), y))(params)  # the batch mean
    jax.tree.map(lambda s, b: np.testing.assert_allclose(s / 7, b, rtol=1e-10), summed, batch)


def test_bad_arguments_say_what_to_do():
    with pytest.raises(TypeError, match="pass the loss too"):
        per_example_gradients(Sequential([Dense(2)]), {}, jnp.ones((1, 2)), jnp.ones(1))
    with pytest.raises(ValueError, match="batch_size"):
        dp_sgd_aggregate(1.0, 1.0, batch_size=0)
