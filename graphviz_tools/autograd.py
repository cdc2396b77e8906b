"""A miniature tracing autograd in the manner of micrograd, on floats and NumPy arrays.

A ``Var`` records the value it holds, the operation that produced it and its
parents. ``backward()`` walks the graph in reverse topological order and
accumulates each parent's gradient with ``+=`` (so ``b = a + a`` gives
``a.grad == 2``). Each Var also keeps ``edge_grads``, the cotangent that flowed
along each edge to its parents, so a drawing can label an edge with its own
contribution rather than the parent's total. ``backward()`` first resets every
gradient in the graph, so calling it twice gives the same result; gradients of broadcast operands are summed back to the
operand's shape. The traced graph is what ``graphviz_tools.render`` draws.
"""

from __future__ import annotations

import os
import sys
import types
from typing import Callable, Iterable

import numpy as np

#: How each operation is drawn: the symbol on its round node.
SYMBOLS = {
    "add": "+",
    "sub": "−",
    "mul": "×",
    "div": "/",
    "reciprocal": "/",
    "pow": "**",
    "rpow": "c**x",
    "neg": "−x",
    "exp": "exp",
    "log": "log",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "relu": "ReLU",
    "matmul": "dot",
    "sum": "sum",
    "mean": "mean",
    "softmax_with_loss": "Softmax-\nwith-Loss",
}


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, so it has ``shape``."""
    grad = np.asarray(grad, dtype=float)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad.reshape(shape)


def _call_site() -> str | None:
    """``file.py:line`` of the user's code that asked for an operation (the first frame outside this module)."""
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return None if frame is None else f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def _as_var(value) -> "Var":
    return value if isinstance(value, Var) else Var(value, constant=True)


