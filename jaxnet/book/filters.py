"""The convolution lesson: classic image kernels and the normalized-patch similarity map.

A convolution filter responds most where a patch looks like it: with both the
patch and the filter scaled to unit length, each output is their cosine
similarity (1 for a perfect match).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

SHARPEN = jnp.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], jnp.float32)
EDGE = jnp.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], jnp.float32)
BOX_BLUR = jnp.full((3, 3), 1 / 9, jnp.float32)
EMBOSS = jnp.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], jnp.float32)
KERNELS = {"sharpen": SHARPEN, "edge": EDGE, "box_blur": BOX_BLUR, "emboss": EMBOSS}

#: The seed's 7x7 example image and its horizontal-stroke filter (similarity 0.852 at row 1, column 1).
IMAGE_EXAMPLE = jnp.array(
    [
        [0, 0, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 0, 0.5, 0],
        [0, 0.5, 0.5, 0, 0.5, 0, 0],
        [0, 0, 0, 1, 1, 1, 0],
        [0, 1, 0.5, 0.5, 0.5, 0.5, 0],
        [0, 0, 1, 0, 1, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
    ],
    jnp.float32,
)
FILTER_EXAMPLE = jnp.array([[1, 1, 1], [0.5, 0.5, 0.5], [0, 0, 0]], jnp.float32)


def _unit(v: jax.Array) -> jax.Array:
    norm = jnp.linalg.norm(v, axis=-1, keepdims=True)
    return jnp.where(norm > 0, v / jnp.where(norm > 0, norm, 1), 0)  # an all-zero patch stays zero


def cosine_similarity(patch, kernel) -> jax.Array:
    """Cosine similarity of two equally shaped arrays (0 if either is all zeros)."""
    a, b = jnp.ravel(jnp.asarray(patch, jnp.float32)), jnp.ravel(jnp.asarray(kernel, jnp.float32))
    return _unit(a) @ _unit(b)


def similarity_map(image, kernel) -> jax.Array:
    """Slide ``kernel`` over a 2-D ``image`` (stride 1, valid) and return the cosine similarity at each place.

    Arguments:
        image: shape (H, W).
        kernel: shape (kh, kw).

    Returns:
        Shape (H - kh + 1, W - kw + 1).
    """
    image, kernel = jnp.asarray(image, jnp.float32), jnp.asarray(kernel, jnp.float32)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"similarity_map expects a 2-D image and kernel, got {image.shape} and {kernel.shape}")
    kh, kw = kernel.shape
    patches = jax.lax.conv_general_dilated_patches(image[None, None], (kh, kw), (1, 1), "VALID")
    patches = jnp.moveaxis(patches[0], 0, -1)  # (H', W', kh*kw), row-major within a patch
    return _unit(patches) @ _unit(kernel.reshape(-1))
