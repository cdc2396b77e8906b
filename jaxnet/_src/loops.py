"""Running a step function over the batches of an epoch: one compiled scan, or compiled chunks.

Fewer host round trips are faster, so by default all the batches of an epoch run
inside one ``lax.scan``. One exception is measured and known: XLA:CPU runs
convolutions inside a loop body several times slower than outside one
(jax-ml/jax#12868; the seeds' CNN trains about 6x slower that way on 2 cores). For
models that use XLA's convolution on the CPU (``Conv2D(implementation="xla")``;
jaxnet's default there is the im2col matrix multiply, which does not suffer from
it) the batches are therefore dispatched one compiled step at a time,
asynchronously, with no host sync between steps.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
from jax.extend import core as jcore


def _primitives(jaxpr) -> set[str]:
    names = set()
    for eqn in jaxpr.eqns:
        names.add(eqn.primitive.name)
        for sub in jcore.jaxprs_in_params(eqn.params):
            names |= _primitives(sub)
    return names


def default_steps_per_call(apply: Callable, params: Any, example_batch: Any) -> int | None:
    """None (the whole epoch in one scan), or 1 for models with XLA convolutions on the CPU (see the module doc)."""
    if jax.default_backend() != "cpu":
        return None
    jaxpr = jax.make_jaxpr(lambda p, x: apply(p, x, key=None, training=False))(params, example_batch)
    return 1 if "conv_general_dilated" in _primitives(jaxpr.jaxpr) else None


#: Steps per iteration of the compiled loop. Unrolling lets XLA schedule and fuse across steps and
#: halves the loop overhead; measured on 2 CPU cores it trains the seeds' MLP and CNN about 20% faster
#: than no unrolling, for about 1.5 s more compilation of the CNN.
UNROLL = 4


def batch_loop(
    body: Callable, num_batches: int, steps_per_call: int | None = None, donate_carry: bool = True, unroll: int = UNROLL
) -> Callable:
    """Build ``run(carry, batches, data) -> (carry, outputs)`` applying ``body(carry, batch, data) -> (carry, out)``
    to each slice of ``batches`` along its leading axis (``num_batches`` long).

    Arguments:
        body: the step, as for ``lax.scan`` but with ``data`` (arrays every step reads, not sliced).
        num_batches: the length of the leading axis of every array in ``batches``.
        steps_per_call: batches per compiled call; None runs them all in one call.
        donate_carry: donate the carry's buffers to each call (parameters, optimizer state).
        unroll: steps per iteration of the compiled loop (see ``UNROLL``).

    Returns:
        ``run(carry, batches, data=(), offset=0)``; it runs batches ``offset`` to ``offset + num_batches`` of
        ``batches`` (so a longer ``batches`` can be fed a piece at a time without slicing it on the host), and
        its ``outputs`` are the per-chunk stacked outputs, as a list of pytrees.
    """
    per_call = num_batches if steps_per_call is None else max(1, min(int(steps_per_call), num_batches))

    def make_chunk(size: int) -> Callable:
        def chunk(carry, batches, data, start):
            part = jax.tree.map(lambda a: jax.lax.dynamic_slice_in_dim(a, start, size), batches)
            if size == 1:  # a plain step: no loop around it at all
                carry, out = body(carry, jax.tree.map(lambda a: a[0], part), data)
                return carry, jax.tree.map(lambda a: a[None], out)
            return jax.lax.scan(lambda c, b: body(c, b, data), carry, part, unroll=min(unroll, size))

        return jax.jit(chunk, donate_argnums=(0,) if donate_carry else ())

    chunks: dict[int, Callable] = {}

    def run(carry, batches, data=(), offset: int = 0):
        outputs = []
        for start in range(0, num_batches, per_call):
            size = min(per_call, num_batches - start)
            if size not in chunks:
                chunks[size] = make_chunk(size)
            carry, out = chunks[size](carry, batches, data, offset + start)
            outputs.append(out)
        return carry, outputs

    return run
