import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnet.book.backprop import Add, Affine, Mul, Relu, Sigmoid, SoftmaxWithLoss, TwoLayerNet, train_book_loop
from jaxnet.book.forward import forward, init_network


def test_forward_pass_book_values():
    x = jnp.array([1.0, 0.5])
    w1, b1 = jnp.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]), jnp.array([0.1, 0.2, 0.3])
    a1 = x @ w1 + b1
    np.testing.assert_allclose(a1, [0.3, 0.7, 1.1], rtol=1e-6)
    np.testing.assert_allclose(jax.nn.sigmoid(a1), [0.57444252, 0.66818777, 0.75026011], rtol=1e-6)
    np.testing.assert_allclose(forward(init_network(), x), [0.31682708, 0.69627909], rtol=1e-6)


def test_apple_with_mul_and_add_layers():
    price, apple_cache = Mul.forward(100, 2)
    total, tax_cache = Mul.forward(price, 1.1)
    assert total == pytest.approx(220)
    dprice, dtax = Mul.backward(tax_cache, 1)
    dapple, dnum = Mul.backward(apple_cache, dprice)
    assert (dapple, dnum, dtax) == (pytest.approx(2.2), pytest.approx(110), pytest.approx(200))
    da, db = Add.backward(Add.forward(1, 2)[1], 1.1)
    assert (da, db) == (1.1, 1.1)


def test_relu_sigmoid_affine_backward_match_jax_grad(x64, rng):
    x = rng.normal(size=(4, 3))
    dout = rng.normal(size=(4, 3))
    out, mask = Relu.forward(x)
    np.testing.assert_allclose(Relu.backward(mask, dout), jax.vjp(jax.nn.relu, jnp.asarray(x))[1](dout)[0])
    out, cache = Sigmoid.forward(x)
    np.testing.assert_allclose(
        Sigmoid.backward(cache, dout), jax.vjp(jax.nn.sigmoid, jnp.asarray(x))[1](dout)[0], rtol=1e-12
    )
    params = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    dy = rng.normal(size=(4, 2))
    _, cache = Affine.forward(params, x)
    dx, grads = Affine.backward(params, cache, dy)
    _, vjp = jax.vjp(lambda p, v: v @ p["W"] + p["b"], jax.tree.map(jnp.asarray, params), jnp.asarray(x))
    gp, gx = vjp(jnp.asarray(dy))
    np.testing.assert_allclose(dx, gx, rtol=1e-12)
    np.testing.assert_allclose(grads["W"], gp["W"], rtol=1e-12)
    np.testing.assert_allclose(grads["b"], gp["b"], rtol=1e-12)


