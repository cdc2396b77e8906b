"""The seeds' MLP written in Flax NNX, trained by Flax's own recommended loop (nnx.Optimizer + nnx.jit step)."""
from __future__ import annotations

import time


def train(workload, x, y, epochs: int) -> dict:
    if not workload.name.startswith("mlp"):
        raise NotImplementedError("the Flax NNX peer is the seeds' MLP only")
    import flax
    import jax
    import jax.numpy as jnp
    import numpy as np
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
    optimizer = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer, xb, yb):
        def loss_fn(model):
            return optax.softmax_cross_entropy_with_integer_labels(model(xb), yb).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    xd, yd = jnp.asarray(x), jnp.asarray(y)
    rng = np.random.default_rng(0)
    times = []
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        start = time.perf_counter()
        for i in range(0, len(x), workload.batch_size):
            idx = order[i:i + workload.batch_size]
            loss = train_step(model, optimizer, xd[idx], yd[idx])
        jax.block_until_ready(loss)
        times.append(time.perf_counter() - start)
    return {"epoch_times": times, "threads": "XLA default (all cores)", "version": flax.__version__}
