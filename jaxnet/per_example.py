"""Per-example gradients, their norms and DP-SGD clipping, at about the cost of one batch gradient.

A mini-batch gradient is the mean of the per-example gradients. ``jax.vmap(jax.grad)``
computes all of them, but on a CPU the compiled program writes the B x P gradients in a
transposed layout and copies them again, and is slower than a Python loop for large
models. For a Sequential of ``Dense`` and ``Conv2D`` layers (and layers without
parameters), one backward pass gives much more: the gradient of the summed per-example
losses with respect to each such layer's pre-activation output holds, in row ``i``,
example ``i``'s *delta*. Each layer's output is linear in its parameters, so example
``i``'s gradient is that linear map's transpose applied to (its input ``a_i``, its delta
``d_i``): the outer product ``a_i d_i^T`` for a Dense layer on (batch, features), the
im2col patches of ``a_i`` times ``d_i`` for a convolution. From the deltas:

- ``per_example_gradients``: the B per-example gradients, one batched product per layer;
- ``per_example_gradient_norms``: ``||g_i||^2 = sum over Dense layers of (||a_i||^2 + 1) ||d_i||^2``
  (no B x P array at all), with the per-layer gradients reduced for convolutions;
- ``clipped_gradient_sum``: DP-SGD's sum of clipped gradients ``sum_i min(1, C/||g_i||) g_i``, one
  weighted batch product per layer (the deltas rescaled), and ``dp_sgd_aggregate`` (an Optax
  transformation) adds DP-SGD's Gaussian noise and averages.

Any other model falls back to ``vmap`` of ``grad``. All of it runs in inference mode (Dropout off).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxnet import activations
from jaxnet.layers import Conv2D, Dense
from jaxnet.model import Sequential


def per_example_gradients(model_or_loss_fn, params, x, y, loss: Callable | None = None):
    """The gradient of the loss for each example separately.

    Two forms:

    - ``per_example_gradients(loss_fn, params, x, y)``: ``loss_fn(params, x_batch, y_batch) -> scalar``
      (a batch-mean loss), differentiated with ``jax.vmap(jax.grad)``;
    - ``per_example_gradients(model, params, x, y, loss)``: a jaxnet model and ``loss(y_pred, y_true)``,
      in inference mode; a Sequential of Dense / Conv2D layers and layers without parameters takes one
      backward pass to the layers' deltas, any other model the vmap form.

    Arguments:
        model_or_loss_fn: ``loss_fn`` (first form) or a jaxnet model (second form).
        params: the parameter pytree.
        x: inputs with the batch axis first.
        y: targets with the batch axis first.
        loss: the second form's ``loss(y_pred, y_true) -> scalar``, e.g. ``losses.sparse_categorical_crossentropy``.

    Returns:
        A pytree like ``params`` whose leaves have a leading batch axis; leaf ``[i]`` is the gradient of
        the loss on the batch of example ``i`` alone, so for a batch-mean loss the mean over that axis
        equals the batch gradient.
    """
    if loss is None:
        if not callable(model_or_loss_fn) or hasattr(model_or_loss_fn, "apply"):  # a model is callable too
            raise TypeError(
                "per_example_gradients(loss_fn, params, x, y) needs a callable loss_fn; for a model "
                "pass the loss too: per_example_gradients(model, params, x, y, loss)"
            )
        return _vmap_gradients(model_or_loss_fn, params, x, y)
    taps = _taps(model_or_loss_fn, params, x, y, loss)
    if taps is None:
        return _vmap_gradients(_batch_loss(model_or_loss_fn, loss), params, x, y)
    return {name: _layer_gradients(tap) if tap.linear is not None else params[name] for name, tap in taps.items()}


def per_example_gradient_norms(model, params, x, y, loss: Callable) -> jax.Array:
    """The L2 norm of each example's full gradient, at about the cost of one batch gradient.

    The norms of ``per_example_gradients(model, params, x, y, loss)``. A Dense layer on (batch, features)
    adds ``(||a_i||^2 + 1) ||d_i||^2`` (``||a_i||^2 ||d_i||^2`` without a bias) and builds nothing of size
    B x P; a Conv2D layer (or a Dense layer on higher-rank inputs) reduces its own per-example gradients.

    Arguments:
        model: a jaxnet model (``apply(params, x, key=None, training=False)``).
        params: its parameter pytree.
        x: inputs with the batch axis first.
        y: targets with the batch axis first.
        loss: ``loss(y_pred, y_true) -> scalar`` over a batch, e.g. ``losses.sparse_categorical_crossentropy``.

    Returns:
        A vector of B gradient norms.
    """
    taps = _taps(model, params, x, y, loss)
    if taps is None:
        return _norms(per_example_gradients(_batch_loss(model, loss), params, x, y))
    return jnp.sqrt(sum(_layer_squared_norms(tap) for tap in taps.values() if tap.linear is not None))


def clipped_gradient_sum(model, params, x, y, loss: Callable, l2_norm_clip: float):
    """DP-SGD's clipped sum: ``sum_i min(1, l2_norm_clip / ||g_i||) g_i`` over the per-example gradients.

    On the one-backward-pass path the B x P gradients are never built: the norms come as in
    ``per_example_gradient_norms`` and each layer's clipped sum is one batch product of its inputs with
    its deltas scaled by ``min(1, l2_norm_clip / ||g_i||)``. Equal to the clipped sum of
    ``optax.per_example_global_norm_clip`` on ``per_example_gradients(model, params, x, y, loss)``.

    Arguments:
        model: a jaxnet model.
        params: its parameter pytree.
        x: inputs with the batch axis first.
        y: targets with the batch axis first.
        loss: ``loss(y_pred, y_true) -> scalar`` over a batch.
        l2_norm_clip: the largest L2 norm an example's gradient may keep (``C`` in DP-SGD).

    Returns:
        A pytree like ``params``: hand it to ``dp_sgd_aggregate`` (noise and the mean) or divide by B.
    """
    taps = _taps(model, params, x, y, loss)
    if taps is None:
        grads = per_example_gradients(_batch_loss(model, loss), params, x, y)
        scale = _clip_scale(_norms(grads), l2_norm_clip)
        return jax.tree.map(lambda g: jnp.tensordot(scale, g, axes=1), grads)
    norms = jnp.sqrt(sum(_layer_squared_norms(tap) for tap in taps.values() if tap.linear is not None))
    scale = _clip_scale(norms, l2_norm_clip)
    clipped = {}
    for name, tap in taps.items():
        if tap.linear is None:
            clipped[name] = params[name]
            continue
        linear, inputs, deltas = tap.tapped()
        weighted = deltas * scale.reshape((-1,) + (1,) * (deltas.ndim - 1)).astype(deltas.dtype)
        _, transpose = jax.vjp(lambda p: linear.apply(p, inputs), tap.params)
        clipped[name] = transpose(weighted)[0]  # A^T (scale * D): one batch product
    return clipped


class DPSGDAggregateState(NamedTuple):
    """The PRNG key of ``dp_sgd_aggregate``'s next noise draw."""

    rng_key: jax.Array


