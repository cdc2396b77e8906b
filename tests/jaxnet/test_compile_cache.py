"""Repeated fit/evaluate/predict calls reuse their compiled functions (jaxnet.train's cache)."""

import logging
import time

import jax
import numpy as np
import pytest

from jaxnet import train
from jaxnet.layers import Dense, Dropout, Flatten
from jaxnet.model import Sequential


class _Count(logging.Handler):
    def __init__(self):
        super().__init__()
        self.n = 0

    def emit(self, record):
        if "Compiling" in record.getMessage():
            self.n += 1


@pytest.fixture
def compiles():
    """Counts XLA compilations, through jax_log_compiles' log records."""
    handler, logger = _Count(), logging.getLogger("jax")
    logger.addHandler(handler)
    old = jax.config.jax_log_compiles
    jax.config.update("jax_log_compiles", True)
    yield handler
    jax.config.update("jax_log_compiles", old)
    logger.removeHandler(handler)


def _setup():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(70, 4, 2)).astype(np.float32)
    y = rng.integers(0, 3, size=70)
    model = Sequential([Flatten(), Dense(16, activation="relu"), Dropout(0.2), Dense(3, activation="softmax")])
    return model, model.init(jax.random.key(1), (4, 2)), x, y


def test_second_calls_do_not_recompile(compiles):
    model, params, x, y = _setup()
    kw = dict(epochs=1, batch_size=16, metrics=["accuracy"], validation_split=0.2, verbose=0)
    train.fit(model, params, x, y, **kw)
    train.evaluate(model, params, x, y, batch_size=16)
    train.predict(model, params, x, batch_size=16)
    first = compiles.n
    assert first > 0
    train.fit(model, params, x, y, **kw)
    train.evaluate(model, params, x, y, batch_size=16)
    train.predict(model, params, x, batch_size=16)
    assert compiles.n == first


def test_cached_results_are_bitwise_identical_to_uncached():
    model, params, x, y = _setup()
    kw = dict(epochs=2, batch_size=16, metrics=["accuracy"], key=jax.random.key(3), verbose=0)
    train.clear_cache()
    p1, h1 = train.fit(model, params, x, y, **kw)
    p2, h2 = train.fit(model, params, x, y, **kw)  # cached
    train.clear_cache()
    p3, h3 = train.fit(model, params, x, y, **kw)  # rebuilt
    assert h1.history == h2.history == h3.history
    for a, b, c in zip(jax.tree.leaves(p1), jax.tree.leaves(p2), jax.tree.leaves(p3)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    pred = train.predict(model, p1, x)
    train.clear_cache()
    np.testing.assert_array_equal(pred, train.predict(model, p1, x))


def test_cache_is_bounded():
    model, params, x, _ = _setup()
    train.clear_cache()
    for n in range(1, train.CACHE_SIZE + 5):
        train.predict(model, params, x[:n])
    assert len(train._CACHE) == train.CACHE_SIZE


def test_digits_second_fit_is_faster():
    """Prints first vs second fit(epochs=1) time on the digits MLP (the measured numbers)."""
    from jaxnet.datasets import load_digits

    (x, y), _ = load_digits()
    model = Sequential([Flatten(), Dense(128, activation="relu"), Dropout(0.2), Dense(10, activation="softmax")])
    params = model.init(jax.random.key(0), x.shape[1:])
    train.clear_cache()
    times = []
    for _ in range(2):
        start = time.perf_counter()
        p, _ = train.fit(model, params, x, y, epochs=1, verbose=0)
        jax.block_until_ready(p)
        times.append(time.perf_counter() - start)
    print(f"digits fit(epochs=1): first {times[0]:.3f}s, second {times[1]:.3f}s")
    assert times[1] < times[0]


@pytest.mark.parametrize("face", ["sequential", "functional"])
def test_keras_face_second_calls_do_not_recompile(compiles, face):
    """The Keras user's repeated model.fit / evaluate / predict, metrics given by name as the notes write them."""
    from jaxnet import keras

    _, _, x, y = _setup()
    layers = [keras.layers.Flatten(), keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.2)]
    if face == "sequential":
        model = keras.Sequential([keras.Input((4, 2)), *layers, keras.layers.Dense(3, activation="softmax")])
    else:
        inputs = keras.Input((4, 2))
        hidden = inputs
        for layer in layers:
            hidden = layer(hidden)
        model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))
    model.compile(
        optimizer="Adam", loss="sparse_categorical_crossentropy", metrics=["acc"], weighted_metrics=["accuracy"]
    )
    weights = np.linspace(0.5, 1.5, len(y))

    def calls():
        model.fit(x, y, epochs=1, batch_size=16, validation_split=0.2, sample_weight=weights, verbose=0)
        model.evaluate(x, y, batch_size=16, verbose=0)
        model.predict(x, batch_size=16, verbose=0)

    calls()
    first = compiles.n
    assert first > 0
    calls()
    assert compiles.n == first
