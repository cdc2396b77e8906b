"""The course notes' Keras code with ``from jaxnet import keras``: namespaces, the Keras face's API, interruption."""

import os
import pathlib
import signal
import subprocess
import sys
import textwrap

import jax
import numpy as np
import optax
import pytest

import jaxnet
from jaxnet import keras
from jaxnet.callbacks import Callback, copy_tree


def _data(n=64, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0) * (classes - 2)


def _leaves_equal(a, b):
    return all(np.array_equal(u, v) for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_import_forms():
    from jaxnet.keras import datasets, layers, models
    from jaxnet.keras.datasets.mnist import load_data
    from jaxnet.keras.layers import Dense
    from jaxnet.keras.models import Sequential

    assert Sequential is keras.Sequential is models.Sequential
    assert Dense is keras.layers.Dense is layers.Dense is jaxnet.layers.Dense
    assert models.load_model is keras.load_model is jaxnet.load_model
    assert callable(load_data) and datasets.cifar10.load_data and datasets.fashion_mnist.load_data
    for name in ("Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Activation", "Concatenate"):
        assert getattr(keras.layers, name) is getattr(jaxnet.layers, name)
    assert keras.callbacks.EarlyStopping is jaxnet.callbacks.EarlyStopping
    assert keras.losses.categorical_crossentropy is jaxnet.losses.categorical_crossentropy
    assert keras.metrics.accuracy is jaxnet.metrics.accuracy


def test_datasets_load_data_returns_keras_split(monkeypatch):
    calls = []
    split = ((np.zeros((2, 1)), np.zeros(2)), (np.zeros((1, 1)), np.zeros(1)))
    for name in ("mnist", "fashion_mnist", "cifar10", "boston_housing"):
        monkeypatch.setattr(jaxnet.datasets, f"load_{name}", lambda *a, _n=name, **k: calls.append(_n) or split)
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
        assert (x_train.shape, y_train.shape, x_test.shape, y_test.shape) == ((2, 1), (2,), (1, 1), (1,))
    assert calls == ["mnist", "fashion_mnist", "cifar10", "boston_housing"]


@pytest.mark.parametrize(
    "keras_opt, optax_opt",
    [
        (keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True), optax.sgd(0.1, momentum=0.9, nesterov=True)),
        (keras.optimizers.SGD(), optax.sgd(0.01)),
        (keras.optimizers.Adagrad(), optax.adagrad(0.001, initial_accumulator_value=0.1, eps=1e-7)),
        (keras.optimizers.RMSprop(rho=0.8), optax.rmsprop(0.001, decay=0.8, eps=1e-7, eps_in_sqrt=False)),
        (keras.optimizers.Adam(beta_2=0.99), optax.adam(0.001, b2=0.99, eps=1e-7)),
    ],
)
def test_optimizers_build_the_equivalent_optax_transformation(keras_opt, optax_opt):
    params = {"w": np.array([1.0, -2.0, 3.0], np.float32)}
    grads = {"w": np.array([0.5, 0.1, -1.0], np.float32)}
    (a, _), (b, _) = (opt.update(grads, opt.init(params), params) for opt in (keras_opt, optax_opt))
    np.testing.assert_allclose(a["w"], b["w"], rtol=1e-6)


def test_rmsprop_matches_keras_update_rule():
    # Keras: v = rho v + (1 - rho) g^2; w -= lr g / (sqrt(v) + eps)
    g = np.array([0.5, -0.25], np.float32)
    update, _ = keras.optimizers.RMSprop(0.01).update({"w": g}, keras.optimizers.RMSprop(0.01).init({"w": g}))
    np.testing.assert_allclose(update["w"], -0.01 * g / (np.sqrt(0.1 * g**2) + 1e-7), rtol=1e-5)


def test_compile_accepts_keras_optimizer_and_fits():
    x, y = _data()
    model = keras.Sequential(
        [keras.layers.Dense(8, activation="relu", input_shape=(4,)), keras.layers.Dense(3, activation="softmax")]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy", metrics="accuracy"
    )
    history = model.fit(x, y, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}


def test_to_categorical():
    out = keras.utils.to_categorical([0, 2, 1])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.eye(3)[[0, 2, 1]])
    assert keras.utils.to_categorical(np.array([[1], [0]]), num_classes=4).shape == (2, 4)


