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


class LinenBatchNormMLP(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool = False):
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(nn.relu(nn.Dense(16)(x)))
        return nn.softmax(nn.Dense(10)(x))


def test_linen_batch_stats_train_as_flax_own_loop_does(digits):
    """fit's step equals Flax's documented loop: grad on params, mutable=["batch_stats"], the same SGD."""
    import optax

    x, y = digits[0][:256], digits[1][:256]
    module = LinenBatchNormMLP()
    model = from_linen(module)
    variables = model.init(jax.random.key(0), (64,))
    assert sorted(variables) == ["batch_stats", "params"]
    trained, _ = fit(
        model, variables, x, y, optimizer="sgd", learning_rate=0.1, batch_size=32, epochs=2, shuffle=False, verbose=0
    )

    tx = optax.sgd(0.1)

    @jax.jit
    def step(params, stats, opt_state, xb, yb):
        def loss(p):
            probs, new = module.apply({"params": p, "batch_stats": stats}, xb, train=True, mutable=["batch_stats"])
            return -jnp.mean(jnp.log(jnp.clip(probs[jnp.arange(len(yb)), yb], 1e-7, 1 - 1e-7))), new

        (_, new), grads = jax.value_and_grad(loss, has_aux=True)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), new["batch_stats"], opt_state

    params, stats = variables["params"], variables["batch_stats"]
    opt_state = tx.init(params)
    for _ in range(2):
        for i in range(0, 256, 32):
            params, stats, opt_state = step(params, stats, opt_state, x[i : i + 32], y[i : i + 32])
    expected = {"params": params, "batch_stats": stats}
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(trained), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=5e-5, err_msg=jax.tree_util.keystr(path))
    assert not np.allclose(trained["batch_stats"]["BatchNorm_0"]["mean"], 0.0)  # the statistics moved
    # inference uses the running averages, exactly as Flax's own apply
    np.testing.assert_allclose(predict(model, trained, x), module.apply(trained, jnp.asarray(x)), rtol=1e-5, atol=1e-6)


def test_nnx_batch_statistics_are_refused_not_left_stale():
    with pytest.raises(ValueError, match="nnx.BatchStat"):
        from_nnx(nnx.Sequential(nnx.Linear(3, 4, rngs=nnx.Rngs(0)), nnx.BatchNorm(4, rngs=nnx.Rngs(0))))
