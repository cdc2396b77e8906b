"""Layers as configuration plus two pure functions, in the manner of stax.

Each layer is a frozen dataclass whose constructor reads like Keras'
(``Dense(128, activation="relu")``, ``Conv2D(32, 3)``, ``MaxPool2D(2)``) and offers:

- ``output_shape(input_shape)``: shape inference without data (shapes exclude the batch axis);
- ``init(key, input_shape) -> params`` with named params (``{"w": ..., "b": ...}``; ``{}`` if none);
- ``apply(params, x, *, key=None, training=False)`` on a batch ``x`` (batch axis first);
- ``apply_with_state(params, x, *, key=None, training=False, mask=None) -> (y, state)``: the same, plus
  the layer's non-trainable state (``jaxnet.state``), which training updates; ``{}`` for most layers.

Containers (``jaxnet.model``) follow the same contract, so layers and models nest.

A layer given an input of the wrong rank or size raises a ``ValueError`` that names
the expected and the actual shape.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, TypeGuard

import jax
import jax.numpy as jnp
import numpy as np

from jaxnet import activations, initializers

Shape = tuple
Params = Any


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class Layer:
    """Base class: subclasses define ``output_shape``, ``init`` (if they have weights) and ``apply``."""

    name: str | None = field(default=None, kw_only=True)

    @property
    def default_name(self) -> str:
        """The name used when none is given: the class name in snake case (``Conv2D`` -> ``conv2d``)."""
        return _snake_case(type(self).__name__)

    def output_shape(self, input_shape: Shape) -> Shape:
        """The shape of one output example for one input example of ``input_shape`` (pure, no arrays)."""
        raise NotImplementedError

    def init(self, key: jax.Array, input_shape: Shape) -> Params:
        """Create the parameters.

        Arguments:
            key: a PRNG key (``jax.random.key(0)``).
            input_shape: the shape of one example, without the batch axis.

        Returns:
            The parameter pytree (``{"w": ..., "b": ...}``); an empty dict for a layer without weights.
        """
        del key, input_shape
        return {}

    def _checked(self, input_shape: Any) -> Shape:
        """``input_shape`` as a tuple, after checking that this layer accepts it (a clear error if not)."""
        input_shape = check_shape(input_shape)
        self.output_shape(input_shape)
        return input_shape

    def apply(self, params: Params, x: jax.Array, *, key: jax.Array | None = None, training: bool = False):
        """Run the layer on a batch ``x``; ``key`` and ``training`` matter only to stochastic layers."""
        raise NotImplementedError

    def apply_with_state(
        self,
        params: Params,
        x: jax.Array,
        *,
        key: jax.Array | None = None,
        training: bool = False,
        mask: jax.Array | None = None,
    ) -> tuple[Any, Params]:
        """Run the layer and return its non-trainable state as well (see ``jaxnet.state``).

        Arguments:
            params, x, key, training: as for ``apply``.
            mask: optional ``(batch,)`` weights, 0 for padding examples that batch statistics must ignore.

        Returns:
            ``(y, state)``: the output, and the entries of ``params`` that are state rather than weights
            (BatchNormalization's moving statistics), updated when ``training``; ``{}`` for a stateless layer.
        """
        del mask
        return self.apply(params, x, key=key, training=training), {}

    def __call__(self, inputs: Any):
        """Keras' functional API: ``Dense(30)(tensor)`` records a call on symbolic tensors (``jaxnet.functional``)."""
        from jaxnet import functional  # functional builds on this module

        return functional.call(self, inputs)


def check_shape(shape: Any) -> Shape:
    """One example's shape as a tuple of positive ints (or a tuple of such shapes, for several inputs).

    Raises:
        ValueError: for anything else, e.g. ``4`` where ``(4,)`` was meant.
    """
    if isinstance(shape, (tuple, list)) and shape and all(isinstance(s, (tuple, list)) for s in shape):
        return tuple(check_shape(s) for s in shape)
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in shape
    ):
        raise ValueError(
            f"an input shape is a tuple of positive ints without the batch axis, such as (784,) or "
            f"(28, 28, 1); got {shape!r}"
        )
    return tuple(int(d) for d in shape)