class Var:
    """A value in a traced computation.

    Arguments:
        value: a Python number or a NumPy array (stored as float64).
        name: optional label, drawn on the graph (``"apple"``).
        op: the operation that produced it ("" for an input).
        parents: the Vars it was computed from.
        constant: a number written into an expression (``x * 1.1``); drawn with its value as label.
    """

    __slots__ = ("value", "grad", "name", "op", "parents", "constant", "_backward", "edge_grads", "site")

    def __init__(
        self,
        value,
        name: str | None = None,
        op: str = "",
        parents: tuple = (),
        constant: bool = False,
        backward: Callable | None = None,
    ):
        self.value = np.asarray(value, dtype=float)
        self.grad = np.zeros_like(self.value)
        self.name = name
        self.op = op
        self.parents = tuple(parents)
        self.constant = constant
        self._backward = backward  # out_grad -> one gradient per parent
        # per-parent cotangents of the last backward(); None before one
        self.edge_grads: tuple[np.ndarray, ...] | None = None
        self.site: str | None = None  # where an operation's result was asked for (file.py:line), for the tooltip

    # --- construction helpers ----------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.value.shape

    def _result(self, value, op: str, parents: Iterable["Var"], backward: Callable) -> "Var":
        result = Var(value, op=op, parents=tuple(parents), backward=backward)
        result.site = _call_site()
        return result

    def _binary(self, other, op: str, value_fn: Callable, grads_fn: Callable) -> "Var":
        other = _as_var(other)
        a, b = self.value, other.value
        return self._result(value_fn(a, b), op, (self, other), lambda g: grads_fn(g, a, b))

    # --- arithmetic --------------------------------------------------------------------------
    def __add__(self, other):
        return self._binary(other, "add", np.add, lambda g, a, b: (g, g))

    def __radd__(self, other):
        return _as_var(other) + self

    def __sub__(self, other):
        return self._binary(other, "sub", np.subtract, lambda g, a, b: (g, -g))

    def __rsub__(self, other):
        return _as_var(other) - self

    def __mul__(self, other):
        return self._binary(other, "mul", np.multiply, lambda g, a, b: (g * b, g * a))

    def __rmul__(self, other):
        return _as_var(other) * self

    def __truediv__(self, other):
        return self._binary(other, "div", np.divide, lambda g, a, b: (g / b, -g * a / b**2))

    def __rtruediv__(self, other):
        return _as_var(other) / self

    def __pow__(self, exponent: float):
        if isinstance(exponent, Var):
            raise TypeError("Var ** Var is not supported; the exponent must be a number")
        x = self.value
        return self._result(x**exponent, "pow", (self,), lambda g: (g * exponent * x ** (exponent - 1),))

    def __rpow__(self, base: float):
        """number ** Var: d/dx c**x = c**x * log(c)."""
        y = np.power(float(base), self.value)
        return self._result(y, "rpow", (self,), lambda g: (g * y * np.log(float(base)),))

    def __neg__(self):
        return self._result(-self.value, "neg", (self,), lambda g: (-g,))

    def __matmul__(self, other):
        other = _as_var(other)
        a, b = self.value, other.value
        if a.ndim not in (1, 2) or b.ndim != 2:
            raise ValueError(f"matmul supports (n,) or (n, k) @ (k, m), got {a.shape} @ {b.shape}")
        a2 = np.atleast_2d(a)
        return self._result(
            a @ b,
            "matmul",
            (self, other),
            lambda g: ((np.atleast_2d(g) @ b.T).reshape(a.shape), a2.T @ np.atleast_2d(g)),
        )

    # --- element-wise functions --------------------------------------------------------------
    def reciprocal(self):
        """1 / x as a one-input node, the book's "/" node in the sigmoid graph (backward -dout * y^2)."""
        y = 1 / self.value
        return self._result(y, "reciprocal", (self,), lambda g: (-g * y**2,))

    def exp(self):
        y = np.exp(self.value)
        return self._result(y, "exp", (self,), lambda g: (g * y,))

    def log(self):
        x = self.value
        if np.any(x <= 0):  # np.log would give nan/-inf silently and the graph would draw nonsense
            raise ValueError(f"log of a non-positive value: {x}")
        return self._result(np.log(x), "log", (self,), lambda g: (g / x,))

    def tanh(self):
        y = np.tanh(self.value)
        return self._result(y, "tanh", (self,), lambda g: (g * (1 - y**2),))

    def sigmoid(self):
        y = 1 / (1 + np.exp(-self.value))
        return self._result(y, "sigmoid", (self,), lambda g: (g * y * (1 - y),))

    def relu(self):
        x = self.value
        return self._result(np.where(x > 0, x, 0.0), "relu", (self,), lambda g: (g * (x > 0),))

    # --- reductions and losses ---------------------------------------------------------------
    def sum(self):
        shape = self.shape
        return self._result(self.value.sum(), "sum", (self,), lambda g: (np.broadcast_to(g, shape),))

    def mean(self):
        shape, n = self.shape, max(self.value.size, 1)
        return self._result(self.value.mean(), "mean", (self,), lambda g: (np.broadcast_to(g / n, shape),))

    def softmax_with_loss(self, t) -> "Var":
        """Softmax over the last axis then cross entropy against one-hot ``t``, averaged over rows.

        The backward is the book's (y - t) / N; ``t`` is a constant input of the node.
        """
        t = _as_var(t)
        x = np.atleast_2d(self.value)
        shifted = x - x.max(axis=-1, keepdims=True)
        y = np.exp(shifted) / np.exp(shifted).sum(axis=-1, keepdims=True)
        target = np.atleast_2d(t.value)
        n = x.shape[0]
        loss = -np.sum(target * np.log(y)) / n
        return self._result(
            loss,
            "softmax_with_loss",
            (self, t),
            lambda g: ((g * (y - target) / n).reshape(self.shape), np.zeros(t.shape)),
        )

    # --- autodiff ----------------------------------------------------------------------------
    def topological_order(self) -> list["Var"]:
        """Every Var this one depends on (itself last), parents before children."""
        order, seen = [], set()
        stack = [(self, False)]
        while stack:  # iterative DFS: deep graphs do not hit the recursion limit
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in reversed(node.parents) if id(p) not in seen)
        return order

    def zero_grad(self) -> None:
        """Reset the gradient (and per-edge cotangents) of every Var in this graph."""
        for node in self.topological_order():
            node.grad = np.zeros_like(node.value)
            node.edge_grads = None

    def backward(self, grad=None) -> "Var":
        """Backpropagate from this Var, accumulating into every ancestor's ``.grad``.

        Every gradient in the graph is reset first (``zero_grad``), so a second call
        gives the same gradients instead of compounding them.

        Arguments:
            grad: the seed gradient dL/dself; may be omitted only when self is a scalar (seed 1).

        Returns:
            self, so an example can ``return loss.backward()``.

        Raises:
            ValueError: when self is not a scalar and no seed gradient is given.
        """
        if grad is None:
            if self.value.size != 1:
                raise ValueError(
                    f"backward() on a non-scalar Var of shape {self.shape} needs a seed gradient of that shape, "
                    "e.g. y.backward(np.ones_like(y.value))"
                )
            grad = np.ones_like(self.value)
        grad = np.asarray(grad, dtype=float)
        if grad.shape != self.shape:
            raise ValueError(f"seed gradient has shape {grad.shape}, expected {self.shape}")
        order = self.topological_order()
        self.zero_grad()
        self.grad = grad
        for node in reversed(order):
            if node._backward is None:
                continue
            # keep each edge's own contribution: a value used twice gets two of them
            node.edge_grads = tuple(_unbroadcast(g, p.shape) for p, g in zip(node.parents, node._backward(node.grad)))
            for parent, g in zip(node.parents, node.edge_grads):
                parent.grad = parent.grad + g
        return self

    @property
    def label(self) -> str:
        """What its node shows: the operation symbol, else the name, else a constant's value."""
        if self.op:
            return SYMBOLS.get(self.op, self.op)
        if self.name:
            return self.name
        return np.format_float_positional(float(self.value), trim="-") if self.value.size == 1 else "const"

    def _repr_svg_(self) -> str:
        """Jupyter shows a Var as its drawn graph (Graphviz's ``dot`` is needed)."""
        from graphviz_tools.render import run_dot, to_digraph  # render imports this module

        return run_dot(to_digraph(self).source, "svg").decode()

    def __repr__(self) -> str:
        return f"Var({self.value!r}, grad={self.grad!r}, op={self.op!r}, name={self.name!r})"


def exp(x: Var) -> Var:
    """exp(x) as a graph node."""
    return x.exp()


def log(x: Var) -> Var:
    """log(x) as a graph node."""
    return x.log()


def tanh(x: Var) -> Var:
    """tanh(x) as a graph node."""
    return x.tanh()


def sigmoid(x: Var) -> Var:
    """sigmoid(x) as one graph node (``graphviz_tools.examples.sigmoid`` draws its parts)."""
    return x.sigmoid()


def relu(x: Var) -> Var:
    """ReLU(x) as a graph node."""
    return x.relu()