def dp_sgd_aggregate(
    l2_norm_clip: float, noise_multiplier: float, batch_size: int, key: jax.Array | int = 0
) -> optax.GradientTransformation:
    """DP-SGD's noise and mean as an Optax transformation, fed by ``clipped_gradient_sum``.

    ``optax.chain(dp_sgd_aggregate(C, sigma, B, key), optax.sgd(lr))`` turns the clipped sum into
    ``(sum + N(0, (C sigma)^2)) / B`` per leaf, exactly as ``optax.contrib.differentially_private_aggregate``
    (same key, same splits, same noise) does on the B x P per-example gradients it needs as input.

    Arguments:
        l2_norm_clip: the clipping norm ``C`` given to ``clipped_gradient_sum``.
        noise_multiplier: the noise's standard deviation over ``C`` (``sigma``); 0 adds none.
        batch_size: B, the number of examples summed.
        key: a PRNG key or an int seed for the noise.

    Returns:
        An ``optax.GradientTransformation`` whose updates are the clipped sums (a pytree like params).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size is the number of examples summed and must be >= 1, got {batch_size}")
    key = jax.random.key(key) if isinstance(key, int) else key
    noise_std = l2_norm_clip * noise_multiplier

    def init(params):
        del params
        return DPSGDAggregateState(key)

    def update(updates, state, params=None):
        del params
        leaves, treedef = jax.tree.flatten(updates)
        new_key, *keys = jax.random.split(state.rng_key, len(leaves) + 1)
        noised = [(g + noise_std * jax.random.normal(k, g.shape, g.dtype)) / batch_size for g, k in zip(leaves, keys)]
        return jax.tree.unflatten(treedef, noised), DPSGDAggregateState(new_key)

    return optax.GradientTransformation(init, update)


def _vmap_gradients(loss_fn: Callable, params, x, y):
    single = lambda p, xi, yi: loss_fn(p, xi[None], yi[None])
    return jax.vmap(jax.grad(single), in_axes=(None, 0, 0))(params, x, y)


def _batch_loss(model, loss: Callable) -> Callable:
    """``loss_fn(params, x_batch, y_batch)`` for the vmap form, in inference mode."""
    return lambda p, xb, yb: loss(model.apply(p, xb, key=None, training=False), yb)


def _norms(grads) -> jax.Array:
    return jnp.sqrt(sum(jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1) for g in jax.tree.leaves(grads)))


def _clip_scale(norms: jax.Array, l2_norm_clip: float) -> jax.Array:
    """``min(1, C / ||g_i||)``, 1 for a zero gradient (as Optax's per-example clipping)."""
    return jnp.nan_to_num(jnp.minimum(l2_norm_clip / norms, 1.0), nan=1.0)


@dataclasses.dataclass
class _Tap:
    """One layer of the one-backward-pass path: its linear part (None for a layer without parameters),
    parameters, input batch and per-example deltas (the gradient of the summed losses at its pre-activation)."""

    linear: Dense | Conv2D | None
    params: Any
    inputs: jax.Array | None = None
    deltas: jax.Array | None = None

    def tapped(self) -> tuple[Dense | Conv2D, jax.Array, jax.Array]:
        """The linear part, input batch and deltas of a tapped layer (all set once ``_taps`` has run)."""
        assert self.linear is not None and self.inputs is not None and self.deltas is not None
        return self.linear, self.inputs, self.deltas


def _taps(model, params, x, y, loss: Callable) -> dict[str, _Tap] | None:
    """The deltas of every Dense / Conv2D layer from one backward pass; None when the model does not qualify.

    It qualifies when it is a jaxnet Sequential whose layers are Dense, Conv2D, or have no parameters
    (Flatten, Dropout, pooling, Activation, ...): then every example's output depends on that example alone
    and on each tapped layer's parameters through its linear pre-activation.
    """
    if type(model) is not Sequential:
        return None
    taps = {}
    for name, layer in zip(model.names, model.layers):
        if type(layer) in (Dense, Conv2D):
            taps[name] = _Tap(dataclasses.replace(layer, activation=None), params[name])
        elif jax.tree.leaves(params[name]):
            return None  # parameters we do not know how to tap: vmap handles them
        else:
            taps[name] = _Tap(None, params[name])
    if all(tap.linear is None for tap in taps.values()):
        return None

    def forward(probes):
        h, inputs, pre_activations = x, {}, {}
        for name, layer in zip(model.names, model.layers):
            tap = taps[name]
            if tap.linear is None:
                h = layer.apply(tap.params, h, key=None, training=False)
                continue
            inputs[name] = h
            h = tap.linear.apply(tap.params, h)
            if probes is not None:
                h = h + probes[name]  # a zero whose gradient is the delta
            pre_activations[name] = h
            h = activations.get(layer.activation)(h)
        per_example = jax.vmap(lambda yp, yt: loss(yp[None], yt[None]))(h, y)
        return jnp.sum(per_example), (inputs, pre_activations)  # summed: row i of each delta is example i's own

    shapes = jax.eval_shape(lambda: forward(None))[1][1]
    probes = {name: jnp.zeros(s.shape, s.dtype) for name, s in shapes.items()}
    deltas, (inputs, _) = jax.grad(forward, has_aux=True)(probes)
    for name in deltas:
        taps[name].inputs, taps[name].deltas = inputs[name], deltas[name]
    return taps


def _layer_gradients(tap: _Tap):
    """Example i's parameter gradient: the transpose of the layer's linear map at (a_i, d_i), for every i."""
    linear, inputs, deltas = tap.tapped()
    if type(linear) is Dense and inputs.ndim == 2 and set(tap.params) <= {"w", "b"}:
        # the outer products, written once in their final layout
        grads = {"w": inputs[:, :, None] * deltas[:, None, :]}
        return {**grads, "b": deltas} if linear.use_bias else grads

    def one(a, d):
        _, transpose = jax.vjp(lambda p: linear.apply(p, a[None]), tap.params)
        return transpose(d[None])[0]

    return jax.vmap(one)(inputs, deltas)


def _layer_squared_norms(tap: _Tap) -> jax.Array:
    """Each example's squared gradient norm for one layer; without B x P arrays for Dense on 2-D inputs."""
    linear, inputs, deltas = tap.tapped()
    if type(linear) is Dense and inputs.ndim == 2:
        a2 = jnp.sum(inputs**2, axis=1) + (1.0 if linear.use_bias else 0.0)
        return a2 * jnp.sum(deltas**2, axis=1)
    return _norms(_layer_gradients(tap)) ** 2
