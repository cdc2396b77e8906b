"""The book's numerical differentiation: central differences, element by element, in NumPy.

Slow on purpose: one pair of function evaluations per parameter, which is the
cost that backpropagation removes (``python -m benchmarks.grad_speed`` measures it).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np


def numerical_diff(f: Callable[[float], float], x: float, h: float = 1e-4) -> float:
    """Central difference (f(x + h) - f(x - h)) / 2h.

    Arguments:
        f: a scalar function of one scalar.
        x: the point.
        h: the step (the book's 1e-4: small, but not so small that rounding dominates).

    Returns:
        The approximate derivative.
    """
    return (f(x + h) - f(x - h)) / (2 * h)


def numerical_gradient(
    f: Callable[[Any], float], params: Any, h: float = 1e-4, indices: dict[int, np.ndarray] | None = None
) -> Any:
    """Gradient of a scalar function of a pytree of arrays by central differences.

    Each element is nudged by +h and -h in turn (two evaluations of f per element).
    f receives NumPy arrays in the pytree's structure.

    Arguments:
        f: scalar function of the pytree.
        params: a pytree of arrays (or a single array).
        h: the step.
        indices: optionally, for some leaves (by position in ``jax.tree.leaves``), the flat
            element indices to differentiate; the other elements' gradients are left at 0.
            Used to time a random subset of a very large model.

    Returns:
        A pytree like ``params`` of NumPy arrays holding the gradient.
    """
    leaves, treedef = jax.tree.flatten(params)
    work = [np.array(leaf, dtype=np.result_type(np.asarray(leaf).dtype, np.float32)) for leaf in leaves]
    grads = [np.zeros_like(leaf) for leaf in work]

    def evaluate() -> float:
        return float(f(jax.tree.unflatten(treedef, work)))

    for i, (leaf, grad) in enumerate(zip(work, grads)):
        flat, flat_grad = leaf.reshape(-1), grad.reshape(-1)  # views: edits reach ``work``
        chosen = range(flat.size) if indices is None or i not in indices else indices[i]
        for idx in chosen:
            saved = flat[idx]
            flat[idx] = saved + h
            f_plus = evaluate()
            flat[idx] = saved - h
            f_minus = evaluate()
            flat[idx] = saved
            flat_grad[idx] = (f_plus - f_minus) / (2 * h)
    return jax.tree.unflatten(treedef, grads)


def gradient_descent(
    f: Callable, init_x, lr: float = 0.01, step_num: int = 100, grad: Callable | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The book's gradient descent: x <- x - lr * grad f(x), ``step_num`` times.

    Arguments:
        f: scalar function of an array.
        init_x: starting point.
        lr: learning rate.
        step_num: number of steps.
        grad: gradient function; the numerical gradient when None (pass ``jax.grad(f)`` for autodiff).

    Returns:
        ``(x, history)``: the final point and every point visited before each step, shape (step_num, ...).
    """
    grad = grad or (lambda x: numerical_gradient(f, x))
    x = np.array(init_x, dtype=np.float64)
    history = []
    for _ in range(step_num):
        history.append(x.copy())
        x = x - lr * np.asarray(grad(x))
    return x, np.array(history)
