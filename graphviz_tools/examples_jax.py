"""The book's chapter-5 graphs as plain ``jax.numpy`` functions, drawn by ``backprop_graph``.

Each twin of a ``graphviz_tools.examples`` figure is an ordinary JAX function plus its
arguments; ``draw(name)`` gives its Digraph and ``trace(name)`` the numbers on its edges,
which tests compare edge for edge with the ``Var`` drawings. ``mlp_loss`` and ``cnn_loss``
are the seeds' MNIST MLP and CIFAR-10 CNN training losses (jaxnet.zoo), for the model pictures.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from graphviz_tools.backprop_graph import backprop_graph
from graphviz_tools.backprop_trace import BackpropTrace, trace_backprop


def apple(apple, apple_num, tax):
    """100 won x 2 apples x 1.1 tax = 220."""
    return apple * apple_num * tax


def apple_orange(apple, apple_num, orange, orange_num, tax):
    """(100*2 + 150*3) * 1.1 = 715."""
    return (apple * apple_num + orange * orange_num) * tax


def sigmoid(x):
    """The sigmoid as its parts: x(-1), exp, +1, 1/ (the book's "/" node is a reciprocal)."""
    return jnp.reciprocal(1 + jnp.exp(x * -1))


def affine(x, w, b):
    """Y = X . W + B."""
    return x @ w + b


def softmax_with_loss(a, t):
    """Softmax then cross entropy, averaged over rows: one node, as the book draws it."""
    with jax.named_scope("softmax_with_loss"):
        a = jnp.atleast_2d(a)
        return -jnp.sum(jnp.atleast_2d(t) * jax.nn.log_softmax(a)) / a.shape[0]


def two_layer(x, w1, b1, w2, b2, t):
    """x -> Affine -> sigmoid -> Affine -> Softmax-with-Loss."""
    hidden = jax.nn.sigmoid(x @ w1 + b1)
    return softmax_with_loss(hidden @ w2 + b2, t)


def _seeds_loss(model, input_shape: tuple, batch: int) -> tuple[Callable, tuple]:
    from jaxnet import losses

    params = jax.jit(model.init, static_argnums=1)(jax.random.key(0), input_shape)  # one compile, not one per op
    x = jax.random.uniform(jax.random.key(1), (batch, *input_shape))
    y = jax.nn.one_hot(jnp.arange(batch) % 10, 10)

    def loss(params, x, y, key):
        return losses.categorical_crossentropy(model.apply(params, x, key=key, training=True), y)

    return loss, (params, x, y, jax.random.key(2))


def mlp_loss() -> tuple[Callable, tuple]:
    """The seeds' MNIST MLP (784-128-Dropout-10) training loss and a batch of 4: ``(loss, args)``."""
    from jaxnet import zoo

    return _seeds_loss(zoo.mlp(), (28, 28), 4)


def cnn_loss(implementation: str = "auto") -> tuple[Callable, tuple]:
    """The seeds' CIFAR-10 CNN training loss and a batch of 2: ``(loss, args)``.

    Arguments:
        implementation: Conv2D's ("auto", "xla", "im2col"); the picture is the same for each.
    """
    from jaxnet import zoo
    from jaxnet.layers import Conv2D

    model = zoo.cnn()
    if implementation != "auto":
        layers = [
            Conv2D(**{**layer.__dict__, "implementation": implementation}) if isinstance(layer, Conv2D) else layer
            for layer in model.layers
        ]
        model = type(model)(layers)
    return _seeds_loss(model, (32, 32, 3), 2)


#: name -> (function, arguments, options): the chapter-5 twins of ``graphviz_tools.examples.EXAMPLES``
#: (argnums leaves the label t without a gradient, as the book's Softmax-with-Loss does).
BOOK: dict[str, tuple[Callable, tuple, dict]] = {
    "apple": (apple, (100.0, 2.0, 1.1), {}),
    "apple_orange": (apple_orange, (100.0, 2.0, 150.0, 3.0, 1.1), {}),
    "sigmoid": (sigmoid, (1.0,), {}),
    "affine": (
        affine,
        (np.array([1.0, 2.0]), np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]), np.array([0.1, 0.2, 0.3])),
        {"seed": np.ones(3)},
    ),
    "softmax_loss": (
        softmax_with_loss,
        (np.array([0.3, 2.9, 4.0]), np.array([0.0, 0.0, 1.0])),
        {"argnums": 0, "collapse": ["softmax_with_loss"]},
    ),
    "two_layer": (
        two_layer,
        (
            np.array([[1.0, 0.5]]),
            np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]),
            np.array([0.1, 0.2, 0.3]),
            np.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]),
            np.array([0.1, 0.2]),
            np.array([[0.0, 1.0]]),
        ),
        {"argnums": (0, 1, 2, 3, 4), "collapse": ["softmax_with_loss"]},
    ),
}
#: The seeds' models: name -> builder of (loss, args), drawn with the weights differentiated.
MODELS = {"mlp": mlp_loss, "cnn": cnn_loss}


def _spec(name: str) -> tuple[Callable, tuple, dict]:
    if name in BOOK:
        return BOOK[name]
    if name in MODELS:
        fun, args = MODELS[name]()
        return fun, args, {"argnums": 0}
    raise ValueError(f"unknown example {name!r}; choose one of: {', '.join([*BOOK, *MODELS])}")


def trace(name: str) -> BackpropTrace:
    """The numbers of the example ``name`` (a BOOK or MODELS key), computed by JAX."""
    fun, args, options = _spec(name)
    return trace_backprop(fun, **options)(*args)


def draw(name: str, **options):
    """The example ``name`` drawn by ``backprop_graph`` (``options`` override its defaults)."""
    fun, args, defaults = _spec(name)
    return backprop_graph(fun, **{**defaults, **options})(*args)
