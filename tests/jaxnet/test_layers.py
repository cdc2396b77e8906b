import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.signal import correlate2d

from jaxnet import AveragePooling2D, Concatenate, Conv2D, Dense, Dropout, Flatten, Maxout, MaxPool2D, Sequential
from jaxnet.book.filters import KERNELS

KEY = jax.random.key(0)


def test_dense_matches_numpy_and_book_dot():
    layer = Dense(2)
    params = {"w": jnp.array([[5.0, 6], [7, 8]]), "b": jnp.zeros(2)}
    np.testing.assert_array_equal(layer.apply(params, jnp.array([[1.0, 2], [3, 4]])), [[19, 22], [43, 50]])
    layer = Dense(3, activation="relu")
    params = layer.init(KEY, (4,))
    assert layer.output_shape((4,)) == (3,) and params["w"].shape == (4, 3) and params["b"].shape == (3,)
    assert params["w"].dtype == jnp.float32


def test_dense_wrong_feature_size_names_shapes():
    params = Dense(3).init(KEY, (4,))
    with pytest.raises(ValueError, match=r"Dense expected input of shape \(batch, \.\.\., 4\), got \(2, 5\)"):
        Dense(3).apply(params, jnp.ones((2, 5)))


def test_conv2d_wrong_rank_names_shapes():
    with pytest.raises(ValueError, match=r"Conv2D expected input of shape \(height, width, channels\).*got \(28, 28\)"):
        Conv2D(8, 3).init(KEY, (28, 28))
    params = Conv2D(8, 3).init(KEY, (28, 28, 1))
    with pytest.raises(ValueError, match=r"got \(28, 28, 1\)"):
        Conv2D(8, 3).apply(params, jnp.ones((28, 28, 1)))


def test_conv2d_shapes_valid_same_strides():
    assert Conv2D(32, 3).output_shape((32, 32, 3)) == (30, 30, 32)
    assert Conv2D(32, (3, 3), padding="same").output_shape((32, 32, 3)) == (32, 32, 32)
    assert Conv2D(16, 5, strides=2).output_shape((28, 28, 1)) == (12, 12, 16)
    assert Conv2D(16, 3, strides=2, padding="same").output_shape((7, 7, 1)) == (4, 4, 16)
    conv = Conv2D(16, 3, strides=2, padding="same")
    out = conv.apply(conv.init(KEY, (7, 7, 2)), jnp.ones((5, 7, 7, 2)))
    assert out.shape == (5, *conv.output_shape((7, 7, 2))) == (5, 4, 4, 16)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_classic_kernels_with_conv2d_match_scipy(name, rng):
    image = rng.uniform(size=(9, 11)).astype(np.float32)
    kernel = np.asarray(KERNELS[name])
    params = {"w": jnp.asarray(kernel)[:, :, None, None], "b": jnp.zeros(1)}
    out = Conv2D(1, 3).apply(params, jnp.asarray(image)[None, :, :, None])[0, :, :, 0]
    np.testing.assert_allclose(out, correlate2d(image, kernel, mode="valid"), rtol=1e-5, atol=1e-5)


