"""The functional API (``keras.Input``, layer calls, ``keras.Model``) against Keras 3 with copied weights,
and pytrees of inputs through ``jaxnet.fit``."""

import re

import jax
import numpy as np
import pytest
from keras3 import (
    assert_inference_matches,
    assert_one_step_matches,
    import_keras,
    keras_summary,
    table_rows,
)

import jaxnet
from jaxnet import keras, train
from jaxnet.functional import Functional, Input
from jaxnet.layers import Concatenate, Dense


def _wide_and_deep(k, outputs="one"):
    """Géron's Wide & Deep models, written once and built with either Keras (``k``)."""
    if outputs == "one":
        input_ = k.layers.Input(shape=(8,))
        hidden1 = k.layers.Dense(30, activation="relu")(input_)
        hidden2 = k.layers.Dense(30, activation="relu")(hidden1)
        concat = k.layers.concatenate([input_, hidden2])
        output = k.layers.Dense(1)(concat)
        return k.models.Model(inputs=[input_], outputs=[output])
    input_a = k.layers.Input(shape=[5], name="wide_input")
    input_b = k.layers.Input(shape=[6], name="deep_input")
    hidden1 = k.layers.Dense(30, activation="relu", name="hidden1")(input_b)
    hidden2 = k.layers.Dense(30, activation="relu", name="hidden2")(hidden1)
    concat = k.layers.Concatenate(name="concat")([input_a, hidden2])
    output = k.layers.Dense(1, name="main_output")(concat)
    aux_output = k.layers.Dense(1, name="aux_output")(hidden2)
    return k.Model(inputs=[input_a, input_b], outputs=[output, aux_output])


@pytest.fixture(scope="module")
def K():
    return import_keras()


@pytest.fixture
def data(rng):
    x = rng.normal(size=(40, 8)).astype(np.float32)
    return x, (x[:, :1] * 2 - x[:, 1:2] + 0.1 * rng.normal(size=(40, 1))).astype(np.float32)


def test_wide_and_deep_summary_matches_keras(K):
    ours, theirs = _wide_and_deep(keras), _wide_and_deep(K)
    rows = table_rows(keras_summary(theirs))
    # Keras numbers its default names across the session (dense_7, ...): compare everything else exactly
    strip = [(r[0].split(" ", 1)[1],) + r[1:3] + (len(r[3].split(", ")),) for r in rows]
    mine = table_rows(_printed(ours.summary))
    assert [(r[0].split(" ", 1)[1],) + r[1:3] + (len(r[3].split(", ")),) for r in mine] == strip
    assert mine[3][3] == "input_layer[0][0… dense_1[0][0]"  # cut and wrapped as Keras' rich table does
    assert ours.count_params() == theirs.count_params() == 1239


def _printed(fn) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert fn() is None
    return out.getvalue()


def test_wide_and_deep_trains_like_keras(K, data):
    x, y = data
    ours, theirs = _wide_and_deep(keras), _wide_and_deep(K)
    ours.compile(loss="mean_squared_error", optimizer=keras.optimizers.SGD(learning_rate=0.05))
    theirs.compile(loss="mean_squared_error", optimizer=K.optimizers.SGD(learning_rate=0.05))
    ours.build(ours.input_shape)
    assert_inference_matches(ours, theirs, x, y)
    assert_one_step_matches(ours, theirs, x, y)


def test_multi_input_multi_output_matches_keras(K, rng):
    xa, xb = rng.normal(size=(30, 5)).astype(np.float32), rng.normal(size=(30, 6)).astype(np.float32)
    y_main = xa[:, :1] + xb[:, :1]
    y_aux = xb[:, 1:2]
    ours, theirs = _wide_and_deep(keras, "two"), _wide_and_deep(K, "two")
    for model, k in ((ours, keras), (theirs, K)):
        model.compile(
            loss=["mse", "mse"],
            loss_weights=[0.9, 0.1],
            optimizer=k.optimizers.SGD(learning_rate=0.1),
            metrics=[["mae"], ["mae"]],
        )
    ours.build(ours.input_shape)
    assert ours.output_names == ["main_output", "aux_output"]
    assert_inference_matches(ours, theirs, (xa, xb), (y_main, y_aux))  # evaluate's list, in Keras' order
    logs = assert_one_step_matches(ours, theirs, (xa, xb), (y_main, y_aux))
    assert set(logs) == {"loss", "main_output_loss", "aux_output_loss", "main_output_mae", "aux_output_mae"}
    np.testing.assert_allclose(
        logs["loss"][0], 0.9 * logs["main_output_loss"][0] + 0.1 * logs["aux_output_loss"][0], rtol=1e-5
    )
    # inputs as a dict keyed by the Input names, targets as a dict keyed by the output layers' names
    by_name = ours.evaluate(
        {"deep_input": xb, "wide_input": xa}, {"aux_output": y_aux, "main_output": y_main}, return_dict=True
    )
    assert by_name["loss"] == pytest.approx(ours.evaluate((xa, xb), (y_main, y_aux))[0])
    predictions = ours.predict([xa, xb])
    assert isinstance(predictions, list) and [p.shape for p in predictions] == [(30, 1), (30, 1)]