def test_softmax_with_loss_backward_is_y_minus_t_over_n(rng):
    x = rng.normal(size=(5, 4))
    t = np.eye(4)[[0, 1, 2, 3, 0]]
    loss, cache = SoftmaxWithLoss.forward(x, t)
    y = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log((y * t).sum(1))), rel=1e-12)
    np.testing.assert_allclose(SoftmaxWithLoss.backward(cache), (y - t) / 5, rtol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_gradient_check_three_images(activation, x64, rng):
    """The book's gradient_check.py: mean |backprop - numerical| tiny, and jax.grad equal to backprop."""
    net = TwoLayerNet(784, 50, 10, activation=activation)
    params = net.init(jax.random.key(0))
    x = rng.uniform(size=(3, 784))
    t = np.eye(10)[[7, 2, 1]]
    numeric = net.numerical_gradient(params, x, t)
    manual = net.gradient(params, x, t)
    auto = jax.jit(net.autodiff_gradient)(jax.tree.map(jnp.asarray, params), jnp.asarray(x), jnp.asarray(t))
    for k in ("W1", "b1", "W2", "b2"):
        assert np.mean(np.abs(manual[k] - numeric[k])) < 1e-9, k  # the book: 2.2e-13 .. 1.2e-10
        assert np.mean(np.abs(manual[k] - np.asarray(auto[k]))) < 1e-14, k
        assert manual[k].shape == params[k].shape


def test_two_layer_net_shapes_and_accuracy(rng):
    net = TwoLayerNet()
    params = net.init(jax.random.key(1))
    assert sum(p.size for p in params.values()) == 39_760
    x = rng.uniform(size=(7, 784))
    assert net.predict(params, x).shape == (7, 10)
    labels = net.predict(params, x).argmax(1)
    assert net.accuracy(params, x, labels) == 1.0
    assert net.loss(params, x, labels) == pytest.approx(np.log(10), abs=0.05)  # tiny weights: near-uniform


def test_book_loop_learns_digits_by_both_methods(x64):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x, t = digits.data / 16.0, digits.target
    net = TwoLayerNet(64, 50, 10)
    params = net.init(jax.random.key(0))
    results = {}
    for method in ("backprop", "autodiff"):
        trained, history = train_book_loop(
            net, params, x[:1400], t[:1400], iters=600, batch_size=100, learning_rate=0.1, gradient=method
        )
        results[method] = (net.accuracy(trained, x[1400:], t[1400:]), history["loss"])
    assert results["backprop"][0] > 0.85
    assert results["backprop"][0] == results["autodiff"][0]
    np.testing.assert_allclose(results["backprop"][1], results["autodiff"][1], rtol=1e-9)
    with pytest.raises(ValueError, match="gradient must be one of"):
        train_book_loop(net, params, x, t, iters=1, gradient="magic")


def test_convolution_and_pooling_layers_match_jax(x64, rng):
    from jaxnet import Conv2D, MaxPooling2D
    from jaxnet.book.backprop import Convolution, Pooling

    x = rng.normal(size=(2, 7, 7, 3))
    params = {"W": rng.normal(size=(3, 3, 3, 4)), "b": rng.normal(size=4)}
    for stride, pad in ((1, 0), (2, 1)):
        out, cache = Convolution.forward(params, x, stride, pad)
        conv = Conv2D(4, 3, strides=stride, padding="valid")

        def jax_conv(p, v):
            v = jnp.pad(v, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
            return conv.apply({"w": p["W"], "b": p["b"]}, v)

        expected, vjp = jax.vjp(jax_conv, jax.tree.map(jnp.asarray, params), jnp.asarray(x))
        np.testing.assert_allclose(out, expected, rtol=1e-10)
        dout = rng.normal(size=out.shape)
        dx, grads = Convolution.backward(params, cache, dout)
        gp, gx = vjp(jnp.asarray(dout))
        np.testing.assert_allclose(dx, gx, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grads["W"], gp["W"], rtol=1e-10)
        np.testing.assert_allclose(grads["b"], gp["b"], rtol=1e-10)
    pooled, cache = Pooling.forward(x[:, :6, :6], 2, 2)
    expected, vjp = jax.vjp(lambda v: MaxPooling2D(2).apply({}, v), jnp.asarray(x[:, :6, :6]))
    np.testing.assert_allclose(pooled, expected)
    dout = rng.normal(size=pooled.shape)
    np.testing.assert_allclose(Pooling.backward(cache, dout), vjp(jnp.asarray(dout))[0], rtol=1e-12)


@pytest.mark.parametrize("labels", ["integer", "one_hot_float64"])
def test_float32_parameters_keep_float32_gradients_and_training(labels, rng):
    """The book keeps float32 (its load_mnist normalises to float32): every gradient method and the book
    loop stay in float32, whether the labels are integers or float64 one-hot rows."""
    net = TwoLayerNet(20, 8, 4)
    params = net.init(jax.random.key(0), np.float32)
    x = rng.uniform(size=(6, 20)).astype(np.float32)
    t = rng.integers(0, 4, 6)
    if labels == "one_hot_float64":
        t = np.eye(4)[t]  # NumPy's default float64
    assert net.loss(params, x, t).dtype == np.float32
    for grads in (
        net.gradient(params, x, t),
        net.numerical_gradient(params, x, t),
        net.autodiff_gradient(jax.tree.map(jnp.asarray, params), jnp.asarray(x), jnp.asarray(t)),
    ):
        assert {k: str(v.dtype) for k, v in grads.items()} == {k: "float32" for k in params}
    trained, history = train_book_loop(net, params, x.astype(np.float64), t, iters=3, batch_size=4)
    assert {str(v.dtype) for v in trained.values()} == {"float32"}  # the book's in-place update keeps the dtype
    assert len(history["loss"]) == 3
