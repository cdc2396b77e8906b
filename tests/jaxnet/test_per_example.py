import jax
import jax.numpy as jnp
import numpy as np

from jaxnet import Dense, Sequential, losses
from jaxnet.per_example import per_example_gradients


def test_mean_of_per_example_gradients_is_the_batch_gradient(x64, rng):
    model = Sequential([Dense(6, activation="tanh"), Dense(3, activation="softmax")])
    params = jax.tree.map(lambda p: p.astype(jnp.float64), model.init(jax.random.key(0), (4,)))
    x, y = jnp.asarray(rng.normal(size=(5, 4))), jnp.array([0, 2, 1, 1, 0])
    loss = lambda p, a, b: losses.sparse_categorical_crossentropy(model.apply(p, a), b)
    per = per_example_gradients(loss, params, x, y)
    assert per["dense"]["w"].shape == (5, 4, 6)
    batch = jax.grad(loss)(params, x, y)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a.mean(0), b, rtol=1e-12), per, batch)
    second = jax.grad(loss)(params, x[1:2], y[1:2])
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a[1], b, rtol=1e-12), per, second)
