import jax
import jax.numpy as jnp
import numpy as np

from jaxnet import augment

KEY = jax.random.key(0)
IMAGE = jnp.arange(48.0).reshape(4, 4, 3)


def test_flip_is_one_of_the_two():
    seen = {tuple(np.asarray(augment.random_flip(k, IMAGE)).ravel()) for k in jax.random.split(KEY, 16)}
    assert seen == {tuple(np.asarray(IMAGE).ravel()), tuple(np.asarray(IMAGE[:, ::-1]).ravel())}
    vertical = {
        tuple(np.asarray(augment.random_flip(k, IMAGE, horizontal=False, vertical=True)).ravel())
        for k in jax.random.split(KEY, 16)
    }
    assert tuple(np.asarray(IMAGE[::-1]).ravel()) in vertical


def test_zero_transforms_are_identity():
    np.testing.assert_allclose(augment.random_rotation(KEY, IMAGE, 0.0), IMAGE, atol=1e-4)
    np.testing.assert_allclose(augment.random_zoom(KEY, IMAGE, 0.0), IMAGE, atol=1e-4)
    np.testing.assert_allclose(augment.random_shift(KEY, IMAGE, 0.0, 0.0), IMAGE, atol=1e-4)


def test_quarter_turn_and_whole_pixel_shift():
    bar = jnp.zeros((5, 5, 1)).at[1:4, 2, 0].set(1.0)  # a vertical bar through the centre
    turned = augment._resample(bar, jnp.array([[0.0, -1.0], [1.0, 0.0]]), jnp.zeros(2))
    np.testing.assert_allclose(turned[2, 1:4, 0], 1.0, atol=1e-5)  # now horizontal
    assert float(turned.sum()) == 3.0
    moved = augment._resample(bar, jnp.eye(2), jnp.array([0.0, -1.0]))  # read one column left
    np.testing.assert_allclose(moved[1:4, 3, 0], 1.0, atol=1e-5)


def test_jit_vmap_batches_differ_per_image():
    images = jnp.tile(jnp.zeros((6, 6, 1)).at[2:4, 1:5].set(1.0), (8, 1, 1, 1))
    transform = augment.compose(augment.random_rotation, augment.random_zoom, augment.random_shift)
    out = jax.jit(lambda k, x: augment.augment_batch(k, x, transform))(KEY, images)
    assert out.shape == images.shape
    assert len({np.asarray(o).tobytes() for o in out}) == 8
