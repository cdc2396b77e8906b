"""The seeds' MLP in Flax NNX, trained the fast ways Flax documents: ``nnx.split`` / ``nnx.merge`` around a
``jax.jit`` step, and the same step in a ``lax.scan``ned epoch."""

from __future__ import annotations

import time


def _setup(workload):
    if not workload.name.startswith("mlp"):
        raise NotImplementedError("the Flax NNX peer is the seeds' MLP only")
    import jax
    import optax
    from flax import nnx

    class MLP(nnx.Module):
        def __init__(self, rngs: nnx.Rngs):
            self.hidden = nnx.Linear(784, 128, rngs=rngs)
            self.dropout = nnx.Dropout(0.2, rngs=rngs)
            self.out = nnx.Linear(128, 10, rngs=rngs)

        def __call__(self, x):
            return self.out(self.dropout(jax.nn.relu(self.hidden(x.reshape(x.shape[0], -1)))))

    model = MLP(nnx.Rngs(0))
    model.train()
    optimizer = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)
    graphdef, state = nnx.split((model, optimizer))

    def step(state, xb, yb):
        model, optimizer = nnx.merge(graphdef, state)
        loss_fn = lambda m: optax.softmax_cross_entropy_with_integer_labels(m(xb), yb).mean()
        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return nnx.state((model, optimizer)), loss

    return state, step


def _result(times, config, examples):
    import flax

    return {
        "epoch_times": times,
        "threads": "XLA default (all cores)",
        "version": flax.__version__,
        "config": config,
        "examples": examples,
    }


def train(workload, x, y, epochs: int) -> dict:
    """One ``jax.jit`` call per step on the split state (donated), the batch gathered on the device."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    state, step = _setup(workload)
    jitted = jax.jit(lambda s, xd, yd, idx: step(s, xd[idx], yd[idx]), donate_argnums=0)
    xd, yd = jnp.asarray(x), jnp.asarray(y)
    rng, times = np.random.default_rng(0), []
    for _ in range(epochs):
        start = time.perf_counter()
        order = jnp.asarray(rng.permutation(len(x)))
        for i in range(0, len(x), workload.batch_size):
            state, loss = jitted(state, xd, yd, order[i : i + workload.batch_size])
        jax.block_until_ready(loss)
        times.append(time.perf_counter() - start)
    return _result(times, "nnx.split/merge + jax.jit step", len(x))


def train_scanned(workload, x, y, epochs: int) -> dict:
    """The same step in one jitted ``lax.scan`` per epoch (last partial batch dropped)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    state, step = _setup(workload)

    def scan_step(carry, idx):
        state, xd, yd = carry
        state, loss = step(state, xd[idx], yd[idx])
        return (state, xd, yd), loss

    epoch = jax.jit(lambda carry, order: jax.lax.scan(scan_step, carry, order), donate_argnums=0)
    carry = (state, jnp.asarray(x), jnp.asarray(y))
    rng, steps, times = np.random.default_rng(0), len(x) // workload.batch_size, []
    for _ in range(epochs):
        start = time.perf_counter()
        order = rng.permutation(len(x))[: steps * workload.batch_size].reshape(steps, workload.batch_size)
        carry, losses = epoch(carry, jnp.asarray(order))
        jax.block_until_ready(losses)
        times.append(time.perf_counter() - start)
    return _result(times, "nnx.split/merge step in a jitted lax.scan epoch", steps * workload.batch_size)
