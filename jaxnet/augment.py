"""Data augmentation as pure functions of ``(key, image)``, composable with ``jit`` and ``vmap``.

Each takes one image (H, W, C) and returns one of the same shape; batch them with
``jax.vmap(fn, in_axes=(0, 0))(keys, images)`` or use ``augment_batch``. The geometric
transforms (``rotate``, ``zoom``, ``translate``) follow Keras 3's preprocessing layers exactly:
the same sampling grid about the centre ((H - 1) / 2, (W - 1) / 2), the same fill modes
("constant", "reflect", "wrap", "nearest") and interpolations ("bilinear", "nearest"), so
``jaxnet.preprocessing.RandomRotation`` and friends reuse them. The ``random_*`` functions
draw their parameter and fill with 0 ("constant").
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

FILL_MODES = ("constant", "reflect", "wrap", "nearest")
INTERPOLATIONS = {"nearest": 0, "bilinear": 1}


def random_flip(key: jax.Array, image: jax.Array, horizontal: bool = True, vertical: bool = False) -> jax.Array:
    """Flip left-right and/or up-down, each with probability 1/2."""
    k_h, k_v = jax.random.split(key)
    if horizontal:
        image = jnp.where(jax.random.bernoulli(k_h), image[:, ::-1], image)
    if vertical:
        image = jnp.where(jax.random.bernoulli(k_v), image[::-1], image)
    return image


def _resample(
    image: jax.Array,
    matrix: jax.Array,
    offset: jax.Array,
    fill_mode: str = "constant",
    fill_value: float = 0.0,
    interpolation: str = "bilinear",
) -> jax.Array:
    """Output pixel p (row, col) reads input pixel matrix @ (p - centre) + centre + offset.

    Arguments:
        image: (H, W, C).
        matrix, offset: the map in (row, col) coordinates.
        fill_mode: how points outside the image are read: "constant" (``fill_value``), "reflect"
            (d c b a | a b c d | d c b a), "wrap" (a b c d | a b c d) or "nearest" (a a a a | a b c d).
        fill_value: the value outside the image for "constant".
        interpolation: "bilinear" or "nearest".
    """
    h, w = image.shape[:2]
    rows, cols = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32), jnp.arange(w, dtype=jnp.float32), indexing="ij")
    centre = jnp.array([(h - 1) / 2, (w - 1) / 2])
    coords = jnp.stack([rows - centre[0], cols - centre[1]])
    src = jnp.einsum("ij,jhw->ihw", matrix, coords) + (centre + offset)[:, None, None]
    channel = lambda c: jax.scipy.ndimage.map_coordinates(
        c, [src[0], src[1]], order=INTERPOLATIONS[interpolation], mode=fill_mode, cval=fill_value
    )
    return jax.vmap(channel, in_axes=2, out_axes=2)(image.astype(jnp.float32)).astype(image.dtype)


def rotate(image: jax.Array, degrees: jax.Array, **fill) -> jax.Array:
    """Rotate about the centre by ``degrees``, counter-clockwise for positive angles (Keras' RandomRotation).

    ``fill``: ``fill_mode``, ``fill_value``, ``interpolation`` as for ``_resample``.
    """
    angle = jnp.deg2rad(degrees)
    c, s = jnp.cos(angle), jnp.sin(angle)
    return _resample(image, jnp.array([[c, s], [-s, c]]), jnp.zeros(2), **fill)


def zoom(image: jax.Array, height_zoom: jax.Array, width_zoom: jax.Array, **fill) -> jax.Array:
    """Keras' RandomZoom map: output pixel p reads input ``zoom * (p - centre) + centre``.

    A zoom above 1 reads a larger area, so the content shrinks (zooms out); below 1 it is enlarged.
    """
    return _resample(image, jnp.diag(jnp.stack([height_zoom, width_zoom])), jnp.zeros(2), **fill)


def translate(image: jax.Array, down: jax.Array, right: jax.Array, **fill) -> jax.Array:
    """Move the content ``down`` rows and ``right`` columns (pixels, fractions allowed; negative: up / left)."""
    return _resample(image, jnp.eye(2), -jnp.stack([down, right]), **fill)


def random_rotation(key: jax.Array, image: jax.Array, max_degrees: float = 15.0) -> jax.Array:
    """Rotate by an angle drawn uniformly from [-max_degrees, max_degrees] about the centre."""
    return rotate(image, jax.random.uniform(key, minval=-max_degrees, maxval=max_degrees))


def random_zoom(key: jax.Array, image: jax.Array, max_zoom: float = 0.1) -> jax.Array:
    """Zoom in or out by a factor drawn from [1 - max_zoom, 1 + max_zoom] (above 1 enlarges the content)."""
    factor = jax.random.uniform(key, minval=1 - max_zoom, maxval=1 + max_zoom)
    return zoom(image, 1 / factor, 1 / factor)


def random_shift(
    key: jax.Array, image: jax.Array, height_fraction: float = 0.1, width_fraction: float = 0.1
) -> jax.Array:
    """Translate by up to the given fractions of the height and width."""
    h, w = image.shape[:2]
    frac = jax.random.uniform(key, (2,), minval=-1.0, maxval=1.0) * jnp.array([height_fraction, width_fraction])
    return translate(image, frac[0] * h, frac[1] * w)


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
