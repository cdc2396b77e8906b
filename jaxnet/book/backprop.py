"""The book's hand-written backpropagation, as pure forward/backward pairs.

Each layer is a namespace with ``forward(...) -> (out, cache)`` and
``backward(cache, dout) -> gradients``, with the book's names (``dout``, ``dx``,
``dW``, ``db``). Nothing is stored on the layer: the cache is returned, so the
functions are pure and work on NumPy arrays (the book's setting, and the fast
path for per-element numerical checks) and on JAX arrays alike.

``TwoLayerNet`` computes one loss three ways: numerically, by manual backprop and
by ``jax.grad``. All three use the same loss definition (exact softmax cross
entropy, no delta inside the log) so they agree to rounding error in float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxnet._src import labels
from jaxnet.book import numerical


def array_module(*arrays):
    """``jax.numpy`` if any argument is a JAX array (or tracer), else ``numpy``."""
    return jnp if any(isinstance(a, jax.Array) for a in arrays) else np


class Mul:
    """Multiplication node z = x * y: backward swaps the inputs (dx = dout * y, dy = dout * x)."""

    @staticmethod
    def forward(x, y):
        return x * y, (x, y)

    @staticmethod
    def backward(cache, dout):
        x, y = cache
        return dout * y, dout * x


class Add:
    """Addition node z = x + y: backward passes dout through to both inputs."""

    @staticmethod
    def forward(x, y):
        return x + y, None

    @staticmethod
    def backward(cache, dout):
        return dout * 1, dout * 1


class Relu:
    """ReLU: backward masks positions where x <= 0."""

    @staticmethod
    def forward(x):
        mask = x <= 0
        return array_module(x).where(mask, 0, x), mask

    @staticmethod
    def backward(mask, dout):
        return array_module(dout).where(mask, 0, dout)


class Sigmoid:
    """Sigmoid: backward is dout * y * (1 - y), using the cached output y."""

    @staticmethod
    def forward(x):
        out = 1 / (1 + array_module(x).exp(-x))
        return out, out

    @staticmethod
    def backward(out, dout):
        return dout * (1.0 - out) * out


class Affine:
    """Affine layer X W + b: dX = dY W^T, dW = X^T dY, db = the sum of dY over the batch."""

    @staticmethod
    def forward(params, x):
        return x @ params["W"] + params["b"], x

    @staticmethod
    def backward(params, x, dout):
        dx = dout @ params["W"].T
        return dx, {"W": x.T @ dout, "b": dout.sum(axis=0)}


def log_softmax(x):
    """Row-wise log-softmax, stable for large inputs, in NumPy or JAX."""
    xp = array_module(x)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_cross_entropy(x, t):
    """The loss every method of TwoLayerNet differentiates: -sum(t * log softmax(x)) / N, t one-hot."""
    return -(t * log_softmax(x)).sum() / x.shape[0]


class SoftmaxWithLoss:
    """Softmax followed by cross entropy; backward is (y - t) / N for one-hot t."""

    @staticmethod
    def forward(x, t):
        y = array_module(x).exp(log_softmax(x))
        return softmax_cross_entropy(x, t), (y, t)

    @staticmethod
    def backward(cache, dout=1.0):
        y, t = cache
        return dout * (y - t) / y.shape[0]


def _out_size(size: int, window: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - window) // stride + 1


def im2col(x: np.ndarray, kh: int, kw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The book's im2col for NHWC images: one row per output position, holding its (kh, kw, C) patch.

    Arguments:
        x: images (N, H, W, C).
        kh, kw: window height and width.
        stride, pad: as in the convolution.

    Returns:
        An array (N * out_h * out_w, kh * kw * C).
    """
    n, h, w, c = x.shape
    out_h, out_w = _out_size(h, kh, stride, pad), _out_size(w, kw, stride, pad)
    img = np.pad(x, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
    col = np.empty((n, out_h, out_w, kh, kw, c), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            col[:, :, :, i, j, :] = img[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride, :]
    return col.reshape(n * out_h * out_w, kh * kw * c)


def col2im(col: np.ndarray, x_shape: tuple, kh: int, kw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The inverse scatter of ``im2col``: overlapping patch gradients are summed back into the image."""
    n, h, w, c = x_shape
    out_h, out_w = _out_size(h, kh, stride, pad), _out_size(w, kw, stride, pad)
    col = col.reshape(n, out_h, out_w, kh, kw, c)
    img = np.zeros((n, h + 2 * pad, w + 2 * pad, c), dtype=col.dtype)
    for i in range(kh):
        for j in range(kw):
            img[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride, :] += col[:, :, :, i, j, :]
    return img[:, pad : pad + h, pad : pad + w, :]


class Convolution:
    """The book's convolution layer via im2col, NHWC images and an (kh, kw, C, F) kernel (HWIO, as jaxnet's Conv2D).

    ``forward(params, x, stride, pad)``; ``backward(params, cache, dout)`` returns ``(dx, {"W", "b"})``.
    """

    @staticmethod
    def forward(params, x, stride: int = 1, pad: int = 0):
        kh, kw, c, f = params["W"].shape
        n, h, w, _ = x.shape
        col = im2col(x, kh, kw, stride, pad)
        out = col @ params["W"].reshape(-1, f) + params["b"]
        out_h, out_w = _out_size(h, kh, stride, pad), _out_size(w, kw, stride, pad)
        return out.reshape(n, out_h, out_w, f), (x.shape, col, stride, pad)

    @staticmethod
    def backward(params, cache, dout):
        x_shape, col, stride, pad = cache
        kh, kw, c, f = params["W"].shape
        dout = dout.reshape(-1, f)
        grads = {"W": (col.T @ dout).reshape(params["W"].shape), "b": dout.sum(axis=0)}
        dcol = dout @ params["W"].reshape(-1, f).T
        return col2im(dcol, x_shape, kh, kw, stride, pad), grads


class Pooling:
    """The book's max pooling via im2col: backward routes each gradient to the position of the maximum."""

    @staticmethod
    def forward(x, pool: int = 2, stride: int = 2):
        n, h, w, c = x.shape
        out_h, out_w = _out_size(h, pool, stride, 0), _out_size(w, pool, stride, 0)
        col = im2col(x, pool, pool, stride).reshape(-1, pool * pool, c).transpose(0, 2, 1).reshape(-1, pool * pool)
        arg_max = col.argmax(axis=1)
        out = col[np.arange(col.shape[0]), arg_max].reshape(n, out_h, out_w, c)
        return out, (x.shape, arg_max, pool, stride)

    @staticmethod
    def backward(cache, dout):
        x_shape, arg_max, pool, stride = cache
        dmax = np.zeros((dout.size, pool * pool), dtype=dout.dtype)
        dmax[np.arange(arg_max.size), arg_max] = dout.reshape(-1)
        c = x_shape[3]
        dcol = dmax.reshape(-1, c, pool * pool).transpose(0, 2, 1).reshape(-1, pool * pool * c)
        return col2im(dcol, x_shape, pool, pool, stride)


ACTIVATIONS = {"relu": Relu, "sigmoid": Sigmoid}


def one_hot(t, num_classes: int, dtype, xp=np):
    """One-hot rows of ``dtype`` (the scores' dtype, so float32 stays float32) for integer or one-hot labels."""
    t = xp.asarray(t)
    if t.ndim == 2 and t.shape[1] == num_classes:
        return t.astype(dtype)
    return labels.one_hot(t, num_classes, dtype, xp)


@dataclass(frozen=True)
class TwoLayerNet:
    """The book's two-layer net: Affine -> activation -> Affine -> SoftmaxWithLoss.

    Params are a dict ``{"W1", "b1", "W2", "b2"}`` kept outside the object (pure functions).

    Arguments:
        input_size, hidden_size, output_size: 784, 50, 10 in the book.
        weight_init_std: standard deviation of the initial weights (the book's 0.01).
        activation: "relu" (chapter 5) or "sigmoid" (chapter 4).
    """

    input_size: int = 784
    hidden_size: int = 50
    output_size: int = 10
    weight_init_std: float = 0.01
    activation: str = "relu"

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")

    def init(self, key: jax.Array, dtype=np.float64) -> dict:
        """Gaussian weights (std ``weight_init_std``) and zero biases, as NumPy arrays of ``dtype``."""
        k1, k2 = jax.random.split(key)
        normal = lambda k, shape: self.weight_init_std * np.asarray(jax.random.normal(k, shape), dtype)
        return {
            "W1": normal(k1, (self.input_size, self.hidden_size)),
            "b1": np.zeros(self.hidden_size, dtype),
            "W2": normal(k2, (self.hidden_size, self.output_size)),
            "b2": np.zeros(self.output_size, dtype),
        }

    def _forward(self, params, x):
        act = ACTIVATIONS[self.activation]
        a1, x_cache = Affine.forward({"W": params["W1"], "b": params["b1"]}, x)
        z1, act_cache = act.forward(a1)
        scores, z_cache = Affine.forward({"W": params["W2"], "b": params["b2"]}, z1)
        return scores, (x_cache, act_cache, z_cache)

    def predict(self, params, x):
        """The class scores (pre-softmax), shape (N, output_size)."""
        return self._forward(params, x)[0]

    def loss(self, params, x, t):
        """Softmax cross entropy of the scores against ``t`` (one-hot or integer labels)."""
        scores = self.predict(params, x)
        return softmax_cross_entropy(scores, one_hot(t, self.output_size, scores.dtype, array_module(scores)))

    def accuracy(self, params, x, t) -> float:
        """Fraction of examples whose highest score is the label."""
        labels = np.asarray(t).argmax(axis=1) if np.ndim(t) == 2 else np.asarray(t)
        return float(np.mean(np.asarray(self.predict(params, x)).argmax(axis=1) == labels))

    def numerical_gradient(self, params, x, t, h: float = 1e-4):
        """The gradient by central differences (two forward passes per parameter)."""
        return numerical.numerical_gradient(lambda p: self.loss(p, x, t), params, h)

    def gradient(self, params, x, t):
        """The gradient by the book's manual backprop: one forward and one backward pass."""
        scores, (x_cache, act_cache, z_cache) = self._forward(params, x)
        targets = one_hot(t, self.output_size, scores.dtype, array_module(scores))
        _, loss_cache = SoftmaxWithLoss.forward(scores, targets)
        dout = SoftmaxWithLoss.backward(loss_cache)
        dz1, g2 = Affine.backward({"W": params["W2"]}, z_cache, dout)
        da1 = ACTIVATIONS[self.activation].backward(act_cache, dz1)
        _, g1 = Affine.backward({"W": params["W1"]}, x_cache, da1)
        return {"W1": g1["W"], "b1": g1["b"], "W2": g2["W"], "b2": g2["b"]}

    def autodiff_gradient(self, params, x, t):
        """The gradient by ``jax.grad`` of the same loss (pass JAX arrays; wrap in jax.jit for speed)."""
        return jax.grad(self.loss)(params, x, t)


def train_book_loop(
    net: TwoLayerNet,
    params: dict,
    x_train,
    t_train,
    *,
    iters: int = 10000,
    batch_size: int = 100,
    learning_rate: float = 0.1,
    gradient: str = "backprop",
    seed: int = 0,
    eval_every: int | None = None,
    x_test=None,
    t_test=None,
) -> tuple[dict, dict]:
    """The book's training loop (train_neuralnet.py): random mini-batches, plain SGD, loss every step.

    Arguments:
        net: the network.
        params: initial parameters (NumPy arrays).
        x_train, t_train: training inputs and labels (integer or one-hot).
        iters: number of SGD steps (10000 in the book).
        batch_size: examples per step (100).
        learning_rate: SGD step size (0.1).
        gradient: "backprop" (manual, NumPy) or "autodiff" (``jax.jit(jax.grad)``).
        seed: seed of the mini-batch sampler (the same batches for both gradient methods).
        eval_every: record train (and test) accuracy every this many steps (the book: once per epoch).
        x_test, t_test: optional test set for the accuracy record.

    Returns:
        ``(params, history)`` with history keys "loss" (every step), "train_acc", "test_acc".
    """
    grad_fns: dict[str, Callable] = {"backprop": net.gradient, "autodiff": jax.jit(net.autodiff_gradient)}
    if gradient not in grad_fns:
        raise ValueError(f"gradient must be one of {sorted(grad_fns)}, got {gradient!r}")
    rng = np.random.default_rng(seed)
    n = x_train.shape[0]
    eval_every = eval_every or max(n // batch_size, 1)
    history: dict[str, list[float]] = {"loss": [], "train_acc": [], "test_acc": []}
    loss_fn = jax.jit(net.loss) if gradient == "autodiff" else net.loss
    for i in range(iters):
        batch = rng.choice(n, batch_size)
        x_batch, t_batch = x_train[batch], t_train[batch]
        grads = grad_fns[gradient](params, x_batch, t_batch)
        # the book's in-place ``params[key] -= lr * grad[key]``: the parameters keep their dtype
        params = {k: (params[k] - learning_rate * np.asarray(grads[k])).astype(params[k].dtype) for k in params}
        history["loss"].append(float(loss_fn(params, x_batch, t_batch)))
        if (i + 1) % eval_every == 0:
            history["train_acc"].append(net.accuracy(params, x_train, t_train))
            if x_test is not None:
                history["test_acc"].append(net.accuracy(params, x_test, t_test))
    return params, history
