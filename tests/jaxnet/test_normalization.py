"""BatchNormalization against Keras 3 (copied weights), its state through containers, fit, summary and saving."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnet import Branch, Concatenate, Dense, Flatten, Parallel, Sequential, fit, predict
from jaxnet.normalization import BatchNormalization
from jaxnet.state import merge, state_shapes

os.environ.setdefault("KERAS_BACKEND", "jax")
KEY = jax.random.key(0)


def _keras():
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("these comparisons run Keras on its JAX backend")
    return keras


def _random_params(rng, c):
    return {
        "gamma": rng.uniform(0.5, 2, c).astype(np.float32),
        "beta": rng.normal(size=c).astype(np.float32),
        "moving_mean": rng.normal(size=c).astype(np.float32),
        "moving_variance": rng.uniform(0.5, 2, c).astype(np.float32),
    }


@pytest.mark.parametrize("shape, axis", [((6, 5, 5, 3), -1), ((8, 4), -1), ((6, 3, 7), 1)])
def test_forward_and_one_update_match_keras(rng, shape, axis):
    keras = _keras()
    x = rng.normal(2.0, 3.0, shape).astype(np.float32)
    c = shape[axis]
    params = _random_params(rng, c)
    k_layer = keras.layers.BatchNormalization(axis=axis)
    k_layer.build(shape)
    k_layer.set_weights([params[k] for k in ("gamma", "beta", "moving_mean", "moving_variance")])
    layer = BatchNormalization(axis=axis)
    assert jax.tree.map(jnp.shape, layer.init(KEY, shape[1:])) == jax.tree.map(jnp.shape, params)
    p = jax.tree.map(jnp.asarray, params)

    np.testing.assert_allclose(layer.apply(p, x), k_layer(x, training=False), rtol=1e-5, atol=1e-5)
    y, state = layer.apply_with_state(p, x, training=True)
    np.testing.assert_allclose(y, k_layer(x, training=True), rtol=1e-5, atol=1e-5)
    # Keras updated its moving statistics in that call; jaxnet returned them
    np.testing.assert_allclose(state["moving_mean"], k_layer.moving_mean.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(state["moving_variance"], k_layer.moving_variance.numpy(), rtol=1e-6, atol=1e-6)
    axes = tuple(a for a in range(len(shape)) if a != axis % len(shape))  # and both equal the formula
    np.testing.assert_allclose(state["moving_mean"], 0.99 * params["moving_mean"] + 0.01 * x.mean(axes), rtol=1e-5)
    np.testing.assert_allclose(
        state["moving_variance"], 0.99 * params["moving_variance"] + 0.01 * x.var(axes), rtol=1e-5
    )
    _, inference_state = layer.apply_with_state(p, x, training=False)
    for name in ("moving_mean", "moving_variance"):  # inference returns the statistics unchanged
        np.testing.assert_array_equal(inference_state[name], params[name])


def test_center_scale_off_and_no_gradient_to_moving_statistics(rng):
    layer = BatchNormalization(center=False, scale=False, momentum=0.9, epsilon=1e-5)
    params = layer.init(KEY, (4,))
    assert sorted(params) == ["moving_mean", "moving_variance"]
    x = jnp.asarray(rng.normal(size=(16, 4)), jnp.float32)
    y = layer.apply(params, x, training=True)
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-4, atol=1e-5)
    full = BatchNormalization().init(KEY, (4,))
    grads = jax.grad(lambda p: jnp.sum(BatchNormalization().apply(p, x, training=True) ** 3))(full)
    assert float(jnp.abs(grads["moving_mean"]).max()) == 0.0 and float(jnp.abs(grads["moving_variance"]).max()) == 0.0
    assert float(jnp.abs(grads["gamma"]).max()) > 0.0


def test_masked_examples_do_not_count_in_batch_statistics(rng):
    layer = BatchNormalization()
    params = layer.init(KEY, (3,))
    x = jnp.asarray(rng.normal(size=(8, 3)), jnp.float32)
    mask = jnp.array([1, 1, 1, 1, 1, 0, 0, 0], jnp.float32)
    _, masked = layer.apply_with_state(params, x, training=True, mask=mask)
    _, real = layer.apply_with_state(params, x[:5], training=True)
    np.testing.assert_allclose(masked["moving_mean"], real["moving_mean"], rtol=1e-6)
    np.testing.assert_allclose(masked["moving_variance"], real["moving_variance"], rtol=1e-6)


def test_bad_arguments_fail_at_construction():
    with pytest.raises(ValueError, match="axis 0 is the batch"):
        BatchNormalization(axis=0)
    with pytest.raises(ValueError, match="momentum must be in"):
        BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="unknown initializer"):
        BatchNormalization(gamma_initializer="onez")
    with pytest.raises(ValueError, match="does not fit inputs"):
        BatchNormalization(axis=3).init(KEY, (4,))


def test_containers_thread_state_by_name(rng):
    model = Sequential([Branch([BatchNormalization(), Dense(2)]), Concatenate(), BatchNormalization(name="bn_out")])
    params = model.init(KEY, (3,))
    x = jnp.asarray(rng.normal(size=(4, 3)), jnp.float32)
    _, state = model.apply_with_state(params, x, key=KEY, training=True)
    assert jax.tree.map(jnp.shape, state) == {
        "branch": {"batch_normalization": {"moving_mean": (3,), "moving_variance": (3,)}},
        "bn_out": {"moving_mean": (5,), "moving_variance": (5,)},
    }
    merged = merge(params, state)
    np.testing.assert_array_equal(merged["bn_out"]["moving_mean"], state["bn_out"]["moving_mean"])
    np.testing.assert_array_equal(merged["branch"]["dense"]["w"], params["branch"]["dense"]["w"])
    two = Sequential([Parallel([BatchNormalization(), Dense(2)]), Concatenate()])
    p2 = two.init(KEY, ((3,), (4,)))
    _, s2 = two.apply_with_state(p2, (x, x[:, :2].repeat(2, 1)), training=True)
    assert list(s2["parallel"]) == ["batch_normalization"]
    assert Sequential([Dense(2)]).apply_with_state(Sequential([Dense(2)]).init(KEY, (3,)), x)[1] == {}
    assert jax.tree.map(lambda s: s.shape, state_shapes(model, params, (3,))) == jax.tree.map(jnp.shape, state)


def _keras_and_jaxnet_models(keras, rng, features=4):
    k_model = keras.Sequential(
        [
            keras.Input((features,)),
            keras.layers.Dense(5, activation="relu"),
            keras.layers.BatchNormalization(momentum=0.9),
            keras.layers.Dense(3),
            keras.layers.Activation("softmax"),
        ]
    )
    model = Sequential([Dense(5, activation="relu"), BatchNormalization(momentum=0.9), Dense(3, activation="softmax")])
    params = model.init(KEY, (features,))
    bn = _random_params(rng, 5)
    params = {**params, "batch_normalization": jax.tree.map(jnp.asarray, bn)}
    weights = [
        params["dense"]["w"],
        params["dense"]["b"],
        bn["gamma"],
        bn["beta"],
        bn["moving_mean"],
        bn["moving_variance"],
        params["dense_1"]["w"],
        params["dense_1"]["b"],
    ]
    k_model.set_weights([np.array(w) for w in weights])  # copies: Keras' fit donates its buffers
    return k_model, model, params


@pytest.mark.parametrize("n", [24, 21])  # 21: the last batch of 8 is partial (jaxnet pads and masks it)
def test_fit_updates_moving_statistics_as_keras_does(rng, n):
    keras = _keras()
    x = rng.normal(1.0, 2.0, (n, 4)).astype(np.float32)
    y = rng.integers(0, 3, n)
    k_model, model, params = _keras_and_jaxnet_models(keras, rng)
    k_model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    k_model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    trained, _ = fit(
        model, params, x, y, optimizer="sgd", learning_rate=0.1, batch_size=8, epochs=2, shuffle=False, verbose=0
    )
    k_weights = k_model.get_weights()
    ours = [
        trained["dense"]["w"],
        trained["dense"]["b"],
        *(trained["batch_normalization"][k] for k in ("gamma", "beta", "moving_mean", "moving_variance")),
        trained["dense_1"]["w"],
        trained["dense_1"]["b"],
    ]
    for i, (a, b) in enumerate(zip(ours, k_weights)):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6, err_msg=f"weight {i}")
    assert not np.allclose(trained["batch_normalization"]["moving_mean"], params["batch_normalization"]["moving_mean"])
    # inference uses the moving statistics, as Keras' predict does
    np.testing.assert_allclose(predict(model, trained, x), k_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_summary_counts_moving_statistics_as_non_trainable():
    model = Sequential([Flatten(), Dense(8), BatchNormalization(), Dense(2)])
    text = model.summary((2, 2))
    # as Keras counts: dense 40, batch_normalization 4 x 8 (moving mean and variance non-trainable), dense_1 18
    assert "Total params: 90" in text
    assert "Trainable params: 74" in text and "Non-trainable params: 16" in text


def test_keras_face_trains_saves_and_loads_the_statistics(tmp_path, rng):
    from jaxnet.keras import Sequential as KerasSequential
    from jaxnet.keras import load_model

    x = rng.normal(size=(40, 6)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    model = KerasSequential(
        [Dense(8, activation="relu", input_shape=(6,)), BatchNormalization(), Dense(3, activation="softmax")]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    # Keras' get_weights order: kernel, bias, gamma, beta, moving_mean, moving_variance, kernel, bias
    assert [w.shape for w in model.get_weights()] == [(6, 8), (8,), (8,), (8,), (8,), (8,), (8, 3), (3,)]
    stats = model.params["batch_normalization"]
    for i, name in enumerate(("gamma", "beta", "moving_mean", "moving_variance"), start=2):
        np.testing.assert_array_equal(model.get_weights()[i], stats[name])
    assert not np.allclose(stats["moving_variance"], 1.0)  # fit moved them
    loaded = load_model(model.save(tmp_path / "bn.npz"))
    np.testing.assert_array_equal(loaded.params["batch_normalization"]["moving_mean"], stats["moving_mean"])
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
