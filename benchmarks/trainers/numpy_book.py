"""The book's way: hand-written forward/backward layers (jaxnet.book.backprop) and the book's Adam, in NumPy, float32.

The MLP is Affine-Relu-Dropout-Affine-SoftmaxWithLoss; the CNN stacks the book's
im2col Convolution and Pooling layers in the seeds' layout. Threads: OpenBLAS at
its faster setting, measured on a probe run with threadpoolctl.
"""

from __future__ import annotations

import os
import time

import numpy as np

from jaxnet.book.backprop import Affine, Convolution, Pooling, Relu, SoftmaxWithLoss


class BookAdam:
    """The book's Adam (common/optimizer.py), updating a dict of NumPy arrays in place."""

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr, self.beta1, self.beta2, self.iter, self.m, self.v = lr, beta1, beta2, 0, None, None

    def update(self, params, grads):
        if self.m is None:
            self.m = {k: np.zeros_like(v) for k, v in params.items()}
            self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2**self.iter) / (1.0 - self.beta1**self.iter)
        for k in params:
            self.m[k] += (1 - self.beta1) * (grads[k] - self.m[k])
            self.v[k] += (1 - self.beta2) * (grads[k] ** 2 - self.v[k])
            params[k] -= (lr_t * self.m[k] / (np.sqrt(self.v[k]) + 1e-7)).astype(params[k].dtype)


def _he(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def init(workload, rng):
    if workload.name.startswith("mlp"):
        return {
            "W1": _he(rng, (784, 128), 784),
            "b1": np.zeros(128, np.float32),
            "W2": _he(rng, (128, 10), 128),
            "b2": np.zeros(10, np.float32),
        }
    shapes = {"C1": (3, 3, 3, 32), "C2": (3, 3, 32, 64), "C3": (3, 3, 64, 64), "W1": (1024, 64), "W2": (64, 10)}
    params = {}
    for name, shape in shapes.items():
        params[name] = _he(rng, shape, int(np.prod(shape[:-1])))
        params["b" + name] = np.zeros(shape[-1], np.float32)
    return params


def mlp_gradient(params, x, t, rng):
    a1, c1 = Affine.forward({"W": params["W1"], "b": params["b1"]}, x.reshape(len(x), -1))
    z1, mask = Relu.forward(a1)
    keep = rng.random(z1.shape, dtype=np.float32) > 0.2  # the book's Dropout (ch06), inverted scaling
    z1 = z1 * keep / 0.8
    scores, c2 = Affine.forward({"W": params["W2"], "b": params["b2"]}, z1)
    _, loss_cache = SoftmaxWithLoss.forward(scores, t)
    dz1, g2 = Affine.backward({"W": params["W2"]}, c2, SoftmaxWithLoss.backward(loss_cache))
    _, g1 = Affine.backward({"W": params["W1"]}, c1, Relu.backward(mask, dz1 * keep / 0.8))
    return {"W1": g1["W"], "b1": g1["b"], "W2": g2["W"], "b2": g2["b"]}


def cnn_gradient(params, x, t, rng):
    caches, h = [], x
    for name in ("C1", "C2", "C3"):
        h, conv = Convolution.forward({"W": params[name], "b": params["b" + name]}, h)
        h, mask = Relu.forward(h)
        pool = None
        if name != "C3":
            h, pool = Pooling.forward(h, 2, 2)
        caches.append((name, conv, mask, pool))
    shape = h.shape
    a1, f1 = Affine.forward({"W": params["W1"], "b": params["bW1"]}, h.reshape(len(h), -1))
    z1, m1 = Relu.forward(a1)
    scores, f2 = Affine.forward({"W": params["W2"], "b": params["bW2"]}, z1)
    _, loss_cache = SoftmaxWithLoss.forward(scores, t)
    grads = {}
    dz1, g = Affine.backward({"W": params["W2"]}, f2, SoftmaxWithLoss.backward(loss_cache))
    grads["W2"], grads["bW2"] = g["W"], g["b"]
    dh, g = Affine.backward({"W": params["W1"]}, f1, Relu.backward(m1, dz1))
    grads["W1"], grads["bW1"] = g["W"], g["b"]
    dh = dh.reshape(shape)
    for name, conv, mask, pool in reversed(caches):
        if pool is not None:
            dh = Pooling.backward(pool, dh)
        dh, g = Convolution.backward({"W": params[name]}, conv, Relu.backward(mask, dh))
        grads[name], grads["b" + name] = g["W"], g["b"]
    return grads


def _epoch(workload, params, optimizer, x, t, rng):
    gradient = mlp_gradient if workload.name.startswith("mlp") else cnn_gradient
    order = rng.permutation(len(x))
    start = time.perf_counter()
    for i in range(0, len(x), workload.batch_size):
        idx = order[i : i + workload.batch_size]
        optimizer.update(params, gradient(params, x[idx], t[idx], rng))
    return time.perf_counter() - start


def train(workload, x, y, epochs: int) -> dict:
    from threadpoolctl import threadpool_limits

    t = np.eye(10, dtype=np.float32)[y]
    rng = np.random.default_rng(0)
    probe = min(len(x), 20 * workload.batch_size)
    trial = {}
    for threads in sorted({1, os.cpu_count() or 1}):
        with threadpool_limits(threads):
            trial[threads] = _epoch(workload, init(workload, rng), BookAdam(), x[:probe], t[:probe], rng)
    best = min(trial, key=lambda threads: trial[threads])
    params, optimizer = init(workload, rng), BookAdam()
    with threadpool_limits(best):
        times = [_epoch(workload, params, optimizer, x, t, rng) for _ in range(epochs)]
    return {
        "epoch_times": times,
        "config": "the book's layers (im2col Convolution) and Adam, float32",
        "threads": f"OpenBLAS {best} (probe s: " + ", ".join(f"{k} threads {v:.3f}" for k, v in trial.items()) + ")",
    }
