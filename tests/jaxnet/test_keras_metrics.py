"""The added Keras losses and metrics against Keras 3's own functions on the same numbers."""

import os

import numpy as np
import pytest

from jaxnet import losses, metrics

os.environ.setdefault("KERAS_BACKEND", "jax")
RNG = np.random.default_rng(0)
PROBS = RNG.dirichlet(np.ones(5), 8).astype(np.float32)
LABELS = RNG.integers(0, 5, 8)
ONE_HOT = np.eye(5, dtype=np.float32)[LABELS]
SOFT = RNG.dirichlet(np.ones(5), 8).astype(np.float32)
POSITIVE = RNG.uniform(0.1, 3.0, (8, 3)).astype(np.float32)
TARGETS = RNG.uniform(0.1, 3.0, (8, 3)).astype(np.float32)


def _keras():
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("these comparisons run Keras on its JAX backend")
    return keras


# name -> (y_pred, y_true) in jaxnet's order
LOSS_CASES = {
    "mean_absolute_percentage_error": (POSITIVE, TARGETS),
    "mean_squared_logarithmic_error": (POSITIVE, TARGETS),
    "log_cosh": (POSITIVE, TARGETS),
    "kl_divergence": (PROBS, SOFT),
    "poisson": (POSITIVE, TARGETS),
    "categorical_hinge": (PROBS, ONE_HOT),
    "cosine_similarity": (POSITIVE - 1, TARGETS - 1),
}


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_new_losses_equal_keras(name):
    keras = _keras()
    y_pred, y_true = LOSS_CASES[name]
    expected = float(getattr(keras.losses, name)(y_true, y_pred).mean())  # Keras: per example, (y_true, y_pred)
    assert float(losses.get(name)(y_pred, y_true)) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    # and as a per-example metric, where Keras has one
    if hasattr(keras.metrics, name):
        np.testing.assert_allclose(
            metrics.get(name)(y_pred, y_true), getattr(keras.metrics, name)(y_true, y_pred), rtol=1e-5, atol=1e-6
        )


def test_accuracy_metrics_equal_keras():
    keras = _keras()
    m = keras.metrics
    np.testing.assert_allclose(
        metrics.get("sparse_categorical_accuracy")(PROBS, LABELS), m.sparse_categorical_accuracy(LABELS, PROBS)
    )
    np.testing.assert_allclose(
        metrics.get("sparse_categorical_accuracy")(PROBS, LABELS[:, None]),
        m.sparse_categorical_accuracy(LABELS[:, None], PROBS),
    )
    np.testing.assert_allclose(
        metrics.get("categorical_accuracy")(PROBS, ONE_HOT), m.categorical_accuracy(ONE_HOT, PROBS)
    )
    for k in (1, 2, 3):
        np.testing.assert_allclose(
            metrics.sparse_top_k_categorical_accuracy(PROBS, LABELS, k),
            m.sparse_top_k_categorical_accuracy(LABELS, PROBS, k=k),
        )
        np.testing.assert_allclose(
            metrics.top_k_categorical_accuracy(PROBS, ONE_HOT, k), m.top_k_categorical_accuracy(ONE_HOT, PROBS, k=k)
        )
    scores, bits = RNG.uniform(size=(8, 3)).astype(np.float32), RNG.integers(0, 2, (8, 3)).astype(np.float32)
    keras_hits = np.asarray(m.binary_accuracy(bits, scores)).reshape(8, -1)  # Keras 3: element-wise hits
    np.testing.assert_allclose(metrics.get("binary_accuracy")(scores, bits), keras_hits.mean(1), rtol=1e-6)


@pytest.mark.parametrize(
    "name",
    ["binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "hinge", "squared_hinge"],
)
def test_existing_losses_as_per_example_metrics_equal_keras(name):
    keras = _keras()
    cases = {
        "binary_crossentropy": (PROBS, ONE_HOT),
        "categorical_crossentropy": (PROBS, ONE_HOT),
        "sparse_categorical_crossentropy": (PROBS, LABELS),
        "hinge": (PROBS - 0.5, ONE_HOT),
        "squared_hinge": (PROBS - 0.5, ONE_HOT),
    }
    y_pred, y_true = cases[name]
    np.testing.assert_allclose(
        metrics.get(name)(y_pred, y_true), getattr(keras.metrics, name)(y_true, y_pred), rtol=1e-5, atol=1e-6
    )
