"""Keras semantics measured against Keras 3 (JAX backend) with copied weights and the same batch order.

validation_split's held-out examples, sample and class weights in fit / evaluate, weighted metrics,
evaluate's return values and History.params.
"""

import os

import numpy as np
import pytest

from jaxnet import keras as jk
from jaxnet import train
from jaxnet._src.weights import split_validation

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = ((x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0.5)).astype(np.int32)
    return x, y, rng.uniform(0.1, 3.0, size=n).astype(np.float32)


def _pair(weighted_metrics=("accuracy",), seed=1):
    """The same MLP in jaxnet and in Keras 3, Keras' weights copied from jaxnet's, both compiled alike."""
    ours = jk.Sequential(
        [jk.layers.Dense(8, activation="relu"), jk.layers.Dense(3, activation="softmax")], input_shape=(5,), seed=seed
    )
    ours.compile(
        optimizer=jk.optimizers.SGD(learning_rate=0.2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        weighted_metrics=list(weighted_metrics),
    )
    theirs = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3, activation="softmax")]
    )
    theirs.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        weighted_metrics=list(weighted_metrics),
    )
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def _assert_same_history(ours, theirs):
    assert set(ours.history) == set(theirs.history)
    for name, values in theirs.history.items():
        np.testing.assert_allclose(ours.history[name], values, rtol=2e-5, atol=2e-6, err_msg=name)


@pytest.mark.parametrize("n,split", [(1437, 0.1), (100, 0.2), (10, 0.25), (7, 0.5), (33, 0.3), (1000, 0.07)])
def test_validation_split_holds_out_keras_examples(n, split):
    from keras.src.trainers.data_adapters.array_slicing import train_validation_split

    x = np.arange(n)
    (keras_train,), (keras_val,) = train_validation_split((x,), validation_split=split)
    (train_x,), (val_x,) = split_validation((x,), split)
    np.testing.assert_array_equal(train_x, keras_train)
    np.testing.assert_array_equal(val_x, keras_val)
    if (n, split) == (1437, 0.1):
        assert len(val_x) == 144


