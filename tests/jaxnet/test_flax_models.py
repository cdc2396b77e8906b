import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxnet import datasets
from jaxnet.flax_models import from_linen, from_nnx
from jaxnet.train import evaluate, fit, predict


@pytest.fixture(scope="module")
def digits():
    (x, y), (xt, yt) = datasets.load_digits()
    return x.reshape(len(x), -1), y, xt.reshape(len(xt), -1), yt


class LinenMLP(nn.Module):
    @nn.compact
    def __call__(self, x, training: bool = False):
        x = nn.relu(nn.Dense(128)(x))
        x = nn.Dropout(0.2, deterministic=not training)(x)
        return nn.softmax(nn.Dense(10)(x))


class NNXMLP(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(64, 128, rngs=rngs)
        self.dropout = nnx.Dropout(0.2, rngs=rngs)
        self.out = nnx.Linear(128, 10, rngs=rngs)

    def __call__(self, x):
        return jax.nn.softmax(self.out(self.dropout(jax.nn.relu(self.hidden(x)))))


def test_linen_module_trains_with_fit(digits):
    x, y, xt, yt = digits
    model = from_linen(LinenMLP())
    params = model.init(jax.random.key(0), (64,))
    trained, history = fit(model, params, x, y, metrics=["accuracy"], epochs=20, verbose=0)
    assert evaluate(model, trained, xt, yt, metrics=["accuracy"])["accuracy"] >= 0.96
    expected = LinenMLP().apply({"params": trained}, jnp.asarray(xt))  # the params are Flax's own
    np.testing.assert_allclose(predict(model, trained, xt), expected, rtol=1e-5, atol=1e-6)
    a = model.apply(params, jnp.ones((2, 64)), key=jax.random.key(1), training=True)
    b = model.apply(params, jnp.ones((2, 64)), key=jax.random.key(2), training=True)
    assert not np.allclose(a, b)  # dropout is live in training


def test_nnx_module_trains_with_fit(digits):
    x, y, xt, yt = digits
    model = from_nnx(NNXMLP(nnx.Rngs(0)))
    trained, _ = fit(model, model.params, x, y, metrics=["accuracy"], epochs=20, verbose=0)
    assert evaluate(model, trained, xt, yt, metrics=["accuracy"])["accuracy"] >= 0.96
    live = model.module(trained)
    live.eval()
    np.testing.assert_allclose(live(jnp.asarray(xt)), predict(model, trained, xt), rtol=1e-5, atol=1e-6)


def test_linen_with_extra_state_is_refused():
    class WithBatchNorm(nn.Module):
        @nn.compact
        def __call__(self, x, train: bool = False):
            return nn.BatchNorm(use_running_average=not train)(x)

    with pytest.raises(ValueError, match="batch_stats"):
        from_linen(WithBatchNorm()).init(jax.random.key(0), (3,))
