import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnet import losses as L
from jaxnet.book.numerical import numerical_gradient

Y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])


def one_hot(i, n=10):
    return jax.nn.one_hot(i, n)


def test_book_sum_squared_error():
    assert float(L.sum_squared_error(Y, one_hot(2))) == pytest.approx(0.0975, abs=1e-7)
    assert float(L.sum_squared_error(Y, one_hot(7))) == pytest.approx(0.5975, abs=1e-7)


def test_book_cross_entropy_error(x64):
    y = jnp.asarray(Y, jnp.float64)
    assert float(L.cross_entropy_error(y, one_hot(2))) == pytest.approx(0.510825457, abs=1e-9)
    assert float(L.cross_entropy_error(y, one_hot(7))) == pytest.approx(2.302584093, abs=1e-9)
    # integer labels and a batch: the batch average of the two
    batch = jnp.stack([y, y])
    assert float(L.cross_entropy_error(batch, jnp.array([2, 7]))) == pytest.approx(
        (0.510825457 + 2.302584093) / 2, abs=1e-9
    )


def test_keras_forms_against_numpy(rng):
    pred, true = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    assert float(L.mean_squared_error(pred, true)) == pytest.approx(np.mean((pred - true) ** 2), rel=1e-5)
    assert float(L.mean_absolute_error(pred, true)) == pytest.approx(np.mean(np.abs(pred - true)), rel=1e-5)
    err = np.abs(pred - true)
    huber = np.where(err <= 1, 0.5 * err**2, err - 0.5)
    assert float(L.huber(pred, true)) == pytest.approx(huber.mean(), rel=1e-5)
    labels = np.array([1, 0, 2, 1])
    logits = rng.normal(size=(4, 3))
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    expected = -logp[np.arange(4), labels].mean()
    assert float(L.sparse_categorical_crossentropy(logits, labels, from_logits=True)) == pytest.approx(
        expected, rel=1e-5
    )
    probs = np.exp(logp)
    assert float(L.sparse_categorical_crossentropy(probs, labels)) == pytest.approx(expected, rel=1e-5)
    assert float(L.categorical_crossentropy(probs, np.eye(3)[labels])) == pytest.approx(expected, rel=1e-5)
    t = np.array([1, 0, 1, 1.0])
    z = rng.normal(size=4)
    p = 1 / (1 + np.exp(-z))
    bce = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert float(L.binary_crossentropy(z, t, from_logits=True)) == pytest.approx(bce, rel=1e-5)
    assert float(L.binary_crossentropy(p, t)) == pytest.approx(bce, rel=1e-5)
    assert float(L.hinge(z, t)) == pytest.approx(np.mean(np.maximum(0, 1 - np.where(t == 0, -1, t) * z)), rel=1e-5)


def test_logits_form_is_stable():
    huge = jnp.array([[1000.0, -1000.0]])
    assert np.isfinite(float(L.sparse_categorical_crossentropy(huge, jnp.array([1]), from_logits=True)))


def test_sample_weight_follows_keras_reductions(rng):
    # the example: per-example errors 1 and 9, weights 0.1 each
    pred, true, w = np.array([[1.0], [3.0]]), np.zeros((2, 1)), np.array([0.1, 0.1])
    assert float(L.mean_squared_error(pred, true, sample_weight=w)) == pytest.approx(0.5)  # sum(w*l) / 2
    assert float(
        L.mean_squared_error(pred, true, sample_weight=w, reduction="mean_with_sample_weight")
    ) == pytest.approx(5.0)
    assert float(L.mean_squared_error(pred, true, sample_weight=w, reduction="sum")) == pytest.approx(1.0)
    np.testing.assert_allclose(L.mean_squared_error(pred, true, sample_weight=w, reduction="none"), [0.1, 0.9])
    # zero weights: zeros in the sum, the batch size in the divisor (Keras masks padding by scaling the weights)
    pred, true = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    weights = np.array([1, 1, 1, 0, 0])
    assert float(L.mean_squared_error(pred, true, sample_weight=weights)) == pytest.approx(
        float(L.mean_squared_error(pred[:3], true[:3])) * 3 / 5, rel=1e-6
    )
    assert float(L.mean_squared_error(pred, true, sample_weight=np.zeros(5), reduction="mean_with_sample_weight")) == 0
    with pytest.raises(ValueError, match="unknown reduction 'avg'.*sum_over_batch_size"):
        L.mean_squared_error(pred, true, reduction="avg")