def test_max_and_average_pooling():
    x = jnp.arange(16.0).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(MaxPool2D(2).apply({}, x)[0, :, :, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(AveragePooling2D(2).apply({}, x)[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])
    assert MaxPool2D(2).output_shape((15, 15, 32)) == (7, 7, 32)
    # 'same' padding averages only the real inputs of the border window
    np.testing.assert_allclose(AveragePooling2D(2, padding="same").apply({}, jnp.ones((1, 3, 3, 1))), 1.0)


def test_dropout_rate_is_fraction_dropped_and_needs_key():
    layer = Dropout(0.25)
    x = jnp.ones((200, 500))
    np.testing.assert_array_equal(layer.apply({}, x), x)  # inference: identity
    y = layer.apply({}, x, key=KEY, training=True)
    assert float(jnp.mean(y == 0)) == pytest.approx(0.25, abs=0.01)
    assert float(jnp.mean(y)) == pytest.approx(1.0, abs=0.02)  # inverted dropout keeps the mean
    with pytest.raises(ValueError, match="needs a PRNG key"):
        layer.apply({}, x, training=True)
    with pytest.raises(ValueError, match=r"fraction dropped.*\[0, 1\)"):
        Dropout(1.5)


def test_maxout_is_max_of_affine_pieces(rng):
    params = Maxout(3, pieces=4).init(KEY, (5,))
    x = jnp.asarray(rng.normal(size=(2, 5)), jnp.float32)
    z = np.asarray(x @ params["w"] + params["b"]).reshape(2, 3, 4)
    np.testing.assert_allclose(Maxout(3, pieces=4).apply(params, x), z.max(-1), rtol=1e-6)
    assert Maxout(3, pieces=4).output_shape((5,)) == (3,)


def test_unknown_activation_fails_at_construction():
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        Dense(3, activation="relux")


def test_flatten_and_concatenate():
    assert Flatten().output_shape((28, 28, 1)) == (784,)
    assert Concatenate().output_shape(((8,), (30,))) == (38,)
    with pytest.raises(ValueError, match="equal except on axis"):
        Concatenate().output_shape(((4, 2), (3, 3)))


def test_layers_jit_and_vmap():
    model = Sequential([Conv2D(4, 3, activation="relu"), MaxPool2D(2), Flatten(), Dense(3)])
    params = model.init(KEY, (8, 8, 1))
    x = jnp.ones((6, 8, 8, 1))
    batched = jax.jit(model.apply)(params, x)
    per_example = jax.vmap(lambda xi: model.apply(params, xi[None])[0])(x)
    np.testing.assert_allclose(batched, per_example, rtol=1e-5)


@pytest.mark.parametrize(
    "strides,padding,size", [(1, "valid", 9), (2, "valid", 9), (1, "same", 8), (2, "same", 7), (3, "same", 8)]
)
def test_im2col_and_xla_convolutions_agree(strides, padding, size, rng, x64):
    x = jnp.asarray(rng.normal(size=(2, size, size + 1, 3)))
    params = {"w": jnp.asarray(rng.normal(size=(3, 3, 3, 4))), "b": jnp.asarray(rng.normal(size=4))}
    outs, grads = [], []
    for impl in ("xla", "im2col"):
        layer = Conv2D(4, 3, strides=strides, padding=padding, implementation=impl)
        outs.append(layer.apply(params, x))
        grads.append(jax.grad(lambda p, v: jnp.sum(jnp.sin(layer.apply(p, v))), argnums=(0, 1))(params, x))
        assert outs[-1].shape[1:] == layer.output_shape(x.shape[1:])
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-10, atol=1e-12)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12), *grads)
    with pytest.raises(ValueError, match="implementation must be"):
        Conv2D(4, 3, implementation="fft")