def _record_input_shape(layer: Any) -> None:  # a layer with input_shape and input_dim fields
    """Keras' ``input_shape=`` / ``input_dim=`` on a first layer, stored as a tuple (the layer stays hashable).

    Only the Keras face's Sequential reads them, to build without data; the layer itself ignores them.
    """
    shape = layer.input_shape if getattr(layer, "input_dim", None) is None else (layer.input_dim,)
    object.__setattr__(layer, "input_shape", None if shape is None else check_shape(shape))


def _positive_int(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")


def _boolean(layer: Layer, name: str) -> None:
    value = getattr(layer, name)
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{type(layer).__name__} {name} must be True or False, got {value!r}")


def _expect_rank(layer: Layer, shape: Shape, rank: int, what: str) -> None:
    if len(shape) != rank:
        raise ValueError(
            f"{type(layer).__name__} expected input of shape {what} (rank {rank} without the batch axis), "
            f"got {tuple(shape)}"
        )


def _expect_batch(layer: Layer, x: jax.Array, example_rank: int, last_dim: int | None, what: str) -> None:
    """Check a batch's rank and, if given, its last axis; the message names both shapes."""
    if x.ndim != example_rank + 1 or (last_dim is not None and x.shape[-1] != last_dim):
        expected = f"(batch, {what})" if last_dim is None else f"(batch, {what}) with last axis {last_dim}"
        raise ValueError(f"{type(layer).__name__} expected input of shape {expected}, got {tuple(x.shape)}")


def _is_int(value: Any) -> TypeGuard[int | np.integer]:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _pair(value: int | tuple[int, int], what: str) -> tuple[int, int]:
    pair = (value, value) if _is_int(value) else tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(pair) != 2 or not all(_is_int(v) and v > 0 for v in pair):
        raise ValueError(f"{what} must be a positive int or a pair of them, e.g. 3 or (3, 3); got {value!r}")
    return int(pair[0]), int(pair[1])


def _padding(padding: str) -> str:
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    return padding.upper()


def zero_padding(padding: Any, what: str = "padding") -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras' ZeroPadding2D argument as ((top, bottom), (left, right)).

    Arguments:
        padding: an int (all four sides), a pair (rows on top and bottom, columns left and right), or a pair
            of pairs ((top, bottom), (left, right)); non-negative ints.
        what: how to name the argument in the error.

    Raises:
        ValueError: for anything else.
    """
    if _is_int(padding):
        padding = ((padding, padding), (padding, padding))
    elif isinstance(padding, (tuple, list)) and len(padding) == 2 and all(_is_int(p) for p in padding):
        padding = ((padding[0], padding[0]), (padding[1], padding[1]))
    if not (
        isinstance(padding, (tuple, list))
        and len(padding) == 2
        and all(isinstance(p, (tuple, list)) and len(p) == 2 and all(_is_int(v) and v >= 0 for v in p) for p in padding)
    ):
        raise ValueError(
            f"{what} must be a non-negative int, a pair (rows, columns) or a pair of pairs "
            f"((top, bottom), (left, right)), as Keras' ZeroPadding2D takes; got {padding!r}"
        )
    (top, bottom), (left, right) = padding
    return (int(top), int(bottom)), (int(left), int(right))


def _conv_padding(padding: Any) -> str | tuple[tuple[int, int], tuple[int, int]]:
    """Conv2D's padding: 'VALID' / 'SAME' (Keras' two), or explicit zero rows/columns (the book's ``pad``)."""
    what = "Conv2D padding (Keras takes 'valid' or 'same'; jaxnet also takes explicit zero padding)"
    if isinstance(padding, str) and padding.lower() in ("valid", "same"):
        return padding.upper()
    return zero_padding(padding, what)


def _window_output(size: int, window: int, stride: int, padding: str | tuple[int, int]) -> int:
    """Output length of a sliding window, as XLA and Keras compute it (explicit padding: (before, after))."""
    if padding == "SAME":
        return math.ceil(size / stride)
    if not isinstance(padding, str):
        size += sum(padding)
    if size < window:
        raise ValueError(f"input size {size} is smaller than the window {window} with padding='valid'")
    return (size - window) // stride + 1


@dataclass(frozen=True)
class Dense(Layer):
    """Fully connected layer ``activation(x @ w + b)`` on the last axis (the book's Affine)."""

    units: int
    activation: str | Callable | None = None
    use_bias: bool = True
    kernel_initializer: str | Callable = "glorot_uniform"
    bias_initializer: str | Callable = "zeros"
    input_shape: tuple | None = field(default=None, kw_only=True)
    input_dim: int | None = field(default=None, kw_only=True)

    def __post_init__(self):
        _record_input_shape(self)
        _positive_int(self.units, "Dense units")
        _boolean(self, "use_bias")
        activations.get(self.activation)  # fail at construction for an unknown name
        initializers.get(self.kernel_initializer), initializers.get(self.bias_initializer)

    def output_shape(self, input_shape):
        if len(input_shape) < 1:
            raise ValueError(f"Dense expected input of shape (..., features), got {tuple(input_shape)}")
        return tuple(input_shape[:-1]) + (self.units,)

    def init(self, key, input_shape):
        input_shape = self._checked(input_shape)
        w_key, b_key = jax.random.split(key)
        params = {"w": initializers.get(self.kernel_initializer)(w_key, (input_shape[-1], self.units), jnp.float32)}
        if self.use_bias:
            params["b"] = initializers.get(self.bias_initializer)(b_key, (self.units,), jnp.float32)
        return params

    def apply(self, params, x, *, key=None, training=False):
        w = params["w"]
        if x.ndim < 2 or x.shape[-1] != w.shape[0]:
            raise ValueError(f"Dense expected input of shape (batch, ..., {w.shape[0]}), got {tuple(x.shape)}")
        y = x @ w
        if self.use_bias:
            y = y + params["b"]
        return activations.get(self.activation)(y)


def _same_padding(size: int, window: int, stride: int) -> tuple[int, int]:
    """XLA's SAME padding: the total split with the extra pixel at the end."""
    total = max((math.ceil(size / stride) - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def im2col_conv(x: jax.Array, w: jax.Array, strides: tuple[int, int], padding: str | tuple) -> jax.Array:
    """Convolution as the book computes it: gather every (kh, kw) patch, then one matrix multiply.

    Same result as ``lax.conv_general_dilated`` (NHWC, HWIO). On XLA:CPU it runs the seeds' CNN about
    twice as fast, because the multiply goes to the tuned GEMM; the backward pass is a GEMM plus the
    scatter-add of the patches.
    """
    kh, kw, c, f = w.shape
    (sh, sw) = strides
    if padding == "SAME":
        x = jnp.pad(x, [(0, 0), _same_padding(x.shape[1], kh, sh), _same_padding(x.shape[2], kw, sw), (0, 0)])
    elif padding != "VALID":  # explicit ((top, bottom), (left, right))
        x = jnp.pad(x, [(0, 0), *padding, (0, 0)])
    n, h, wd, _ = x.shape
    oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    patches = [
        x[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw, :] for i in range(kh) for j in range(kw)
    ]
    cols = jnp.concatenate(patches, axis=-1)  # (n, oh, ow, kh*kw*c), patch-major as w's HWI order
    return (cols.reshape(-1, kh * kw * c) @ w.reshape(-1, f)).reshape(n, oh, ow, f)


@dataclass(frozen=True)
class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in every DL library) on NHWC batches with an HWIO kernel.

    ``padding``: Keras' "valid" or "same"; or, beyond Keras (as the book's ``pad`` and PyTorch), explicit
    zero padding in ZeroPadding2D's forms: an int, (rows, columns) or ((top, bottom), (left, right)).

    ``implementation``: "xla" (``lax.conv_general_dilated``), "im2col" (patches and one matrix multiply,
    see ``im2col_conv``), or "auto": im2col on the CPU, where it is faster, XLA's convolution elsewhere.
    """

    filters: int
    kernel_size: int | tuple[int, int] = 3
    strides: int | tuple[int, int] = 1
    padding: str | int | tuple = "valid"
    activation: str | Callable | None = None
    use_bias: bool = True
    kernel_initializer: str | Callable = "glorot_uniform"
    bias_initializer: str | Callable = "zeros"
    implementation: str = "auto"
    input_shape: tuple | None = field(default=None, kw_only=True)

    def __post_init__(self):
        _record_input_shape(self)
        _positive_int(self.filters, "Conv2D filters")
        _pair(self.kernel_size, "Conv2D kernel_size"), _pair(self.strides, "Conv2D strides")
        _conv_padding(self.padding), _boolean(self, "use_bias")
        activations.get(self.activation)
        initializers.get(self.kernel_initializer), initializers.get(self.bias_initializer)
        if self.implementation not in ("auto", "xla", "im2col"):
            raise ValueError(f"implementation must be 'auto', 'xla' or 'im2col', got {self.implementation!r}")

    def output_shape(self, input_shape):
        _expect_rank(self, input_shape, 3, "(height, width, channels); add a channel axis, e.g. x[..., None]")
        (kh, kw), (sh, sw), pad = _pair(self.kernel_size, ""), _pair(self.strides, ""), _conv_padding(self.padding)
        pad_h, pad_w = (pad, pad) if isinstance(pad, str) else pad
        h, w, _ = input_shape
        return (_window_output(h, kh, sh, pad_h), _window_output(w, kw, sw, pad_w), self.filters)

    def init(self, key, input_shape):
        input_shape = self._checked(input_shape)
        w_key, b_key = jax.random.split(key)
        kh, kw = _pair(self.kernel_size, "")
        shape = (kh, kw, input_shape[-1], self.filters)
        params = {"w": initializers.get(self.kernel_initializer)(w_key, shape, jnp.float32)}
        if self.use_bias:
            params["b"] = initializers.get(self.bias_initializer)(b_key, (self.filters,), jnp.float32)
        return params

    def apply(self, params, x, *, key=None, training=False):
        w = params["w"]
        _expect_batch(self, x, 3, w.shape[2], "height, width, channels")
        dtype = jnp.result_type(x.dtype, w.dtype)  # one dtype on both sides
        x, w = x.astype(dtype), w.astype(dtype)
        strides, padding = _pair(self.strides, ""), _conv_padding(self.padding)
        use_im2col = self.implementation == "im2col" or (
            self.implementation == "auto" and jax.default_backend() == "cpu"
        )
        if use_im2col:
            y = im2col_conv(x, w, strides, padding)
        else:
            y = jax.lax.conv_general_dilated(
                x, w, window_strides=strides, padding=padding, dimension_numbers=("NHWC", "HWIO", "NHWC")
            )
        if self.use_bias:
            y = y + params["b"]
        return activations.get(self.activation)(y)


@dataclass(frozen=True)
class _Pool2D(Layer):
    pool_size: int | tuple[int, int] = 2
    strides: int | tuple[int, int] | None = None
    padding: str = "valid"

    def __post_init__(self):
        _pair(self.pool_size, f"{type(self).__name__} pool_size"), _padding(self.padding)
        if self.strides is not None:
            _pair(self.strides, f"{type(self).__name__} strides")

    def _window(self):
        pool = _pair(self.pool_size, "")
        strides = pool if self.strides is None else _pair(self.strides, "")
        return (1, *pool, 1), (1, *strides, 1), _padding(self.padding)

    def output_shape(self, input_shape):
        _expect_rank(self, input_shape, 3, "(height, width, channels)")
        (_, ph, pw, _), (_, sh, sw, _), pad = self._window()
        h, w, c = input_shape
        return (_window_output(h, ph, sh, pad), _window_output(w, pw, sw, pad), c)

    def _check(self, x):
        _expect_batch(self, x, 3, None, "height, width, channels")

    def _tiles(self, x):
        """For non-overlapping windows (stride = pool, 'valid'): x as (n, oh, ph, ow, pw, c), else None.

        Reducing over the window axes of this view is much faster on XLA:CPU than ``reduce_window``,
        whose gradient (select-and-scatter) dominated the seeds' CNN step there.
        """
        (_, ph, pw, _), (_, sh, sw, _), pad = self._window()
        if (ph, pw) != (sh, sw) or pad != "VALID":
            return None
        n, h, w, c = x.shape
        oh, ow = h // ph, w // pw
        return x[:, : oh * ph, : ow * pw].reshape(n, oh, ph, ow, pw, c)


@dataclass(frozen=True)
class MaxPooling2D(_Pool2D):
    """Max pooling over ``pool_size`` windows (stride = pool_size unless given), NHWC.

    Where several inputs of a window tie for the maximum, the gradient is shared among them
    (non-overlapping windows) rather than given to the first; both are valid subgradients.
    """

    def apply(self, params, x, *, key=None, training=False):
        self._check(x)
        tiles = self._tiles(x)
        if tiles is not None:
            return jnp.max(tiles, axis=(2, 4))
        dims, strides, pad = self._window()
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, dims, strides, pad)


@dataclass(frozen=True)
class AveragePooling2D(_Pool2D):
    """Average pooling; with padding='same' the border windows average only the real inputs, as Keras does."""

    def apply(self, params, x, *, key=None, training=False):
        self._check(x)
        tiles = self._tiles(x)
        if tiles is not None:
            return jnp.mean(tiles, axis=(2, 4))
        dims, strides, pad = self._window()
        total = jax.lax.reduce_window(x, 0.0, jax.lax.add, dims, strides, pad)
        count = jax.lax.reduce_window(jnp.ones_like(x), 0.0, jax.lax.add, dims, strides, pad)
        return total / count


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D


@dataclass(frozen=True)
class Flatten(Layer):
    """Flatten each example to one axis: (batch, h, w, c) -> (batch, h*w*c)."""

    input_shape: tuple | None = field(default=None, kw_only=True)

    def __post_init__(self):
        _record_input_shape(self)

    def output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def apply(self, params, x, *, key=None, training=False):
        return x.reshape(x.shape[0], -1)


@dataclass(frozen=True)
class ZeroPadding2D(Layer):
    """Add rows and columns of zeros around each image (NHWC), as Keras' ZeroPadding2D.

    ``padding``: an int (all four sides), (rows, columns) (top and bottom, left and right), or
    ((top, bottom), (left, right)).
    """

    padding: int | tuple = (1, 1)
    input_shape: tuple | None = field(default=None, kw_only=True)

    def __post_init__(self):
        _record_input_shape(self)
        zero_padding(self.padding, "ZeroPadding2D padding")

    def output_shape(self, input_shape):
        _expect_rank(self, input_shape, 3, "(height, width, channels)")
        (top, bottom), (left, right) = zero_padding(self.padding)
        h, w, c = input_shape
        return (h + top + bottom, w + left + right, c)

    def apply(self, params, x, *, key=None, training=False):
        _expect_batch(self, x, 3, None, "height, width, channels")
        return jnp.pad(x, [(0, 0), *zero_padding(self.padding), (0, 0)])


@dataclass(frozen=True)
class Dropout(Layer):
    """Inverted dropout: in training, zero a fraction ``rate`` of the inputs and scale the rest by 1/(1-rate).

    At inference (``training=False``) it is the identity. Training needs a PRNG ``key``.
    """

    rate: float

    def __post_init__(self):
        if isinstance(self.rate, (str, bool)) or not 0.0 <= self.rate < 1.0:
            raise ValueError(f"Dropout rate is the fraction dropped and must be in [0, 1), got {self.rate}")

    def output_shape(self, input_shape):
        return tuple(input_shape)

    def apply(self, params, x, *, key=None, training=False):
        if not training or self.rate == 0.0:
            return x
        if key is None:
            raise ValueError(
                f"Dropout(rate={self.rate}) in training mode needs a PRNG key: "
                "call apply(params, x, key=jax.random.key(0), training=True)"
            )
        keep = jax.random.bernoulli(key, 1.0 - self.rate, x.shape)
        return jnp.where(keep, x / (1.0 - self.rate), jnp.zeros_like(x))


@dataclass(frozen=True)
class Activation(Layer):
    """Apply an activation function (by name or as a function) element-wise."""

    activation: str | Callable

    def __post_init__(self):
        activations.get(self.activation)

    def output_shape(self, input_shape):
        return tuple(input_shape)

    def apply(self, params, x, *, key=None, training=False):
        return activations.get(self.activation)(x)


@dataclass(frozen=True)
class Identity(Layer):
    """Pass the input through unchanged (the "wide" path of Wide & Deep)."""

    def output_shape(self, input_shape):
        return tuple(input_shape)

    def apply(self, params, x, *, key=None, training=False):
        return x


@dataclass(frozen=True)
class Maxout(Layer):
    """Maxout (Goodfellow et al., 2013): ``units`` outputs, each the max of ``pieces`` affine functions."""

    units: int
    pieces: int = 2
    kernel_initializer: str | Callable = "glorot_uniform"

    def __post_init__(self):
        _positive_int(self.units, "Maxout units"), _positive_int(self.pieces, "Maxout pieces")
        initializers.get(self.kernel_initializer)

    def output_shape(self, input_shape):
        if len(input_shape) < 1:
            raise ValueError(f"Maxout expected input of shape (..., features), got {tuple(input_shape)}")
        return tuple(input_shape[:-1]) + (self.units,)

    def init(self, key, input_shape):
        shape = (self._checked(input_shape)[-1], self.units * self.pieces)
        return {
            "w": initializers.get(self.kernel_initializer)(key, shape, jnp.float32),
            "b": jnp.zeros((self.units * self.pieces,), jnp.float32),
        }

    def apply(self, params, x, *, key=None, training=False):
        w = params["w"]
        if x.ndim < 2 or x.shape[-1] != w.shape[0]:
            raise ValueError(f"Maxout expected input of shape (batch, ..., {w.shape[0]}), got {tuple(x.shape)}")
        z = x @ w + params["b"]
        return jnp.max(z.reshape(*z.shape[:-1], self.units, self.pieces), axis=-1)


@dataclass(frozen=True)
class Concatenate(Layer):
    """Concatenate a tuple of inputs along ``axis`` of each example (-1: the feature axis)."""

    axis: int = -1

    def output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        if len(shapes) < 2 or not all(isinstance(s, tuple) for s in shapes):
            raise ValueError(f"Concatenate expects a tuple of at least two input shapes, got {input_shape!r}")
        rank = len(shapes[0])
        axis = self.axis % rank
        rest = {s[:axis] + s[axis + 1 :] for s in shapes}
        if len(rest) != 1 or any(len(s) != rank for s in shapes):
            raise ValueError(f"Concatenate needs shapes equal except on axis {self.axis}, got {shapes}")
        return shapes[0][:axis] + (sum(s[axis] for s in shapes),) + shapes[0][axis + 1 :]

    def apply(self, params, x, *, key=None, training=False):
        axis = self.axis if self.axis < 0 else self.axis + 1  # skip the batch axis
        return jnp.concatenate(list(x), axis=axis)
