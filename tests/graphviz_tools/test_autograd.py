import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphviz_tools.autograd import Var


def test_reuse_accumulates():
    a = Var(3.0)
    (a + a).backward()
    assert a.grad == 2
    a = Var(3.0)
    b = a + a
    (b + b).backward()
    assert a.grad == 4


def test_numbers_on_either_side():
    x = Var(2.0)
    y = 3 - x * 4 + 1 / x - (-x) ** 2 + 10 / (x + 1) - x / 2 + 2**x
    y.backward()
    f = lambda v: 3 - v * 4 + 1 / v - (-v) ** 2 + 10 / (v + 1) - v / 2 + 2**v
    assert float(y.value) == pytest.approx(f(2.0))
    assert float(x.grad) == pytest.approx(float(jax.grad(f)(2.0)))


def test_broadcast_gradients_are_summed_back(x64):
    w = Var(np.ones((2, 3)))
    b = Var(np.array([1.0, 2.0, 3.0]))
    s = Var(2.0)
    loss = ((w * s + b).tanh()).sum()
    loss.backward()
    f = lambda w_, b_, s_: jnp.sum(jnp.tanh(w_ * s_ + b_))
    gw, gb, gs = jax.grad(f, argnums=(0, 1, 2))(jnp.ones((2, 3)), jnp.array([1.0, 2.0, 3.0]), 2.0)
    np.testing.assert_allclose(w.grad, gw)
    np.testing.assert_allclose(b.grad, gb)
    np.testing.assert_allclose(s.grad, gs)
    assert b.grad.shape == (3,) and s.grad.shape == ()


def test_matmul_mean_relu_log_softmax_with_loss(x64, rng):
    x = rng.normal(size=(4, 3))
    w = rng.normal(size=(3, 5))
    t = np.eye(5)[[0, 1, 4, 2]]
    xv, wv = Var(x), Var(w)
    (xv @ wv).relu().mean().backward()
    gx, gw = jax.grad(lambda a, b: jnp.mean(jax.nn.relu(a @ b)), argnums=(0, 1))(x, w)
    np.testing.assert_allclose(xv.grad, gx, rtol=1e-12)
    np.testing.assert_allclose(wv.grad, gw, rtol=1e-12)
    xv, wv = Var(x), Var(w)
    loss = (xv @ wv).softmax_with_loss(t)
    loss.backward()
    f = lambda a, b: -jnp.sum(t * jax.nn.log_softmax(a @ b)) / 4
    assert float(loss.value) == pytest.approx(float(f(x, w)), rel=1e-12)
    np.testing.assert_allclose(wv.grad, jax.grad(f, argnums=1)(x, w), rtol=1e-10)
    p = Var(np.array([0.5, 2.0]))
    (p.log() * p.sigmoid()).sum().backward()
    np.testing.assert_allclose(
        p.grad, jax.grad(lambda v: jnp.sum(jnp.log(v) * jax.nn.sigmoid(v)))(np.array([0.5, 2.0]))
    )


def test_zero_grad_and_non_scalar_error():
    a = Var(np.array([1.0, 2.0]))
    y = a * 3
    with pytest.raises(ValueError, match=r"non-scalar Var of shape \(2,\) needs a seed gradient"):
        y.backward()
    y.backward(np.ones(2))
    np.testing.assert_array_equal(a.grad, [3, 3])
    y.zero_grad()
    np.testing.assert_array_equal(a.grad, [0, 0])
    with pytest.raises(ValueError, match="seed gradient has shape"):
        y.backward(np.ones(3))


# --- property test: random expressions, gradients against jax.grad in float64 --------------------------

UNARY = {
    "exp_tanh": (lambda v: v.tanh().exp(), lambda v: jnp.exp(jnp.tanh(v))),
    "sigmoid": (lambda v: v.sigmoid(), jax.nn.sigmoid),
    "log1p2": (lambda v: (v * v + 1).log(), lambda v: jnp.log(v * v + 1)),
    "relu": (lambda v: v.relu(), jax.nn.relu),
    "neg": (lambda v: -v, lambda v: -v),
    "square": (lambda v: v**2, lambda v: v**2),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1),
}

step = st.one_of(
    st.tuples(st.just("u"), st.sampled_from(sorted(UNARY)), st.integers(0, 50)),
    st.tuples(st.just("b"), st.sampled_from(sorted(BINARY)), st.integers(0, 50), st.integers(0, 50)),
    st.tuples(
        st.just("c"),
        st.sampled_from(sorted(BINARY)),
        st.integers(0, 50),
        st.floats(-3, 3, allow_nan=False).filter(lambda c: abs(c) > 1e-3),
    ),
)


def run_program(program, inputs, lib):
    values = list(inputs)
    for op in program:
        pick = lambda i: values[i % len(values)]
        if op[0] == "u":
            values.append(UNARY[op[1]][lib](pick(op[2])))
        elif op[0] == "b":
            values.append(BINARY[op[1]](pick(op[2]), pick(op[3])))
        else:
            values.append(BINARY[op[1]](pick(op[2]), op[3]))
    return sum(values[len(inputs) :], 0 * values[0]) if len(values) > len(inputs) else values[0]


@settings(max_examples=60, deadline=None)
@given(
    program=st.lists(step, min_size=1, max_size=12),
    xs=st.lists(st.floats(-2, 2, allow_nan=False).filter(lambda v: abs(v) > 1e-2), min_size=3, max_size=3),
)
def test_random_expressions_match_jax_grad(program, xs):
    with jax.enable_x64(True):
        inputs = [Var(x) for x in xs]
        out = run_program(program, inputs, 0)
        out.backward()
        expected = jax.grad(lambda *v: run_program(program, v, 1), argnums=(0, 1, 2))(*map(jnp.float64, xs))
        value = run_program(program, list(map(jnp.float64, xs)), 1)
        assert float(out.value) == pytest.approx(float(value), rel=1e-9, abs=1e-9)
        for var, g in zip(inputs, expected):
            assert float(var.grad) == pytest.approx(float(g), rel=1e-7, abs=1e-9)