def test_plot_model_writes_the_file(tmp_path):
    pytest.importorskip("graphviz")
    from graphviz_tools.render import GraphvizNotInstalled, require_dot

    try:
        require_dot()
    except GraphvizNotInstalled:
        pytest.skip("Graphviz 'dot' is not installed")
    model = keras.Sequential([keras.layers.Dense(2, input_dim=3)])
    keras.utils.plot_model(model, to_file=tmp_path / "model.png", show_shapes=True)
    assert (tmp_path / "model.png").stat().st_size > 0


def test_keras_face_api(capsys):
    x, y = _data()
    model = keras.models.Sequential(name="clf")
    model.add(keras.Input(shape=(4,)))
    model.add(keras.layers.Dense(8, activation="relu", name="hidden"))
    model.add(keras.layers.Dense(3, activation="softmax"))
    assert model.name == "clf" and len(model.layers) == 2
    assert model.get_layer("hidden") is model.layers[0]
    with pytest.raises(ValueError, match="no layer named"):
        model.get_layer("nope")
    assert model.count_params() == 4 * 8 + 8 + 8 * 3 + 3
    print(model.summary())
    out = capsys.readouterr().out
    assert out.count("hidden") == 1 and out.rstrip().endswith("None")

    model.compile(optimizer="Adam", loss="sparse_categorical_crossentropy", metrics=["acc"])
    history = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "acc", "val_loss", "val_acc"}
    loss, acc = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float) and 0.0 <= acc <= 1.0
    assert model.predict(x, verbose=0).shape == (64, 3)

    weights = model.get_weights()
    model.set_weights([w + 1 for w in weights])
    np.testing.assert_allclose(model.get_weights()[0], weights[0] + 1)
    with pytest.raises(ValueError, match="expected 4 arrays"):
        model.set_weights(weights[:1])

    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)


def test_input_dim_and_input_shape_build_the_model():
    assert keras.Sequential([keras.layers.Dense(2, input_dim=3)]).get_weights()[0].shape == (3, 2)
    conv = keras.Sequential([keras.layers.Conv2D(2, 3, input_shape=(5, 5, 1)), keras.layers.Flatten()])
    assert conv.count_params() == 3 * 3 * 2 + 2
    assert keras.Sequential([keras.layers.Flatten(input_shape=[2, 2]), keras.layers.Dense(1)]).input_shape == (2, 2)


def test_params_kept_when_a_callback_raises():
    x, y = _data()
    model = keras.Sequential([keras.layers.Dense(3, activation="softmax")], input_shape=(4,))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    initial = copy_tree(model._built("fit"))

    class FailAtEpoch3(Callback):
        def on_epoch_end(self, epoch, logs, state):
            self.after = copy_tree(state.params)  # the parameters after this epoch

        def on_epoch_begin(self, epoch, state):
            if epoch == 3:
                raise OSError("disk full")

    failing = FailAtEpoch3()
    with pytest.raises(OSError, match="disk full"):
        model.fit(x, y, epochs=10, verbose=0, callbacks=[failing])
    assert _leaves_equal(model.params, failing.after)
    assert not _leaves_equal(model.params, initial)
    model.fit(x, y, epochs=1, verbose=0)  # the kept optimizer state goes on


def test_params_kept_on_a_real_sigint(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(
        textwrap.dedent("""
        import numpy as np, jax
        from jaxnet import keras
        x = np.random.default_rng(0).normal(size=(20000, 8)).astype(np.float32)
        y = (x[:, 0] > 0).astype(np.int32)
        model = keras.Sequential([keras.layers.Dense(2, activation="softmax")], input_shape=(8,))
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        initial = [w.copy() for w in model.get_weights()]
        try:
            model.fit(x, y, epochs=100000, batch_size=32, verbose=2)
        except KeyboardInterrupt:
            changed = any(not np.array_equal(a, b) for a, b in zip(initial, model.get_weights()))
            print("INTERRUPTED changed=" + str(changed), flush=True)
    """)
    )
    root = str(pathlib.Path(__file__).parents[2])  # this checkout's jaxnet, not another installed one
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-u", str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if "loss" in line:  # the first epoch has been printed
                proc.send_signal(signal.SIGINT)
                break
        out = proc.communicate(timeout=120)[0]
    finally:
        proc.kill()
    assert "INTERRUPTED changed=True" in out, "".join(lines) + out


def test_a_first_keras_input_is_taken_out_even_with_input_shape():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], input_shape=(3,))
    assert model.input_shape == (3,) and len(model.layers) == 1