@pytest.mark.parametrize("layer_cls", [MaxPool2D, AveragePooling2D])
def test_pooling_fast_path_matches_reduce_window(layer_cls, rng):
    x = jnp.asarray(rng.normal(size=(2, 7, 9, 3)), jnp.float32)
    fast = layer_cls(2)  # non-overlapping windows: the reshape path
    assert fast._tiles(x) is not None
    op = jax.lax.max if layer_cls is MaxPool2D else jax.lax.add
    init = -jnp.inf if layer_cls is MaxPool2D else 0.0
    expected = jax.lax.reduce_window(x, init, op, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    if layer_cls is AveragePooling2D:
        expected = expected / 4
    np.testing.assert_allclose(fast.apply({}, x), expected, rtol=1e-6)
    overlapping = layer_cls(3, strides=2)
    assert overlapping._tiles(x) is None and overlapping.apply({}, x).shape == (2, 3, 4, 3)


def _keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("these comparisons run Keras on its JAX backend")
    return keras


@pytest.mark.parametrize("padding", [1, (1, 2), ((0, 2), (3, 1))])
def test_zero_padding2d_equals_keras(padding, rng):
    keras = _keras()
    from jaxnet import ZeroPadding2D

    x = rng.normal(size=(2, 4, 5, 3)).astype(np.float32)
    layer = ZeroPadding2D(padding)
    out = layer.apply({}, x)
    np.testing.assert_array_equal(out, keras.layers.ZeroPadding2D(padding)(x))
    assert layer.output_shape((4, 5, 3)) == out.shape[1:]
    with pytest.raises(ValueError, match="ZeroPadding2D padding must be a non-negative int"):
        ZeroPadding2D(-1)


@pytest.mark.parametrize("implementation", ["im2col", "xla"])
def test_conv2d_explicit_padding_is_the_books_pad(implementation, rng, x64):
    """Conv2D(padding=1) (beyond Keras' 'valid'/'same') equals the book's Convolution with pad=1."""
    from jaxnet.book.backprop import Convolution

    x = rng.normal(size=(2, 6, 5, 3))
    layer = Conv2D(4, 3, strides=2, padding=1, implementation=implementation)
    params = jax.tree.map(lambda a: a.astype(jnp.float64), layer.init(KEY, (6, 5, 3)))
    expected, _ = Convolution.forward({"W": np.asarray(params["w"]), "b": np.asarray(params["b"])}, x, stride=2, pad=1)
    out = layer.apply(params, jnp.asarray(x))
    assert layer.output_shape((6, 5, 3)) == out.shape[1:] == expected.shape[1:]
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    uneven = Conv2D(4, 3, padding=((0, 2), (1, 0)), implementation=implementation)
    p = uneven.init(KEY, (6, 5, 3))
    np.testing.assert_allclose(
        uneven.apply(p, jnp.asarray(x)),
        Conv2D(4, 3, implementation=implementation).apply(p, jnp.pad(jnp.asarray(x), [(0, 0), (0, 2), (1, 0), (0, 0)])),
        rtol=1e-12,
    )


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Dense(0), "Dense units must be a positive integer, got 0"),
        (lambda: Dense(-3), "Dense units must be a positive integer, got -3"),
        (lambda: Dense(2.5), "Dense units must be a positive integer, got 2.5"),
        (lambda: Dense("128"), "Dense units must be a positive integer, got '128'"),
        (lambda: Dense(3, use_bias="no"), "use_bias must be True or False"),
        (lambda: Dense(3, activation="relux"), "unknown activation 'relux'"),
        (lambda: Dense(3, kernel_initializer="glorot"), "unknown initializer 'glorot'"),
        (lambda: Conv2D(0, 3), "Conv2D filters must be a positive integer"),
        (lambda: Conv2D(8, 0), "Conv2D kernel_size must be a positive int or a pair"),
        (lambda: Conv2D(8, (3, 3.5)), "Conv2D kernel_size"),
        (lambda: Conv2D(8, 3, strides=0), "Conv2D strides"),
        (lambda: Conv2D(8, 3, padding="full"), "Conv2D padding .*Keras takes 'valid' or 'same'"),
        (lambda: Conv2D(8, 3, padding=-1), "Conv2D padding"),
        (lambda: Dropout(1.5), r"must be in \[0, 1\), got 1.5"),
        (lambda: Dropout("0.5"), "Dropout rate"),
        (lambda: MaxPool2D(0), "MaxPooling2D pool_size must be a positive int"),
        (lambda: MaxPool2D(2.5), "MaxPooling2D pool_size"),
        (lambda: AveragePooling2D(2, strides=-1), "AveragePooling2D strides"),
        (lambda: MaxPool2D(2, padding="full"), "padding must be 'valid' or 'same'"),
    ],
)
def test_bad_arguments_fail_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_empty_model_refuses_to_build_or_train():
    from jaxnet import fit
    from jaxnet.keras import Sequential as KerasSequential

    with pytest.raises(ValueError, match=r"Sequential has no layers: add some, e.g. .*model.add\(Dense\(10\)\)"):
        Sequential([]).init(KEY, (3,))
    model = KerasSequential()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="has no layers"):
        model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)
    with pytest.raises(ValueError, match="has no layers"):
        fit(Sequential([]), {}, np.ones((4, 3)), np.ones((4, 1)), loss="mse", verbose=0)
