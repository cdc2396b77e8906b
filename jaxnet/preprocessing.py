"""Keras' image preprocessing layers: Rescaling, and RandomFlip / RandomRotation / RandomZoom / RandomTranslation.

The random layers are active only in training (``apply(..., training=True)``, which ``fit``
passes) and are the identity in inference, as in Keras. Each image of a batch gets its own
draw from the layer's PRNG key; ``fit`` gives every step a fresh key inside the compiled
epoch, so the augmentation differs at every step and epoch. Arguments follow Keras 3:
factors are fractions (of a full turn, of the height or width), ``fill_mode`` is one of
"reflect" (the default), "wrap", "constant", "nearest", ``interpolation`` "bilinear" or
"nearest". The transforms are ``jaxnet.augment``'s pure functions. Images are NHWC; outputs
are floating point (float32 for integer images), as Keras' are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp

from jaxnet import augment
from jaxnet.layers import Layer, _expect_batch, _expect_rank, _record_input_shape


def _float(x: jax.Array) -> jax.Array:
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


@dataclass(frozen=True)
class Rescaling(Layer):
    """``x * scale + offset`` in every mode (e.g. ``Rescaling(1 / 255)`` for pixels in [0, 1])."""

    scale: float
    offset: float = 0.0
    input_shape: tuple | None = field(default=None, kw_only=True)

    def __post_init__(self):
        _record_input_shape(self)
        for name in ("scale", "offset"):
            if isinstance(getattr(self, name), (str, bool)):
                raise ValueError(f"Rescaling {name} must be a number, got {getattr(self, name)!r}")

    def output_shape(self, input_shape):
        return tuple(input_shape)

    def apply(self, params, x, *, key=None, training=False):
        return _float(x) * self.scale + self.offset


def _factor_range(factor, what: str, low_open: bool = False) -> tuple[float, float]:
    """Keras' factor: a number f (the range [-|f|, |f|]) or a pair (lower, upper), each in [-1, 1]
    ((-1, 1] where ``low_open``, as for zoom and translation factors)."""
    bounds = "(-1, 1]" if low_open else "[-1, 1]"
    inside = lambda v: (
        isinstance(v, (int, float)) and not isinstance(v, bool) and (-1 < v if low_open else -1 <= v) and v <= 1
    )
    if isinstance(factor, (tuple, list)) and len(factor) == 2 and all(inside(v) for v in factor):
        low, high = sorted(float(v) for v in factor)
        return low, high
    if inside(factor):
        return -abs(float(factor)), abs(float(factor))
    raise ValueError(
        f"{what} must be a number or a pair (lower, upper) of numbers in {bounds}, fractions as in "
        f"Keras (e.g. 0.1 for -10%..+10%); got {factor!r}"
    )


@dataclass(frozen=True)
class _RandomImageLayer(Layer):
    """Shared by the random layers: per-image draws in training, the identity otherwise."""

    seed: int | None = field(default=None, kw_only=True)
    input_shape: tuple | None = field(default=None, kw_only=True)

    def __post_init__(self):
        _record_input_shape(self)
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise ValueError(f"{type(self).__name__} seed must be an integer or None, got {self.seed!r}")
        fill_mode, interpolation = getattr(self, "fill_mode", "constant"), getattr(self, "interpolation", "bilinear")
        if fill_mode not in augment.FILL_MODES:
            raise ValueError(f"{type(self).__name__} fill_mode must be one of {augment.FILL_MODES}, got {fill_mode!r}")
        if interpolation not in augment.INTERPOLATIONS:
            raise ValueError(
                f"{type(self).__name__} interpolation must be 'bilinear' or 'nearest', got {interpolation!r}"
            )

    def output_shape(self, input_shape):
        _expect_rank(self, input_shape, 3, "(height, width, channels)")
        return tuple(input_shape)

    def _transform(self, key: jax.Array, image: jax.Array) -> jax.Array:
        """One image, transformed with a draw from ``key``."""
        raise NotImplementedError

    def apply(self, params, x, *, key=None, training=False):
        _expect_batch(self, x, 3, None, "height, width, channels")
        x = _float(x)
        if not training:
            return x
        if key is None:
            raise ValueError(
                f"{type(self).__name__} in training mode needs a PRNG key: call "
                "apply(params, x, key=jax.random.key(0), training=True) (fit passes one)"
            )
        if self.seed is not None:  # Keras' seed: a stream of its own, still fresh at every step
            key = jax.random.fold_in(key, self.seed)
        return jax.vmap(self._transform)(jax.random.split(key, x.shape[0]), x)


_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


def _fill(layer: RandomRotation | RandomZoom | RandomTranslation) -> dict:
    """The layer's fill and interpolation options, as ``augment``'s transforms take them."""
    return {"fill_mode": layer.fill_mode, "fill_value": layer.fill_value, "interpolation": layer.interpolation}


@dataclass(frozen=True)
class RandomFlip(_RandomImageLayer):
    """Flip each image with probability 1/2: left-right ("horizontal"), top-bottom ("vertical") or both.

    With "horizontal_and_vertical" (Keras' default) one draw decides both flips, as Keras 3 does:
    an image is either kept or turned upside down and mirrored.
    """

    mode: str = "horizontal_and_vertical"

    def __post_init__(self):
        super().__post_init__()
        if self.mode not in _FLIP_MODES:
            raise ValueError(f"RandomFlip mode must be one of {_FLIP_MODES}, got {self.mode!r}")

    def _transform(self, key, image):
        flipped = image
        if self.mode != "vertical":
            flipped = flipped[:, ::-1]
        if self.mode != "horizontal":
            flipped = flipped[::-1]
        return jnp.where(jax.random.bernoulli(key), flipped, image)


@dataclass(frozen=True)
class RandomRotation(_RandomImageLayer):
    """Rotate each image by ``factor`` of a full turn drawn uniformly (0.1: -36..+36 degrees; positive is
    counter-clockwise), filling as ``fill_mode`` says."""

    factor: float | tuple[float, float]
    fill_mode: str = "reflect"
    interpolation: str = "bilinear"
    fill_value: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        _factor_range(self.factor, "RandomRotation factor")

    def _transform(self, key, image):
        lower, upper = _factor_range(self.factor, "")
        degrees = jax.random.uniform(key, minval=lower * 360.0, maxval=upper * 360.0)
        return augment.rotate(image, degrees, **_fill(self))


@dataclass(frozen=True)
class RandomZoom(_RandomImageLayer):
    """Zoom each image by ``1 + u``, u drawn from ``height_factor`` (positive: zoom out, negative: zoom in);
    ``width_factor`` None keeps the aspect ratio (the height's draw)."""

    height_factor: float | tuple[float, float]
    width_factor: float | tuple[float, float] | None = None
    fill_mode: str = "reflect"
    interpolation: str = "bilinear"
    fill_value: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        _factor_range(self.height_factor, "RandomZoom height_factor", low_open=True)
        if self.width_factor is not None:
            _factor_range(self.width_factor, "RandomZoom width_factor", low_open=True)

    def _transform(self, key, image):
        k_h, k_w = jax.random.split(key)
        draw = lambda k, factor: (
            1.0 + jax.random.uniform(k, minval=_factor_range(factor, "")[0], maxval=_factor_range(factor, "")[1])
        )
        height = draw(k_h, self.height_factor)
        width = height if self.width_factor is None else draw(k_w, self.width_factor)
        return augment.zoom(image, height, width, **_fill(self))


@dataclass(frozen=True)
class RandomTranslation(_RandomImageLayer):
    """Shift each image by fractions of its height and width drawn from ``height_factor`` / ``width_factor``
    (positive: down / right)."""

    height_factor: float | tuple[float, float]
    width_factor: float | tuple[float, float]
    fill_mode: str = "reflect"
    interpolation: str = "bilinear"
    fill_value: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        _factor_range(self.height_factor, "RandomTranslation height_factor", low_open=True)
        _factor_range(self.width_factor, "RandomTranslation width_factor", low_open=True)

    def _transform(self, key, image):
        k_h, k_w = jax.random.split(key)
        draw: Callable = lambda k, factor: jax.random.uniform(
            k, minval=_factor_range(factor, "")[0], maxval=_factor_range(factor, "")[1]
        )
        h, w = image.shape[:2]
        return augment.translate(
            image, draw(k_h, self.height_factor) * h, draw(k_w, self.width_factor) * w, **_fill(self)
        )
