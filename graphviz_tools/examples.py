"""The book's computational graphs, traced with the miniature autograd.

Each function builds the forward computation from named inputs, runs
``backward()`` and returns the output ``Var``: its graph holds every forward
value and every gradient, ready for ``graphviz_tools.render``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from graphviz_tools.autograd import Var


def apple(apple: float = 100, apple_num: float = 2, tax: float = 1.1) -> Var:
    """Buying apples: price = apple * apple_num * tax (220; dApple 2.2, dApple_num 110, dTax 200)."""
    a, n, t = Var(apple, "apple"), Var(apple_num, "apple_num"), Var(tax, "tax")
    apple_price = a * n
    apple_price.name = "apple_price"
    price = apple_price * t
    price.name = "price"
    return price.backward()


def apple_orange(
    apple: float = 100, apple_num: float = 2, orange: float = 150, orange_num: float = 3, tax: float = 1.1
) -> Var:
    """Apples and oranges: (100*2 + 150*3) * 1.1 = 715.

    Gradients: dTax 650, dApple 2.2, dApple_num 110, dOrange 3.3, dOrange_num 165.
    """
    a, an = Var(apple, "apple"), Var(apple_num, "apple_num")
    o, on = Var(orange, "orange"), Var(orange_num, "orange_num")
    t = Var(tax, "tax")
    apple_price, orange_price = a * an, o * on
    apple_price.name, orange_price.name = "apple_price", "orange_price"
    total = apple_price + orange_price
    total.name = "all_price"
    price = total * t
    price.name = "price"
    return price.backward()


def sigmoid(x: float = 1.0) -> Var:
    """The sigmoid drawn as its parts, x -> x(-1) -> exp -> +1 -> 1/: the gradient reaching x is y(1 - y)."""
    xv = Var(x, "x")
    y = (1 + (xv * -1).exp()).reciprocal()
    y.name = "y"
    return y.backward()


def sigmoid_node(x: float = 1.0) -> Var:
    """The same sigmoid collapsed into one node, with the same forward value and gradient."""
    y = Var(x, "x").sigmoid()
    y.name = "y"
    return y.backward()


def affine() -> Var:
    """The Affine node Y = X . W + B with X (2,), W (2, 3), B (3,), backpropagating dY = ones."""
    x = Var(np.array([1.0, 2.0]), "X")
    w = Var(np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]), "W")
    b = Var(np.array([0.1, 0.2, 0.3]), "B")
    y = x @ w + b
    y.name = "Y"
    return y.backward(np.ones(3))


def softmax_loss() -> Var:
    """Softmax-with-Loss on scores [0.3, 2.9, 4.0] with target class 2: the gradient is y - t."""
    a = Var(np.array([0.3, 2.9, 4.0]), "a")
    t = Var(np.array([0.0, 0.0, 1.0]), "t", constant=True)  # the label: no gradient, as in the book
    loss = a.softmax_with_loss(t)
    loss.name = "L"
    return loss.backward()


def two_layer() -> Var:
    """A small two-layer net, x (1, 2) -> Affine -> sigmoid -> Affine -> Softmax-with-Loss."""
    x = Var(np.array([[1.0, 0.5]]), "x")
    w1 = Var(np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]), "W1")
    b1 = Var(np.array([0.1, 0.2, 0.3]), "b1")
    w2 = Var(np.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]), "W2")
    b2 = Var(np.array([0.1, 0.2]), "b2")
    t = Var(np.array([[0.0, 1.0]]), "t", constant=True)
    hidden = (x @ w1 + b1).sigmoid()
    loss = (hidden @ w2 + b2).softmax_with_loss(t)
    loss.name = "L"
    return loss.backward()


EXAMPLES: dict[str, Callable[[], Var]] = {
    "apple": apple,
    "apple_orange": apple_orange,
    "sigmoid": sigmoid,
    "sigmoid_node": sigmoid_node,
    "affine": affine,
    "softmax_loss": softmax_loss,
    "two_layer": two_layer,
}