def test_one_loss_for_every_output_and_dict_losses(rng):
    xa, xb = rng.normal(size=(16, 5)).astype(np.float32), rng.normal(size=(16, 6)).astype(np.float32)
    y = (xa[:, :1], xb[:, :1])
    one, per_name = _wide_and_deep(keras, "two"), _wide_and_deep(keras, "two")
    one.compile(loss="mse", optimizer="sgd")
    per_name.compile(loss={"main_output": "mse", "aux_output": "mse"}, optimizer="sgd")
    one.build(one.input_shape)
    per_name.build(per_name.input_shape)
    per_name.set_weights(one.get_weights())
    assert one.evaluate((xa, xb), y) == pytest.approx(per_name.evaluate((xa, xb), y))
    with pytest.raises(ValueError, match="not outputs"):
        per_name.compile(loss={"main": "mse"}, optimizer="sgd")
    with pytest.raises(ValueError, match="2 outputs"):
        one.fit((xa, xb), xa[:, :1])


@pytest.mark.parametrize("suffix", [".npz", ".orbax"])  # jaxnet's file, an Orbax checkpoint folder
def test_save_and_load_model_predict_the_same(tmp_path, data, suffix):
    x, y = data
    model = _wide_and_deep(keras)
    model.compile(loss="mse", optimizer="sgd")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / f"wide_deep{suffix}")
    loaded = keras.models.load_model(tmp_path / f"wide_deep{suffix}")
    assert isinstance(loaded, keras.Model) and loaded.layers[3].__class__ is Concatenate
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.evaluate(x, y) == pytest.approx(model.evaluate(x, y))
    # several outputs: the per-output losses, weights and metrics are saved as they were given
    two = _wide_and_deep(keras, "two")
    two.compile(
        loss=["mse", "mae"],
        loss_weights={"aux_output": 0.5},
        metrics={"aux_output": ["mse"]},
        optimizer=keras.optimizers.SGD(lr=0.01, momentum=0.9),
    )
    inputs, targets = (x[:, :5], x[:, 2:]), [y, y]
    two.fit(inputs, targets, epochs=1, verbose=0)
    two.save(tmp_path / f"two{suffix}")
    loaded = keras.models.load_model(tmp_path / f"two{suffix}")
    assert loaded.evaluate(inputs, targets, return_dict=True) == pytest.approx(
        two.evaluate(inputs, targets, return_dict=True)
    )
    assert loaded.fit(inputs, targets, epochs=1, verbose=0).history.keys() == {
        "loss",
        "main_output_loss",
        "aux_output_loss",
        "aux_output_mse",
    }


def test_sequential_and_shared_layers_called_on_tensors(rng):
    x = rng.normal(size=(4, 3)).astype(np.float32)
    block = keras.Sequential([keras.layers.Dense(5, activation="relu", input_shape=(3,)), keras.layers.Dense(2)])
    shared = keras.layers.Dense(2, name="shared")
    a, b = keras.Input((3,)), keras.Input((3,))
    model = keras.Model([a, b], [shared(block(a)), shared(block(b))])
    model.build(model.input_shape)
    params = model.params
    assert set(params) == {"input_layer", "input_layer_1", "sequential", "shared"}  # one set of weights each
    out_a, out_b = model.predict([x, 2 * x])
    w, s = params["sequential"], params["shared"]
    expected = jaxnet.model.Sequential(block.layers).apply(w, x) @ s["w"] + s["b"]
    np.testing.assert_allclose(out_a, expected, rtol=1e-5, atol=1e-6)
    shared_row = [r for r in table_rows(_printed(model.summary)) if r[0].startswith("shared")]
    assert shared_row == [("shared (Dense)", "(None, 2)", "6", "sequential[0][0], sequential[1][0]")]  # as Keras


def test_functional_is_a_jaxnet_layer_for_fit_and_jaxprs(data):
    x, y = data
    inputs = Input((8,))
    model = Functional(inputs, Dense(1, name="out")(Concatenate()([inputs, Dense(4)(inputs)])))
    params = model.init(jax.random.key(0), (8,))
    jaxpr = str(jax.make_jaxpr(lambda p: model.apply(p, x))(params))
    assert "dot_general" in jaxpr
    trained, history = train.fit(
        model, params, x, y, loss="mse", optimizer="sgd", learning_rate=0.05, epochs=5, batch_size=8, verbose=0
    )
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert train.evaluate(model, trained, x, y, loss="mse", metrics=[])["loss"] == pytest.approx(
        float(np.mean((np.asarray(model.apply(trained, x)) - y) ** 2)), rel=1e-5
    )


