"""A printed tour of the seeds' examples, each computed by jaxnet (``python -m jaxnet tour``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxnet import activations, losses
from jaxnet.book import perceptron
from jaxnet.book.backprop import TwoLayerNet
from jaxnet.book.filters import FILTER_EXAMPLE, IMAGE_EXAMPLE, similarity_map
from jaxnet.book.forward import forward, init_network
from jaxnet.book.numerical import gradient_descent, numerical_gradient
from jaxnet.layers import Dense, Dropout, Flatten
from jaxnet.model import Sequential


def _section(title: str) -> None:
    print(f"\n== {title} ==")


def run() -> None:
    """Print every seed example with the value jaxnet computes for it."""
    np.set_printoptions(precision=8, suppress=True)
    _section("Perceptron gates (x1, x2 -> AND NAND OR XOR)")
    for x1, x2 in [(0, 0), (1, 0), (0, 1), (1, 1)]:
        gates = [int(g(x1, x2)) for g in (perceptron.AND, perceptron.NAND, perceptron.OR, perceptron.XOR)]
        print(f"  {x1} {x2} -> {gates}")

    _section("Activations")
    print("  sigmoid([-1, 1, 2]) =", np.asarray(activations.sigmoid(jnp.array([-1.0, 1.0, 2.0]))))
    m = jnp.array([[-1.0, 3, 2], [0, 2, -3], [-1, -4, 1]])
    print("  relu(M) =\n", np.asarray(activations.relu(m)))
    print("  tanh(M) =\n", np.round(np.asarray(activations.tanh(m)), 3))
    print("  softmax([0.3, 2.9, 4.0]) =", np.asarray(activations.softmax(jnp.array([0.3, 2.9, 4.0]))))

    _section("Forward pass of the book's 3-layer network")
    print("  y =", np.asarray(forward(init_network(), jnp.array([1.0, 0.5]))))

    _section("Losses for y = [0.1, 0.05, 0.6, 0, 0.05, 0.1, 0, 0.1, 0, 0]")
    y = jnp.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    for label in (2, 7):
        t = jax.nn.one_hot(label, 10)
        print(
            f"  t={label}: sum squared error {float(losses.sum_squared_error(y, t)):.4f}, "
            f"cross entropy {float(losses.cross_entropy_error(y, t)):.6f}"
        )

    _section("Numerical gradient and gradient descent on x0^2 + x1^2")
    f = lambda x: x[0] ** 2 + x[1] ** 2
    print("  gradient at (3, 4):", numerical_gradient(f, np.array([3.0, 4.0])))
    print("  descent from (-3, 4), lr 0.1, 100 steps:", gradient_descent(f, np.array([-3.0, 4.0]), 0.1, 100)[0])

    _section("Gradient check: TwoLayerNet(784, 50, 10) on 3 random images, float64")
    with jax.enable_x64(True):
        net = TwoLayerNet()
        params = net.init(jax.random.key(0))
        x = np.random.default_rng(0).uniform(size=(3, 784))
        targets = np.eye(10)[[7, 2, 1]]
        numeric, manual = net.numerical_gradient(params, x, targets), net.gradient(params, x, targets)
        auto = net.autodiff_gradient(jax.tree.map(jnp.asarray, params), jnp.asarray(x), jnp.asarray(targets))
        for k in params:
            print(
                f"  {k}: mean |backprop - numerical| = {np.mean(np.abs(manual[k] - numeric[k])):.2e}, "
                f"mean |backprop - jax.grad| = {np.mean(np.abs(manual[k] - np.asarray(auto[k]))):.2e}"
            )

    _section("Convolution as similarity: normalized 3x3 patches against a normalized filter")
    print(np.round(np.asarray(similarity_map(IMAGE_EXAMPLE, FILTER_EXAMPLE)), 3))

    _section("The seeds' MNIST MLP")
    model = Sequential([Flatten(), Dense(128, activation="relu"), Dropout(0.2), Dense(10, activation="softmax")])
    print(model.summary((28, 28)))
