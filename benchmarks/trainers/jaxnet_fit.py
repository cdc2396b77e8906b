"""jaxnet's functional ``fit`` and its Keras-style face, on the seeds' models."""

from __future__ import annotations

import jax

from jaxnet import keras, zoo
from jaxnet.train import fit


def network(workload):
    return zoo.mlp() if workload.name.startswith("mlp") else zoo.cnn()


def train(workload, x, y, epochs: int, key_impl: str | None = None) -> dict:
    model = network(workload)
    params = model.init(jax.random.key(0), workload.input_shape)
    _, history = fit(
        model,
        params,
        x,
        y,
        loss="sparse_categorical_crossentropy",
        optimizer="adam",
        metrics=["accuracy"],
        epochs=epochs,
        batch_size=workload.batch_size,
        verbose=0,
        key=jax.random.key(0, impl=key_impl),
    )
    return {
        "epoch_times": history.epoch_times,
        "threads": "XLA default (all cores)",
        "config": f"fit, {key_impl or 'threefry'} keys",
    }


def train_rbg_keys(workload, x, y, epochs: int) -> dict:
    """The same fit with 'rbg' PRNG keys, which make dropout masks cheaper to draw than threefry on a CPU."""
    return train(workload, x, y, epochs, key_impl="rbg")


def train_keras_face(workload, x, y, epochs: int) -> dict:
    model = keras.Sequential(network(workload).layers, input_shape=workload.input_shape)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=epochs, batch_size=workload.batch_size, verbose=0)
    return {
        "epoch_times": history.epoch_times,
        "threads": "XLA default (all cores)",
        "config": "jaxnet.keras Sequential: compile + fit",
    }


def flops_per_example(workload) -> float:
    """FLOPs of one training step divided by its batch, from XLA's cost analysis of the step."""
    import jax.numpy as jnp
    import optax

    from jaxnet import losses

    model = network(workload)
    params = model.init(jax.random.key(0), workload.input_shape)
    tx = optax.adam(1e-3)
    x = jnp.zeros((workload.batch_size, *workload.input_shape))
    y = jnp.zeros(workload.batch_size, jnp.int32)

    def step(p, s, key):
        loss = lambda q: losses.sparse_categorical_crossentropy(model.apply(q, x, key=key, training=True), y)
        grads = jax.grad(loss)(p)
        updates, s = tx.update(grads, s, p)
        return optax.apply_updates(p, updates), s

    cost = jax.jit(step).lower(params, tx.init(params), jax.random.key(0)).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    if cost is None:
        raise RuntimeError("this backend gives no cost analysis to count the flops from")
    return float(cost["flops"]) / workload.batch_size
