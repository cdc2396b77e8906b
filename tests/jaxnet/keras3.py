"""Keras 3 (on JAX) as the reference for the Keras face: copy jaxnet's weights into a Keras model and compare.

Imported by the tests that check ``jaxnet.keras`` against Keras itself; they skip when Keras 3 is
not installed (it is in the ``dev`` extra).
"""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")  # must be set before keras is first imported


def import_keras():
    """Keras 3 on the JAX backend, or skip the test."""
    keras = pytest.importorskip("keras")
    if not keras.__version__.startswith("3.") or keras.backend.backend() != "jax":
        pytest.skip(f"needs Keras 3 on the JAX backend, found {keras.__version__} on {keras.backend.backend()}")
    return keras


def copy_weights(jax_model, keras_model):
    """Give the Keras model the jaxnet model's weights (``get_weights`` order: layer order, kernel then bias)."""
    ours, theirs = jax_model.get_weights(), keras_model.get_weights()
    assert [w.shape for w in ours] == [w.shape for w in theirs], "the two models differ in architecture"
    keras_model.set_weights(ours)


def assert_same_weights(jax_model, keras_model, rtol=1e-5, atol=1e-6):
    for ours, theirs in zip(jax_model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


def assert_one_step_matches(jax_model, keras_model, x, y, rtol=1e-4, atol=1e-6):
    """One full-batch training step from the same weights: the same logs and the same updated weights.

    Both models must be compiled alike. The step's update (for SGD, the learning rate times the gradient)
    is compared through the weights, so it checks the gradients of every parameter.
    """
    copy_weights(jax_model, keras_model)
    n = len(y[0]) if isinstance(y, (list, tuple)) else len(y)
    ours = jax_model.fit(x, y, batch_size=n, epochs=1, shuffle=False, verbose=0).history
    theirs = keras_model.fit(x, y, batch_size=n, epochs=1, shuffle=False, verbose=0).history
    assert set(ours) == set(theirs)
    for name in theirs:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=rtol, atol=atol, err_msg=name)
    assert_same_weights(jax_model, keras_model, rtol=rtol, atol=atol)
    return ours


def assert_inference_matches(jax_model, keras_model, x, y=None, rtol=1e-4, atol=1e-6):
    """The same predictions (and, with ``y``, the same ``evaluate`` result) on the same weights."""
    copy_weights(jax_model, keras_model)
    ours, theirs = jax_model.predict(x, verbose=0), keras_model.predict(x, verbose=0)
    if isinstance(theirs, list):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)
    if y is not None:
        np.testing.assert_allclose(
            jax_model.evaluate(x, y, verbose=0), keras_model.evaluate(x, y, verbose=0), rtol=rtol, atol=atol
        )


def table_rows(text: str) -> list[tuple[str, ...]]:
    """The cells of a summary table, the lines of a wrapped row joined (Keras' rich layout or jaxnet's)."""
    rows, current = [], None
    for line in text.splitlines():
        if line.startswith(("├", "└")) and current is not None:
            rows.append(tuple(" ".join(c.split()) for c in current))
            current = None
        elif line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            current = cells if current is None else [f"{a} {b}".strip() for a, b in zip(current, cells)]
    return rows


def keras_summary(keras_model) -> str:
    lines = []
    keras_model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    return "\n".join(lines)