def test_fit_holds_out_the_last_144_of_1437():
    x, y, _ = _data(1437)
    ours, _ = _pair(weighted_metrics=())
    history = ours.fit(x, y, epochs=1, batch_size=256, validation_split=0.1, shuffle=False, verbose=0)
    held_out = ours.evaluate(x[-144:], y[-144:], batch_size=256, return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(held_out["loss"], rel=1e-6)
    assert history.params == {"verbose": 0, "epochs": 1, "steps": 6}  # ceil(1293 / 256)


def test_fit_with_sample_weight_matches_keras():
    x, y, w = _data(50)
    ours, theirs = _pair()
    kw = dict(epochs=3, batch_size=16, validation_split=0.2, shuffle=False, verbose=0)  # last batch: 8 of 16
    got, expected = ours.fit(x, y, sample_weight=w, **kw), theirs.fit(x, y, sample_weight=w, **kw)
    _assert_same_history(got, expected)
    assert got.params == expected.params
    # weighted and unweighted accuracy differ here, so the test can tell them apart
    assert got.history["weighted_accuracy"] != got.history["accuracy"]


def test_fit_with_class_weight_matches_keras():
    x, y, _ = _data(45, seed=3)
    ours, theirs = _pair(weighted_metrics=("acc",))
    kw = dict(
        epochs=3, batch_size=8, validation_split=0.2, shuffle=False, verbose=0, class_weight={0: 0.5, 1: 2.0}
    )  # class 2 absent: weight 1
    _assert_same_history(ours.fit(x, y, **kw), theirs.fit(x, y, **kw))
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_fit_with_validation_data_weights_matches_keras():
    x, y, w = _data(40, seed=4)
    ours, theirs = _pair()
    kw = dict(epochs=2, batch_size=12, shuffle=False, validation_data=(x[:15], y[:15], w[:15]))
    got, expected = ours.fit(x, y, sample_weight=w, **kw), theirs.fit(x, y, sample_weight=w, **kw)
    _assert_same_history(got, expected)
    assert got.params == expected.params == {"verbose": "auto", "epochs": 2, "steps": 4}  # verbose as given


def test_evaluate_returns_what_keras_returns():
    x, y, w = _data(30, seed=5)
    (ours, theirs), (ours_w, theirs_w) = _pair(weighted_metrics=()), _pair()
    for kwargs in ({}, {"sample_weight": w}):
        got = ours.evaluate(x, y, batch_size=7, verbose=0, **kwargs)
        expected = theirs.evaluate(x, y, batch_size=7, verbose=0, **kwargs)
        assert isinstance(got, list) and len(got) == len(expected) == 2
        np.testing.assert_allclose(got, expected, rtol=1e-5)
    # (Keras 3.15's list repeats a weighted metric's value, so the weighted model is compared by name)
    got_dict = ours_w.evaluate(x, y, batch_size=7, return_dict=True, sample_weight=w)
    expected_dict = theirs_w.evaluate(x, y, batch_size=7, verbose=0, return_dict=True, sample_weight=w)
    assert list(got_dict) == ["loss", "accuracy", "weighted_accuracy"] and set(expected_dict) == set(got_dict)
    np.testing.assert_allclose([got_dict[k] for k in expected_dict], list(expected_dict.values()), rtol=1e-5)
    loss_only = jk.Sequential([jk.layers.Dense(1)], input_shape=(5,))
    loss_only.compile(optimizer="sgd", loss="mse")
    keras_loss_only = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    keras_loss_only.compile(optimizer="sgd", loss="mse")
    keras_loss_only.set_weights(loss_only.get_weights())
    got = loss_only.evaluate(x, y.astype(np.float32), sample_weight=w)
    assert isinstance(got, float)
    assert got == pytest.approx(keras_loss_only.evaluate(x, y.astype(np.float32), sample_weight=w, verbose=0), rel=1e-5)


def test_weight_errors_say_what_to_do():
    x, y, w = _data(20)
    ours, _ = _pair()
    with pytest.raises(ValueError, match="sample_weight or class_weight, not both"):
        ours.fit(x, y, sample_weight=w, class_weight={0: 2.0}, verbose=0)
    with pytest.raises(ValueError, match=r"one weight per example, shape \(20,\); got \(19,\)"):
        ours.fit(x, y, sample_weight=w[:19], verbose=0)
    with pytest.raises(ValueError, match="finite and non-negative"):
        train.evaluate(ours.network, ours.params, x, y, sample_weight=-w)
    with pytest.raises(ValueError, match="of 1 examples leaves no training example"):
        ours.fit(x[:1], y[:1], validation_split=0.5, verbose=0)


# --- model.save("x.keras"): Keras 3's own file format ---------------------------------------------


def _cnn():
    model = jk.Sequential(
        [
            jk.layers.Conv2D(4, 3, activation="relu", padding="same"),
            jk.layers.MaxPooling2D(2),
            jk.layers.Conv2D(3, (2, 3), strides=(1, 2), activation="tanh"),
            jk.layers.AveragePooling2D(2, strides=1),
            jk.layers.Flatten(),
            jk.layers.Dropout(0.3),
            jk.layers.Dense(5, activation="sigmoid"),
            jk.layers.Dense(3),
            jk.layers.Activation("softmax"),
        ],
        input_shape=(8, 10, 2),
        seed=3,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, np.random.default_rng(0).normal(size=(4, 8, 10, 2)).astype(np.float32)


def test_keras_3_loads_a_jaxnet_mlp(tmp_path):
    model, _ = _pair()
    model.save(tmp_path / "mlp.keras")
    x = _data(9)[0]
    np.testing.assert_allclose(
        keras.models.load_model(tmp_path / "mlp.keras").predict(x, verbose=0), model.predict(x), rtol=1e-5, atol=1e-6
    )


def test_keras_3_loads_what_jaxnet_saves(tmp_path):
    model, x = _cnn()
    model.save(tmp_path / "cnn.keras")
    theirs = keras.models.load_model(tmp_path / "cnn.keras")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), model.predict(x), rtol=1e-5, atol=1e-6)
    assert [layer.name for layer in theirs.layers] == [
        "conv2d",
        "max_pooling2d",
        "conv2d_1",
        "average_pooling2d",
        "flatten",
        "dropout",
        "dense",
        "dense_1",
        "activation",
    ]
    ours = jk.models.load_model(tmp_path / "cnn.keras")  # and jaxnet reads it back, compiled as it was
    np.testing.assert_array_equal(ours.predict(x), model.predict(x))
    assert ours._compiled == model._compiled


def test_jaxnet_loads_what_keras_3_saves(tmp_path):
    theirs = keras.Sequential(
        [
            keras.Input((7,)),
            keras.layers.Dense(6, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(4, activation="softmax", use_bias=False),
        ]
    )
    theirs.save(tmp_path / "mlp.keras")
    ours = jk.models.load_model(tmp_path / "mlp.keras")
    x = np.random.default_rng(1).normal(size=(5, 7)).astype(np.float32)
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert ours.input_shape == (7,) and ours.count_params() == theirs.count_params()


def test_h5_name_is_accepted_with_a_note_and_round_trips(tmp_path):
    model = jk.Sequential([jk.layers.Dense(3, activation="softmax")], input_shape=(5,))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = _data(9)[0]
    with pytest.warns(UserWarning, match="jaxnet writes its own .npz format under this name, not Keras' legacy HDF5"):
        model.save(tmp_path / "my_keras_model.h5")
    np.testing.assert_array_equal(jk.models.load_model(tmp_path / "my_keras_model.h5").predict(x), model.predict(x))


def test_unsupported_layers_are_refused_before_writing(tmp_path):
    model = jk.Sequential([jk.layers.Maxout(3)], input_shape=(4,))
    model.build((4,))
    with pytest.raises(ValueError, match="cannot write a Maxout layer to a .keras file.*save as .npz"):
        model.save(tmp_path / "m.keras")
    assert list(tmp_path.iterdir()) == []
