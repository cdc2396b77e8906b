"""Keras' preprocessing layers: equal to Keras 3 for a fixed draw, identity in inference, fresh in every epoch."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnet import Dense, Flatten, Sequential, evaluate, fit
from jaxnet._src import serialize
from jaxnet.preprocessing import RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Rescaling

os.environ.setdefault("KERAS_BACKEND", "jax")
KEY = jax.random.key(0)
IMAGES = np.random.default_rng(0).uniform(0, 1, (2, 7, 9, 3)).astype(np.float32)


def _keras():
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("these comparisons run Keras on its JAX backend")
    return keras


# a factor (a, a) draws exactly a, so both libraries apply the same transform
FIXED = {
    "RandomRotation": (RandomRotation, ((0.1, 0.1),)),  # 36 degrees
    "RandomZoom": (RandomZoom, ((0.2, 0.2), (-0.3, -0.3))),  # out 20% in height, in 30% in width
    "RandomTranslation": (RandomTranslation, ((0.25, 0.25), (-0.125, -0.125))),
}


@pytest.mark.parametrize("layer", sorted(FIXED))
@pytest.mark.parametrize(
    "fill_mode, interpolation",
    [("reflect", "bilinear"), ("wrap", "bilinear"), ("constant", "bilinear"), ("nearest", "nearest")],
)
def test_fixed_draw_equals_keras(layer, fill_mode, interpolation):
    keras = _keras()
    cls, args = FIXED[layer]
    options = {"fill_mode": fill_mode, "interpolation": interpolation, "fill_value": 0.5}
    ours = cls(*args, **options).apply({}, IMAGES, key=KEY, training=True)
    theirs = getattr(keras.layers, layer)(*args, **options)(IMAGES, training=True)
    np.testing.assert_allclose(ours, theirs, atol=2e-6)
    assert not np.allclose(ours, IMAGES)


def test_rescaling_equals_keras_and_casts_integer_images():
    keras = _keras()
    pixels = np.random.default_rng(1).integers(0, 256, (2, 4, 4, 3)).astype(np.uint8)
    ours = Rescaling(1 / 127.5, offset=-1.0).apply({}, pixels)
    assert ours.dtype == jnp.float32
    np.testing.assert_allclose(ours, keras.layers.Rescaling(1 / 127.5, offset=-1.0)(pixels), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours, pixels / 127.5 - 1.0, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("layer", [RandomFlip(), RandomRotation(0.2), RandomZoom(0.3), RandomTranslation(0.2, 0.2)])
def test_identity_in_inference_and_random_per_image_in_training(layer):
    np.testing.assert_array_equal(layer.apply({}, IMAGES, key=KEY, training=False), IMAGES)
    batch = jnp.tile(jnp.asarray(IMAGES[:1]), (8, 1, 1, 1))
    out = layer.apply({}, batch, key=KEY, training=True)
    assert out.shape == batch.shape and out.dtype == jnp.float32
    assert len({np.asarray(o).tobytes() for o in out}) > 1  # each image its own draw
    with pytest.raises(ValueError, match="needs a PRNG key"):
        layer.apply({}, batch, training=True)


def test_flip_modes_and_ranges():
    image = jnp.asarray(IMAGES[:1])
    batch = jnp.tile(image, (16, 1, 1, 1))
    allowed = {
        "horizontal": [image[0], image[0, :, ::-1]],
        "vertical": [image[0], image[0, ::-1]],
        "horizontal_and_vertical": [image[0], image[0, ::-1, ::-1]],
    }  # Keras 3: one draw for both flips
    for mode, outcomes in allowed.items():
        out = np.asarray(RandomFlip(mode).apply({}, batch, key=KEY, training=True))
        seen = {min(range(2), key=lambda i, o=o: np.abs(o - outcomes[i]).max()) for o in out}
        assert all(min(np.abs(o - c).max() for c in outcomes) == 0 for o in out) and seen == {0, 1}, mode
    # constant fill with 0 and bilinear weights keep pixels within the input's range
    rotated = RandomRotation(0.5, fill_mode="constant").apply({}, batch, key=KEY, training=True)
    assert 0.0 <= float(rotated.min()) and float(rotated.max()) <= float(image.max()) + 1e-6
    nearest = RandomZoom(0.5, interpolation="nearest").apply({}, batch, key=KEY, training=True)
    assert set(np.unique(np.asarray(nearest))) <= set(np.unique(IMAGES[0]))  # nearest only copies pixels


def test_fresh_augmentation_every_epoch_inside_fit():
    """With a zero learning rate the weights never move, so the training loss changes only through the
    augmentation: it differs every epoch, and differs from the un-augmented loss that evaluate sees."""
    x = np.tile(IMAGES[:1], (4, 1, 1, 1))
    y = np.zeros((4, 1), np.float32)

    def losses(front):
        model = Sequential([*front, Flatten(), Dense(1, use_bias=False, kernel_initializer="ones")])
        params = model.init(KEY, x.shape[1:])
        _, history = fit(model, params, x, y, loss="mse", optimizer=optax.sgd(0.0), epochs=3, batch_size=2, verbose=0)
        return history.history["loss"], evaluate(model, params, x, y, loss="mse", metrics=())["loss"]

    augmented, clean = losses([RandomTranslation(0.3, 0.3), RandomRotation(0.1)])
    assert len(set(augmented)) == 3 and clean not in augmented
    plain, plain_clean = losses([])
    assert plain == pytest.approx([plain_clean] * 3, rel=1e-6)  # the control: no augmentation, no change


def test_bad_arguments_fail_at_construction_and_layers_serialise():
    for make, match in [
        (lambda: RandomRotation(1.5), "RandomRotation factor"),
        (lambda: RandomZoom(-1), r"height_factor must be .* in \(-1, 1\]"),
        (lambda: RandomTranslation(0.1, "a"), "width_factor"),
        (lambda: RandomZoom(0.1, fill_mode="mirror_x"), "fill_mode must be one of"),
        (lambda: RandomRotation(0.1, interpolation="bicubic"), "interpolation"),
        (lambda: RandomFlip("diagonal"), "mode must be one of"),
        (lambda: Rescaling("1/255"), "scale must be a number"),
    ]:
        with pytest.raises(ValueError, match=match):
            make()
    for layer in [RandomZoom((0.1, 0.2), fill_mode="constant"), RandomFlip("vertical", seed=3), Rescaling(0.5, 1)]:
        assert serialize.from_config(serialize.to_config(layer)) == layer
