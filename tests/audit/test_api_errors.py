"""Audit, API family: a wrong argument, data type or model call is one clear error naming what was wrong and
what to pass, raised before anything is compiled or trained."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnet import Dense, Flatten, ModelCheckpoint, Sequential, callbacks, evaluate, fit, predict

KEY = jax.random.key(0)
MODEL = Sequential([Flatten(), Dense(3, activation="softmax")])
PARAMS = MODEL.init(KEY, (4,))
X, Y = np.ones((6, 4), np.float32), np.zeros(6, np.int32)

ARGUMENTS = [
    (dict(epochs=2.5), TypeError, "epochs must be a non-negative integer, got 2.5"),
    (dict(epochs="3"), TypeError, "epochs must be a non-negative integer"),
    (dict(epochs=True), TypeError, "epochs must be a non-negative integer"),
    (dict(epochs=-1), ValueError, "epochs must be a non-negative integer, got -1"),
    (dict(batch_size=2.0), TypeError, "batch_size must be a positive integer"),
    (dict(initial_epoch=-2), ValueError, "initial_epoch must be a non-negative integer"),
    (dict(validation_data=(X, Y, Y, Y)), ValueError, "must be a pair .* of 4 items"),
    (dict(validation_data=X), ValueError, "must be a pair"),
    (dict(validation_data={"x": X, "y": Y}), ValueError, "must be a pair"),
    (dict(validation_data=(X, Y), validation_split=0.2), ValueError, "not both"),
    (dict(validation_split="0.1"), TypeError, "validation_split must be a fraction"),
    (dict(learning_rate="0.01"), TypeError, "learning_rate must be a number or an Optax schedule, got '0.01'"),
    (dict(learning_rate=-1.0), ValueError, "learning_rate must be a positive finite number"),
    (dict(learning_rate=float("nan")), ValueError, "learning_rate must be a positive finite number"),
    (dict(key=0), TypeError, "key must be a JAX PRNG key .* a seed number is not a key"),
    (dict(key=np.array([1, 2, 3])), TypeError, "key must be a JAX PRNG key"),
    (dict(devices=["cpu"]), TypeError, "devices must be jax.Device objects"),
    (dict(devices="cpu"), TypeError, "devices must be a list of jax.Device"),
]


@pytest.mark.parametrize("kwargs,error,match", ARGUMENTS, ids=[str(a) for a, _, _ in ARGUMENTS])
def test_fit_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        fit(MODEL, PARAMS, X, Y, verbose=0, **kwargs)


def _generator():
    yield from X


DATA = [
    (None, "is None"),
    (_generator(), "is an iterator"),
    (iter(list(X)), "is an iterator"),
    (np.array([["a"] * 4] * 6), "holds <U1 values"),
    (np.array([[object()] * 4] * 6), "holds object values"),
    (X.astype(np.complex64), "is complex"),
    ("abcdef", "is a str"),
    ([[1.0, 2.0], [1.0]] * 3, "cannot be made into one array"),
]


@pytest.mark.parametrize("data,match", DATA, ids=[m for _, m in DATA])
def test_data_that_is_not_an_array_of_numbers(data, match):
    with pytest.raises(TypeError, match="training x " + match):
        fit(MODEL, PARAMS, data, Y, verbose=0)
    with pytest.raises(TypeError, match="evaluation y " + match):
        evaluate(MODEL, PARAMS, X, data)
    with pytest.raises(TypeError, match="predict's x " + match):
        predict(MODEL, PARAMS, data)


def test_wrong_input_shape_names_the_users_shape():
    with pytest.raises(ValueError, match=r"x of shape \(4,\) .*pass x\[None\]"):
        predict(MODEL, PARAMS, np.ones(4))
    with pytest.raises(ValueError, match=r"x of shape \(6, 5\) .*one example is \(5,\)"):
        fit(MODEL, PARAMS, np.ones((6, 5)), Y, verbose=0)
    with pytest.raises(ValueError, match=r"got \(4, 1\); the model was given x of shape \(4,\).*pass x\[None\]"):
        MODEL.apply(PARAMS, np.ones(4))  # Flatten took the 4 features for 4 examples


@pytest.mark.parametrize("params", [Sequential([Dense(5)]).init(KEY, (4,)), {}, [1, 2], None])
def test_parameters_of_another_model(params):
    with pytest.raises(ValueError, match="do not belong to this Sequential"):
        MODEL.apply(params, X)
    with pytest.raises(ValueError, match="do not belong to this Sequential"):
        predict(MODEL, params, X)


def test_apply_takes_lists_and_refuses_none():
    np.testing.assert_allclose(MODEL.apply(PARAMS, X.tolist()), MODEL.apply(PARAMS, jnp.asarray(X)))
    with pytest.raises(TypeError, match="x=None"):
        MODEL.apply(PARAMS, None)


class _CountEpochs(callbacks.Callback):
    def __init__(self):
        self.epochs = 0

    def on_epoch_end(self, epoch, logs, state):
        self.epochs += 1


@pytest.mark.parametrize(
    "filepath,match",
    [
        ("{val_loss:.2f}.npz", r"names \['val_loss'\]"),
        ("{epoch:02d", "not a valid format string"),
        ("{acc}.npz", r"names \['acc'\]"),
        ("{epoch:s}.npz", "cannot be formatted"),
    ],
)
def test_model_checkpoint_path_is_checked_before_the_first_epoch(tmp_path, filepath, match):
    counter = _CountEpochs()
    with pytest.raises(ValueError, match=match):
        fit(MODEL, PARAMS, X, Y, epochs=2, verbose=0, callbacks=[counter, ModelCheckpoint(tmp_path / filepath)])
    assert counter.epochs == 0 and list(tmp_path.iterdir()) == []


def test_a_metric_that_cannot_take_the_labels_names_itself_and_the_shapes():
    sparse = r"metric 'mse' cannot compare a batch's predictions of shape \(\d+, 3\) with targets of shape \(\d+,\)"
    with pytest.raises(ValueError, match=sparse + r".*integer class labels.*to_categorical"):
        fit(MODEL, PARAMS, X, Y, metrics=["mse"], verbose=0)
    with pytest.raises(ValueError, match=sparse):
        fit(MODEL, PARAMS, X, Y, weighted_metrics=["mse"], sample_weight=np.ones(6), verbose=0)
    with pytest.raises(ValueError, match=sparse):
        evaluate(MODEL, PARAMS, X, Y, metrics=["mse"])