def test_parallel_trains_on_a_tuple_like_keras_two_inputs(K, rng):
    xa, xb = rng.normal(size=(24, 4)).astype(np.float32), rng.normal(size=(24, 5)).astype(np.float32)
    y = (xa.sum(1, keepdims=True) - xb[:, :1]).astype(np.float32)
    network = jaxnet.model.Sequential([jaxnet.model.Parallel([Dense(3), Dense(2)]), Concatenate(), Dense(1)])
    params = network.init(jax.random.key(1), ((4,), (5,)))
    trained, history = train.fit(
        network,
        params,
        (xa, xb),
        y,
        loss="mse",
        optimizer="sgd",
        learning_rate=0.1,
        epochs=1,
        batch_size=24,
        shuffle=False,
        verbose=0,
    )
    a, b = K.Input((4,)), K.Input((5,))
    ref = K.Model([a, b], K.layers.Dense(1)(K.layers.concatenate([K.layers.Dense(3)(a), K.layers.Dense(2)(b)])))
    ref.set_weights(
        [
            params["parallel"]["dense"]["w"],
            params["parallel"]["dense"]["b"],
            params["parallel"]["dense_1"]["w"],
            params["parallel"]["dense_1"]["b"],
            params["dense"]["w"],
            params["dense"]["b"],
        ]
    )
    ref.compile(loss="mse", optimizer=K.optimizers.SGD(learning_rate=0.1))
    expected = ref.fit((xa, xb), y, batch_size=24, epochs=1, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(history.history["loss"], expected, rtol=1e-5)
    np.testing.assert_allclose(trained["dense"]["w"], ref.get_weights()[4], rtol=1e-5, atol=1e-7)
    # a list and a dict of inputs are pytrees too; predict and evaluate batch every leaf alike
    assert np.asarray(train.predict(network, trained, [xa, xb], batch_size=5)).shape == (24, 1)
    with pytest.raises(ValueError, match=r"same number of examples: x\[0\] has 24, x\[1\] has 23"):
        train.fit(network, params, (xa, xb[:23]), y, loss="mse", verbose=0)


def test_clear_errors():
    with pytest.raises(TypeError, match="called on ndarray"):
        Dense(2)(np.ones((1, 3)))
    a, b = Input((3,)), Input((3,))
    with pytest.raises(ValueError, match="not among the model's inputs"):
        Functional(a, Concatenate()([a, b]))
    model = keras.Model([a, b], Concatenate()([a, b]))
    with pytest.raises(ValueError, match="takes 2 inputs"):
        model.predict(np.ones((2, 3)))
    with pytest.raises(TypeError, match="cannot add layers"):
        model.add(Dense(1))


def test_plot_model_draws_the_graph():
    pytest.importorskip("graphviz")
    from graphviz_tools import plot_model

    model = _wide_and_deep(keras, "two")
    source = plot_model(model.network, model.input_shape).source
    boxes = dict(re.findall(r"(layer\d+) \[label=<.*?<b>(\w+) \(", source))
    edges = {(boxes[a], boxes[b]) for a, b in re.findall(r"(layer\d+) -> (layer\d+)", source)}
    assert edges == {
        ("deep_input", "hidden1"),
        ("hidden1", "hidden2"),
        ("wide_input", "concat"),
        ("hidden2", "concat"),
        ("concat", "main_output"),
        ("hidden2", "aux_output"),
    }


def _batch_norm_net(k):
    inputs = k.layers.Input(shape=(4,))
    hidden = k.layers.BatchNormalization()(k.layers.Dense(6, activation="relu")(inputs))
    return k.Model(inputs, k.layers.Dense(3, activation="softmax")(hidden))


def test_batch_normalization_statistics_move_in_a_functional_model_as_in_keras(K, rng):
    x = rng.normal(1.0, 2.0, (21, 4)).astype(np.float32)  # 21: the last batch of 8 is partial
    y = rng.integers(0, 3, 21)
    ours, theirs = _batch_norm_net(keras), _batch_norm_net(K)
    for model in (ours, theirs):
        model.compile(
            optimizer=K.optimizers.SGD(learning_rate=0.1)
            if model is theirs
            else keras.optimizers.SGD(learning_rate=0.1),
            loss="sparse_categorical_crossentropy",
        )
    ours.build(ours.input_shape)
    assert_inference_matches(ours, theirs, x)  # copies the weights, moving statistics included
    before = ours.get_weights()[4].copy()
    ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for i, (a, b) in enumerate(zip(ours.get_weights(), theirs.get_weights(), strict=True)):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6, err_msg=f"weight {i}")
    assert not np.allclose(ours.get_weights()[4], before)  # the moving mean moved
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_one_output_takes_metrics_by_output_name(rng):
    input_ = keras.Input((4,))
    model = keras.Model(input_, keras.layers.Dense(2, name="out")(input_))
    model.compile(optimizer="sgd", loss="mse", metrics={"out": ["mae"]}, weighted_metrics={"out": "mse"})
    history = model.fit(rng.normal(size=(8, 4)), rng.normal(size=(8, 2)), epochs=1, verbose=0)
    assert {"loss", "mae", "mse"} <= set(history.history)
