"""Labels are checked by the form the loss declares (not its name), in fit and in evaluate."""

import functools

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

from jaxnet import Dense, Sequential, evaluate, fit, losses
from jaxnet._src.labels import CLASS_INDEX, ONE_HOT, TARGETS, label_form, one_hot

KEY = jax.random.key(0)
MODEL = Sequential([Dense(3, activation="softmax")])
X = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
SPARSE = np.array([0, 1, 2, 1, 0, 2, 2, 1, 0, 1])
ONE_HOT_Y = np.eye(3, dtype=np.float32)[SPARSE]


def test_every_registered_loss_declares_its_labels():
    expected = {
        "sparse_categorical_crossentropy": CLASS_INDEX,
        "categorical_crossentropy": ONE_HOT,
        "mse": TARGETS,
        "binary_crossentropy": TARGETS,
        "hinge": TARGETS,
    }
    for name, form in expected.items():
        assert label_form(losses.get(name)) == form
    wrapped = functools.partial(losses.sparse_categorical_crossentropy, from_logits=False)
    assert label_form(wrapped) == CLASS_INDEX


@pytest.mark.parametrize(
    "loss,y,message",
    [
        (
            "sparse_categorical_crossentropy",
            ONE_HOT_Y,
            "one-hot rows, but sparse_categorical_crossentropy takes class "
            "indices: use loss='categorical_crossentropy'",
        ),
        # batch size 10 would broadcast (10,) against (10, 3) silently without the check
        ("categorical_crossentropy", SPARSE, "class indices, but categorical_crossentropy takes one-hot rows"),
        (
            "sparse_categorical_crossentropy",
            SPARSE + 1,
            r"in \[0, 2\] for a model with 3 outputs, got labels from 1 to 3",
        ),
        ("sparse_categorical_crossentropy", SPARSE - 0.5, "whole-number class labels"),
        (functools.partial(losses.sparse_categorical_crossentropy), SPARSE * 5, "got labels from 0 to 10"),
        (
            lambda p, t, sample_weight=None: losses.sparse_categorical_crossentropy(p, t, sample_weight),
            SPARSE * 5,
            "got labels from 0 to 10",
        ),
        ("mse", np.zeros((10, 2)), "must hold as many values"),
    ],
)
def test_fit_and_evaluate_refuse_labels_the_loss_cannot_take(loss, y, message):
    params = MODEL.init(KEY, (4,))
    with pytest.raises(ValueError, match=message):
        fit(MODEL, params, X, y, loss=loss, verbose=0)
    with pytest.raises(ValueError, match=message):
        evaluate(MODEL, params, X, y, loss=loss)


def test_evaluate_out_of_range_is_an_error_not_zero():
    with pytest.raises(ValueError, match="evaluation labels must be class labels"):
        evaluate(MODEL, MODEL.init(KEY, (4,)), X, SPARSE + 3)


def test_right_labels_pass_and_one_hot_matches_numpy():
    params = MODEL.init(KEY, (4,))
    sparse = evaluate(MODEL, params, X, SPARSE, loss="sparse_categorical_crossentropy")
    dense = evaluate(MODEL, params, X, ONE_HOT_Y, loss="categorical_crossentropy")
    assert sparse["loss"] == pytest.approx(dense["loss"], rel=1e-6)
    np.testing.assert_array_equal(one_hot(SPARSE, 3, np.float32), np.eye(3, dtype=np.float32)[SPARSE])
    assert one_hot(jnp.array([2]), 3, jnp.bfloat16, jnp).dtype == jnp.bfloat16


def test_bfloat16_inputs_with_nan_are_refused():
    x = X.astype(ml_dtypes.bfloat16)
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        fit(MODEL, MODEL.init(KEY, (4,)), x, SPARSE, verbose=0)