KERAS_CASES = {  # jaxnet loss, Keras 3 class, keyword arguments, (y_pred, y_true) maker
    "mse": (L.mean_squared_error, "MeanSquaredError", {}, lambda r: (r.normal(size=(6, 3)), r.normal(size=(6, 3)))),
    "mae": (L.mean_absolute_error, "MeanAbsoluteError", {}, lambda r: (r.normal(size=(6, 3)), r.normal(size=(6, 3)))),
    "huber": (L.huber, "Huber", {"delta": 0.7}, lambda r: (2 * r.normal(size=(6, 3)), r.normal(size=(6, 3)))),
    "cce": (
        L.categorical_crossentropy,
        "CategoricalCrossentropy",
        {},
        lambda r: (r.dirichlet(np.ones(4), size=6), np.eye(4)[r.integers(0, 4, 6)]),
    ),
    "cce_logits": (
        L.categorical_crossentropy,
        "CategoricalCrossentropy",
        {"from_logits": True},
        lambda r: (3 * r.normal(size=(6, 4)), np.eye(4)[r.integers(0, 4, 6)]),
    ),
    "scce": (
        L.sparse_categorical_crossentropy,
        "SparseCategoricalCrossentropy",
        {},
        lambda r: (r.dirichlet(np.ones(4), size=6), r.integers(0, 4, 6)),
    ),
    "scce_logits": (
        L.sparse_categorical_crossentropy,
        "SparseCategoricalCrossentropy",
        {"from_logits": True},
        lambda r: (3 * r.normal(size=(6, 4)), r.integers(0, 4, (6, 1))),
    ),
    "bce": (
        L.binary_crossentropy,
        "BinaryCrossentropy",
        {},
        lambda r: (r.uniform(0.01, 0.99, size=(6, 2)), r.integers(0, 2, (6, 2)).astype(float)),
    ),
    "bce_logits": (
        L.binary_crossentropy,
        "BinaryCrossentropy",
        {"from_logits": True},
        lambda r: (3 * r.normal(size=(6, 1)), r.integers(0, 2, (6, 1)).astype(float)),
    ),
    "hinge": (L.hinge, "Hinge", {}, lambda r: (r.normal(size=(6, 2)), r.integers(0, 2, (6, 2)).astype(float))),
    "squared_hinge": (
        L.squared_hinge,
        "SquaredHinge",
        {},
        lambda r: (r.normal(size=(6, 2)), r.integers(0, 2, (6, 2)).astype(float)),
    ),
}


@pytest.mark.parametrize("reduction", L.REDUCTIONS)
@pytest.mark.parametrize("case", sorted(KERAS_CASES))
def test_reductions_match_keras_loss_objects(case, reduction, rng):
    keras = keras_or_skip()
    loss, cls, kwargs, make = KERAS_CASES[case]
    pred, true = (a.astype(np.float32) if a.dtype.kind == "f" else a for a in make(rng))
    weights = rng.uniform(0, 2, size=len(pred)).astype(np.float32)
    keras_loss = getattr(keras.losses, cls)(reduction=reduction, **kwargs)
    for w in (None, weights):
        expected = np.asarray(keras_loss(true, pred, sample_weight=w))
        got = loss(pred, true, sample_weight=w, reduction=reduction, **kwargs)  # jaxnet's keywords are Keras'
        np.testing.assert_allclose(np.asarray(got), expected, rtol=2e-6, atol=1e-6, err_msg=f"{case} {reduction} {w}")


def keras_or_skip():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


GRAD_CASES = {
    "mean_squared_error": lambda r: (r.normal(size=(3, 4)), r.normal(size=(3, 4))),
    "mean_absolute_error": lambda r: (r.normal(size=(3, 4)), r.normal(size=(3, 4)) + 5),
    "huber": lambda r: (r.normal(size=(3, 4)) * 3, r.normal(size=(3, 4))),
    "categorical_crossentropy": lambda r: (r.uniform(0.1, 1, size=(3, 4)), np.eye(4)[[0, 2, 3]]),
    "sparse_categorical_crossentropy": lambda r: (r.uniform(0.1, 1, size=(3, 4)), np.array([0, 2, 3])),
    "binary_crossentropy": lambda r: (r.uniform(0.1, 0.9, size=(5,)), np.array([0, 1, 1, 0, 1.0])),
    "hinge": lambda r: (r.normal(size=(5,)) * 0.3, np.array([0, 1, 1, 0, 1.0])),
    "squared_hinge": lambda r: (r.normal(size=(5,)) * 0.3, np.array([0, 1, 1, 0, 1.0])),
    "sum_squared_error": lambda r: (r.uniform(size=(10,)), np.eye(10)[2]),
    "cross_entropy_error": lambda r: (r.uniform(0.1, 1, size=(2, 10)), np.array([2, 7])),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradient_matches_finite_differences(name, x64, rng):
    pred, true = GRAD_CASES[name](rng)
    loss = lambda p: L.get(name)(jnp.asarray(p), jnp.asarray(true))
    np.testing.assert_allclose(
        jax.grad(loss)(jnp.asarray(pred)), numerical_gradient(loss, pred, h=1e-6), rtol=1e-5, atol=1e-8
    )


def test_unknown_loss_name():
    with pytest.raises(ValueError, match="unknown loss 'sparse_categorical'.*sparse_categorical_crossentropy"):
        L.get("sparse_categorical")


def test_book_cross_entropy_one_hot_without_batch_axis():
    # The book's example as one row of probabilities and a flat one-hot target: -log(0.6) = 0.5108.
    y = Y[None, :]
    t = np.eye(10)[2]
    assert float(L.cross_entropy_error(y, t)) == pytest.approx(-np.log(0.6 + 1e-7), rel=1e-6)
