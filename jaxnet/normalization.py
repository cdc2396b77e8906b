"""BatchNormalization, with its moving statistics as non-trainable state (see ``jaxnet.state``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxnet import initializers
from jaxnet.layers import Layer, _record_input_shape

#: The parameter entries that are state, not weights, in Keras' get_weights order after gamma and beta.
STATE = ("moving_mean", "moving_variance")


@dataclass(frozen=True)
class BatchNormalization(Layer):
    """Keras' BatchNormalization: normalise each feature of ``axis`` over the batch (and every other axis).

    In training, ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta`` with the batch's mean and
    (biased) variance, and the moving statistics become ``momentum * moving + (1 - momentum) * batch``
    (returned by ``apply_with_state``; ``fit`` writes them back). In inference the moving statistics
    replace the batch's. Parameters: ``gamma`` (if ``scale``), ``beta`` (if ``center``), ``moving_mean``,
    ``moving_variance``; computed in float32 at least, as Keras does.

    Arguments:
        axis: the feature axis of the batch (Keras counts the batch axis: -1 is the channels of NHWC,
            1 the first axis of each example); it may not be 0, the batch axis.
        momentum: weight of the old moving statistics in each update (Keras' 0.99).
        epsilon: added to the variance (Keras' 1e-3).
        center, scale: learn ``beta`` / ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer:
            initializer names or functions (Keras' defaults: zeros, ones, zeros, ones).
    """

    axis: int = -1
    momentum: float = 0.99
    epsilon: float = 1e-3
    center: bool = True
    scale: bool = True
    beta_initializer: str | Callable = "zeros"
    gamma_initializer: str | Callable = "ones"
    moving_mean_initializer: str | Callable = "zeros"
    moving_variance_initializer: str | Callable = "ones"
    input_shape: tuple | None = field(default=None, kw_only=True)

    def __post_init__(self):
        _record_input_shape(self)
        if isinstance(self.axis, bool) or not isinstance(self.axis, (int, np.integer)) or self.axis == 0:
            raise ValueError(
                f"BatchNormalization axis must be a non-zero integer (axis 0 is the batch), "
                f"e.g. -1 for the channels of (batch, height, width, channels); got {self.axis!r}"
            )
        if not 0.0 <= self.momentum <= 1.0:
            raise ValueError(
                f"BatchNormalization momentum must be in [0, 1] (Keras' default 0.99), got {self.momentum!r}"
            )
        if not self.epsilon > 0:
            raise ValueError(f"BatchNormalization epsilon must be positive (Keras' default 1e-3), got {self.epsilon!r}")
        for name in ("beta_initializer", "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer"):
            initializers.get(getattr(self, name))

    def _feature_axis(self, rank: int) -> int:
        """The feature axis of a batch of ``rank`` axes (batch included), checked."""
        axis = self.axis if self.axis > 0 else rank + self.axis
        if not 0 < axis < rank:
            raise ValueError(
                f"BatchNormalization(axis={self.axis}) does not fit inputs of shape "
                f"(batch, {rank - 1} more axes); use an axis of each example, such as -1"
            )
        return axis

    def output_shape(self, input_shape):
        self._feature_axis(len(input_shape) + 1)
        return tuple(input_shape)

    def init(self, key, input_shape):
        input_shape = self._checked(input_shape)
        features = (input_shape[self._feature_axis(len(input_shape) + 1) - 1],)
        keys = jax.random.split(key, 4)
        params = {}
        if self.scale:
            params["gamma"] = initializers.get(self.gamma_initializer)(keys[0], features, jnp.float32)
        if self.center:
            params["beta"] = initializers.get(self.beta_initializer)(keys[1], features, jnp.float32)
        params["moving_mean"] = initializers.get(self.moving_mean_initializer)(keys[2], features, jnp.float32)
        params["moving_variance"] = initializers.get(self.moving_variance_initializer)(keys[3], features, jnp.float32)
        return params

    def apply(self, params, x, *, key=None, training=False):
        return self.apply_with_state(params, x, key=key, training=training)[0]

    def apply_with_state(self, params, x, *, key=None, training=False, mask=None):
        axis = self._feature_axis(x.ndim)
        features = params["moving_mean"].shape[0]
        if x.shape[axis] != features:
            raise ValueError(
                f"BatchNormalization was built for {features} features on axis {self.axis}, "
                f"got input of shape {tuple(x.shape)}"
            )
        dtype = jnp.result_type(x.dtype, jnp.float32)
        x32 = x.astype(dtype)
        state = {name: params[name] for name in STATE}
        if training:
            mean, var = _moments(x32, axis, mask)
            m = self.momentum
            state = {
                "moving_mean": params["moving_mean"] * m + mean * (1.0 - m),
                "moving_variance": params["moving_variance"] * m + var * (1.0 - m),
            }
        else:
            mean, var = params["moving_mean"], params["moving_variance"]
        shape = [1] * x.ndim
        shape[axis] = features
        inv = jax.lax.rsqrt(var.astype(dtype) + self.epsilon)
        if self.scale:
            inv = inv * params["gamma"]
        shift = -mean * inv
        if self.center:
            shift = shift + params["beta"]
        y = x32 * inv.reshape(shape) + shift.reshape(shape)  # Keras' order of operations
        return y.astype(x.dtype) if jnp.issubdtype(x.dtype, jnp.floating) else y, state


def _moments(x: jax.Array, axis: int, mask: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    """Mean and biased variance of every feature of ``axis``, over the examples ``mask`` keeps (all if None)."""
    axes = tuple(a for a in range(x.ndim) if a != axis)
    if mask is None:
        return jnp.mean(x, axis=axes), jnp.var(x, axis=axes)
    w = jnp.broadcast_to(mask.astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - 1)), x.shape)
    count = jnp.sum(w, axis=axes)
    mean = jnp.sum(w * x, axis=axes) / count
    centred = x - jnp.expand_dims(mean, axes)
    return mean, jnp.sum(w * centred**2, axis=axes) / count
