"""Data augmentation as pure functions of ``(key, image)``, composable with ``jit`` and ``vmap``.

Each takes one image (H, W, C) and returns one of the same shape; batch them with
``jax.vmap(fn, in_axes=(0, 0))(keys, images)`` or use ``augment_batch``. Geometric
transforms resample with bilinear interpolation and fill outside pixels with 0,
like Keras' RandomRotation / RandomZoom / RandomTranslation with fill_mode="constant".
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp


def random_flip(key: jax.Array, image: jax.Array, horizontal: bool = True, vertical: bool = False) -> jax.Array:
    """Flip left-right and/or up-down, each with probability 1/2."""
    k_h, k_v = jax.random.split(key)
    if horizontal:
        image = jnp.where(jax.random.bernoulli(k_h), image[:, ::-1], image)
    if vertical:
        image = jnp.where(jax.random.bernoulli(k_v), image[::-1], image)
    return image


def _resample(image: jax.Array, matrix: jax.Array, offset: jax.Array) -> jax.Array:
    """Output pixel p reads input pixel matrix @ (p - centre) + centre + offset, bilinear, zero outside."""
    h, w = image.shape[:2]
    rows, cols = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32), jnp.arange(w, dtype=jnp.float32), indexing="ij")
    centre = jnp.array([(h - 1) / 2, (w - 1) / 2])
    coords = jnp.stack([rows - centre[0], cols - centre[1]])
    src = jnp.einsum("ij,jhw->ihw", matrix, coords) + (centre + offset)[:, None, None]
    channel = lambda c: jax.scipy.ndimage.map_coordinates(c, [src[0], src[1]], order=1, mode="constant", cval=0.0)
    return jax.vmap(channel, in_axes=2, out_axes=2)(image.astype(jnp.float32)).astype(image.dtype)


def random_rotation(key: jax.Array, image: jax.Array, max_degrees: float = 15.0) -> jax.Array:
    """Rotate by an angle drawn uniformly from [-max_degrees, max_degrees] about the centre."""
    angle = jnp.deg2rad(jax.random.uniform(key, minval=-max_degrees, maxval=max_degrees))
    c, s = jnp.cos(angle), jnp.sin(angle)
    return _resample(image, jnp.array([[c, -s], [s, c]]), jnp.zeros(2))


def random_zoom(key: jax.Array, image: jax.Array, max_zoom: float = 0.1) -> jax.Array:
    """Zoom in or out by a factor drawn from [1 - max_zoom, 1 + max_zoom] (above 1 enlarges the content)."""
    factor = jax.random.uniform(key, minval=1 - max_zoom, maxval=1 + max_zoom)
    return _resample(image, jnp.eye(2) / factor, jnp.zeros(2))


def random_shift(key: jax.Array, image: jax.Array, height_fraction: float = 0.1,
                 width_fraction: float = 0.1) -> jax.Array:
    """Translate by up to the given fractions of the height and width."""
    h, w = image.shape[:2]
    frac = jax.random.uniform(key, (2,), minval=-1.0, maxval=1.0) * jnp.array([height_fraction, width_fraction])
    return _resample(image, jnp.eye(2), -frac * jnp.array([h, w]))


def compose(*transforms: Callable) -> Callable:
    """One ``(key, image)`` function applying each transform in turn with its own key."""
    def apply(key, image):
        for transform, k in zip(transforms, jax.random.split(key, len(transforms))):
            image = transform(k, image)
        return image

    return apply


def augment_batch(key: jax.Array, images: jax.Array, transform: Callable) -> jax.Array:
    """Apply ``transform`` to every image of a batch (N, H, W, C) with an independent key each."""
    return jax.vmap(transform)(jax.random.split(key, images.shape[0]), images)
