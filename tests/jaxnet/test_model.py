import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnet import (
    Branch,
    Concatenate,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Identity,
    MaxPooling2D,
    Parallel,
    Sequential,
    count_params,
)

KEY = jax.random.key(0)


def mlp(sizes, activation="relu", dropout=None):
    layers = [Flatten()]
    for units in sizes[:-1]:
        layers.append(Dense(units, activation=activation))
        if dropout:
            layers.append(Dropout(dropout))
    return Sequential(layers + [Dense(sizes[-1], activation="softmax")])


def cnn(widths, dense):
    a, b, c = widths
    return Sequential(
        [
            Conv2D(a, (3, 3), activation="relu"),
            MaxPooling2D((2, 2)),
            Conv2D(b, (3, 3), activation="relu"),
            MaxPooling2D((2, 2)),
            Conv2D(c, (3, 3), activation="relu"),
            Flatten(),
            Dense(dense, activation="relu"),
            Dense(10, activation="softmax"),
        ]
    )


SEED_MODELS = [  # (model, input shape, total the seeds print)
    (mlp([128, 10], dropout=0.2), (28, 28), "101,770"),
    (mlp([100, 10], activation="sigmoid"), (784,), "79,510"),
    (mlp([128, 64, 10]), (28, 28), "109,386"),
    (mlp([300, 100, 10]), (28, 28), "266,610"),
    (mlp([128, 10]), (32, 32, 3), "394,634"),
    (mlp([128, 128, 128, 10]), (32, 32, 3), "427,658"),
    (mlp([256] * 4 + [10]), (32, 32, 3), "986,634"),
    (mlp([1024] * 4 + [10]), (32, 32, 3), "6,305,802"),
    (cnn((32, 64, 64), 64), (32, 32, 3), "122,570"),
    (cnn((64, 128, 128), 128), (32, 32, 3), "486,794"),
]


@pytest.mark.parametrize("model,shape,total", SEED_MODELS, ids=[t for *_, t in SEED_MODELS])
def test_summary_totals_match_the_seeds(model, shape, total):
    text = model.summary(shape)
    assert f"Total params: {total} " in text and f"Trainable params: {total} " in text
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text


def test_mnist_summary_rows_and_real_param_count():
    model = SEED_MODELS[0][0]
    text = model.summary((28, 28))
    for row in [
        "flatten (Flatten)",
        "(None, 784)",
        "dense (Dense)",
        "100,480",
        "dropout (Dropout)",
        "dense_1 (Dense)",
        "1,290",
        "397.54 KB",
    ]:
        assert row in text
    assert count_params(model.init(KEY, (28, 28))) == 101_770


def test_cnn_rows_per_layer():
    text = SEED_MODELS[8][0].summary((32, 32, 3))
    for row in [
        "conv2d (Conv2D)",
        "(None, 30, 30, 32)",
        "896",
        "max_pooling2d (MaxPooling2D)",
        "(None, 15, 15, 32)",
        "18,496",
        "36,928",
        "(None, 1024)",
        "65,600",
        "650",
    ]:
        assert row in text


def test_sequential_apply_is_deterministic_without_training_and_uses_key_with():
    model = mlp([32, 10], dropout=0.5)
    params = model.init(KEY, (16,))
    x = jnp.ones((4, 16))
    np.testing.assert_array_equal(model.apply(params, x), model.apply(params, x))
    a = model.apply(params, x, key=jax.random.key(1), training=True)
    b = model.apply(params, x, key=jax.random.key(2), training=True)
    assert not np.allclose(a, b)
    np.testing.assert_allclose(jnp.sum(model.apply(params, x), axis=1), 1.0, rtol=1e-5)


def test_wide_and_deep_single_input():
    deep = Sequential([Dense(30, activation="relu"), Dense(30, activation="relu")])
    model = Sequential([Branch([Identity(), deep]), Concatenate(), Dense(1)])
    params = model.init(KEY, (8,))
    assert count_params(params) == (8 * 30 + 30) + (30 * 30 + 30) + (38 + 1)
    x = jax.random.normal(KEY, (5, 8))
    out = model.apply(params, x)
    deep_out = deep.apply(params["branch"]["sequential"], x)
    expected = jnp.concatenate([x, deep_out], axis=1) @ params["dense"]["w"] + params["dense"]["b"]
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_wide_and_deep_two_inputs():
    model = Sequential([Parallel([Identity(), Sequential([Dense(30, activation="relu")])]), Concatenate(), Dense(1)])
    params = model.init(KEY, ((5,), (6,)))
    out = model.apply(params, (jnp.ones((3, 5)), jnp.ones((3, 6))))
    assert out.shape == (3, 1)
    assert "Total params: 246 " in model.summary(((5,), (6,)))


def test_duplicate_names_rejected_and_unique_defaults():
    with pytest.raises(ValueError, match="named 'a'"):
        Sequential([Dense(2, name="a"), Dense(2, name="a")])
    assert Sequential([Dense(2), Dense(2), Dense(2, name="dense_1")]).names == ("dense", "dense_2", "dense_1")


def test_model_error_names_shape():
    model = SEED_MODELS[0][0]
    params = model.init(KEY, (28, 28))
    with pytest.raises(ValueError, match=r"Dense expected input of shape \(batch, \.\.\., 784\), got \(2, 100\)"):
        model.apply(params, jnp.ones((2, 10, 10)))
