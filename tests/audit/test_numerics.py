"""Audit, numerics family: nothing silently wrong. Non-finite data in any float dtype, fractional or
out-of-range labels, the wrong label form at any batch size, extreme logits, half-precision divergence."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnet import Dense, Sequential, datasets, evaluate, fit, keras, losses
from jaxnet._src import checks

KEY = jax.random.key(0)
FLOATS = [np.float16, jnp.bfloat16, np.float32, np.float64]


@pytest.fixture(scope="module")
def classifier():
    model = Sequential([Dense(3, activation="softmax")])
    return model, model.init(KEY, (4,))


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["x", "y"])
@pytest.mark.parametrize("as_jax", [False, True], ids=["numpy", "jax"])
def test_non_finite_data_in_every_float_dtype(classifier, dtype, bad, where, as_jax):
    model, params = classifier
    x, y = np.ones((6, 4), dtype), np.zeros((6, 3), dtype)
    (x if where == "x" else y)[2, 1] = bad
    x, y = (jnp.asarray(x), jnp.asarray(y)) if as_jax else (x, y)
    for run in (
        lambda: fit(model, params, x, y, loss="categorical_crossentropy", verbose=0),
        lambda: evaluate(model, params, x, y, loss="categorical_crossentropy"),
    ):
        with pytest.raises(ValueError, match=f"{where} contains 1 NaN or infinite values"):
            run()


@pytest.mark.parametrize("shape,order", [((1000, 7), "C"), ((1000, 7), "F"), ((33, 5, 9), "C")])
def test_chunked_count_matches_a_whole_array_count(monkeypatch, shape, order, rng):
    monkeypatch.setattr(checks, "CHUNK_ELEMENTS", 64)
    a = np.asfortranarray(rng.normal(size=shape)) if order == "F" else rng.normal(size=shape)
    flat = rng.choice(a.size, 40, replace=False)
    np.put(a, flat[:20], np.nan)
    np.put(a, flat[20:], np.inf)
    for view in (a, a[::2], a.T, a.astype(np.float16)):
        assert checks.count_non_finite(view) == np.size(view) - np.count_nonzero(np.isfinite(view))


@pytest.mark.parametrize("encode", [datasets.one_hot, keras.utils.to_categorical])
@pytest.mark.parametrize(
    "labels,match",
    [
        ([0.0, 1.7], "whole-number"),
        ([0.5], "whole-number"),
        ([np.nan, 1.0], "whole-number"),
        ([np.inf], "whole-number"),
        (["a", "b"], "array of <U1"),
        ([-1, 0], r"in \[0, "),
        ([0, 3.0000001], "whole"),
    ],
)
def test_encoders_refuse_what_they_would_truncate(encode, labels, match):
    with pytest.raises(ValueError, match=match):
        encode(labels, 4) if "in \\[0" not in match else encode(labels)


@pytest.mark.parametrize("encode", [datasets.one_hot, keras.utils.to_categorical])
@pytest.mark.parametrize(
    "labels", [[0.0, 2.0], np.array([0, 2], np.uint8), [True, False], np.array([0, 2.0], jnp.bfloat16)]
)
def test_encoders_take_whole_numbers_of_any_dtype(encode, labels):
    np.testing.assert_array_equal(encode(labels, 3), np.eye(3, dtype=np.float32)[np.asarray(labels, np.int64)])


@pytest.mark.parametrize("y", [np.array([[0.1, 0.7, 0.2]]), np.array([0.1, 0.7, 0.2])])
@pytest.mark.parametrize(
    "t,match",
    [
        ([3], r"in \[0, 2\]"),
        ([-1], r"in \[0, 2\]"),
        ([0.5], "whole-number"),
        ([np.nan], "whole-number"),
        ([7], "from 7 to 7"),
    ],
)
def test_book_cross_entropy_refuses_bad_labels(y, t, match):
    with pytest.raises(ValueError, match=match):
        losses.cross_entropy_error(jnp.asarray(y), jnp.asarray(t))


def test_book_cross_entropy_is_the_books_number_for_every_label_spelling():
    y = jnp.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    onehot = jnp.eye(10)[2]
    expected = -np.log(0.6 + 1e-7)  # the book's 0.510825457
    for yy, t in [(y, 2), (y, onehot), (y[None], onehot), (y[None], onehot[None]), (y[None], jnp.array([2]))]:
        np.testing.assert_allclose(losses.cross_entropy_error(yy, t), expected, rtol=1e-6)


@pytest.mark.parametrize("batch", [1, 2, 3, 9, 10, 11, 32])
def test_label_form_is_detected_at_every_batch_size(batch, rng):
    classes = 10  # batch == classes is where a sparse vector used to broadcast silently against (N, C)
    probs = jax.nn.softmax(jnp.asarray(rng.normal(size=(batch, classes)), jnp.float32))
    indices = jnp.asarray(rng.integers(0, classes, batch))
    rows = jax.nn.one_hot(indices, classes)
    with pytest.raises(ValueError, match="class indices: use sparse_categorical_crossentropy"):
        losses.categorical_crossentropy(probs, indices)
    with pytest.raises(ValueError, match="one-hot rows: use categorical_crossentropy"):
        losses.sparse_categorical_crossentropy(probs, rows)
    np.testing.assert_allclose(
        losses.categorical_crossentropy(probs, rows), losses.sparse_categorical_crossentropy(probs, indices), rtol=1e-6
    )


@pytest.mark.parametrize("batch", [1, 3, 10])
def test_fit_names_the_loss_that_fits(batch):
    model = Sequential([Dense(10, activation="softmax")])
    params = model.init(KEY, (4,))
    x, indices = np.ones((batch, 4), np.float32), np.arange(batch) % 10
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        fit(model, params, x, indices, loss="categorical_crossentropy", verbose=0)
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        fit(model, params, x, np.eye(10)[indices], loss="sparse_categorical_crossentropy", verbose=0)


def _reference_ce(logits, label):
    """Cross entropy in float64 from the definition, with a stable log-sum-exp."""
    z = np.asarray(logits, np.float64)
    return float(np.log(np.sum(np.exp(z - z.max()))) + (z.max() - z[label]))


@pytest.mark.parametrize(
    "logits",
    [[2e38, 0.0], [2e38, -2e38], [3e38, -3e38, 0.0], [2e38, 2e38], [-1e38, 1e38, 0.0], [1e4, -1e4], [0.0, 0.0, 0.0]],
)
def test_from_logits_cross_entropy_is_finite_and_right_at_extreme_logits(logits):
    z = jnp.asarray([logits], jnp.float32)
    label = 0 if logits[0] >= max(logits) else int(np.argmax(logits))  # the loss stays finite in float32
    expected = _reference_ce(logits, label)
    t = jax.nn.one_hot(jnp.array([label]), len(logits))
    for value in (
        losses.categorical_crossentropy(z, t, from_logits=True),
        losses.sparse_categorical_crossentropy(z, jnp.array([label]), from_logits=True),
    ):
        np.testing.assert_allclose(float(value), expected, atol=1e-6)
    grads = jax.grad(lambda v: losses.categorical_crossentropy(v, t, from_logits=True))(z)
    assert bool(jnp.all(jnp.isfinite(grads)))
    optax_value = float(optax.softmax_cross_entropy(z, t)[0])
    if np.isfinite(optax_value):  # where optax is finite, both agree
        np.testing.assert_allclose(
            float(losses.categorical_crossentropy(z, t, from_logits=True)), optax_value, atol=1e-6
        )


def _half_model(dtype):
    model = Sequential([Dense(16, activation="relu"), Dense(2, activation="softmax")])
    params = jax.tree.map(lambda a: a.astype(dtype), model.init(KEY, (8,)))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 8)).astype(dtype)
    return model, params, x, (np.asarray(x[:, 0], np.float32) > 0).astype(np.int32)


def test_float16_adam_divergence_warns_with_advice():
    model, params, x, y = _half_model(np.float16)
    with pytest.warns(RuntimeWarning, match=r"float16: optimizers such as Adam .* float32") as record:
        _, history = fit(model, params, x, y, optimizer="adam", epochs=3, verbose=0)
    assert not np.isfinite(history.history["loss"][-1])
    assert len([w for w in record if "became" in str(w.message)]) == 1  # once per fit, not per epoch


def test_float32_divergence_warns_and_healthy_training_does_not():
    model, params, x, y = _half_model(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(model, params, x, y, optimizer="adam", epochs=2, verbose=0)
    regression = Sequential([Dense(1)])
    with pytest.warns(RuntimeWarning, match="Lower the learning rate"):  # (1e20 w)^2 overflows float32
        fit(
            regression,
            regression.init(KEY, (8,)),
            np.full((16, 8), 1e20, np.float32),
            np.zeros(16, np.float32),
            loss="mse",
            optimizer="sgd",
            epochs=2,
            verbose=0,
        )


def test_no_divergence_warning_when_terminate_on_nan_stops_the_run():
    from jaxnet import TerminateOnNaN

    regression = Sequential([Dense(1)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, history = fit(
            regression,
            regression.init(KEY, (8,)),
            np.full((16, 8), 1e20, np.float32),
            np.zeros(16, np.float32),
            loss="mse",
            optimizer="sgd",
            epochs=3,
            verbose=0,
            callbacks=[TerminateOnNaN()],
        )
    assert history.stop_reason.startswith("TerminateOnNaN")
