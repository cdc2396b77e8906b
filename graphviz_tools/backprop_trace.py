"""The numbers of the book's backward picture, computed by JAX for any function.

``trace_backprop(fun)(*args)`` traces ``fun`` to a jaxpr and groups its equations into the
picture's nodes (``graphviz_tools.grouping``). It then evaluates the jaxpr node by node with a
zero *probe* added to every input edge of every node, and takes one ``jax.vjp`` with respect to
the probes, compiled once: the gradient with respect to an edge's probe is the cotangent that
flowed along that edge, its own (a value used twice gets two, which add up to its total). This
is the reverse sweep of the book, node by node, done by JAX's autodiff, not by the ``Var`` engine;
``graphviz_tools.backprop_graph`` draws the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend import core as jcore

from graphviz_tools.grouping import Grouping, Unit, group
from graphviz_tools.jaxpr import _arg_names, _leaf_labels, eval_eqn

MAX_NODES = 30  # about what fits 1600 x 1200 px readably; deeper scopes collapse to stay within it
#: Compiling the forward and backward pass grows with the jaxpr: an unrolled 10,000-equation loop takes minutes.
MAX_EQUATIONS = 2000


@dataclass
class Node:
    """A node of the picture.

    Attributes:
        id: the DOT node id.
        label: its text (without the gradient total).
        kind: "input", "const", "output", or the unit kinds "op", "call", "scope", "repeat".
        scope: the cluster path it is drawn in.
        unit: the equations it stands for (None for inputs, constants and outputs).
        totals: the total cotangent of each value it produces that is used more than once.
        nonfinite: "forward", "backward" (or both) on the first node whose values / cotangents turned NaN or Inf.
    """

    id: str
    label: str
    kind: str
    scope: tuple = ()
    unit: Unit | None = None
    totals: list = field(default_factory=list)
    nonfinite: str | None = None
    value: Any = None


@dataclass
class Edge:
    """One edge: the forward value it carries and its own cotangent.

    Attributes:
        src, dst: node ids.
        var: the jaxpr variable (or literal) it carries.
        value: its forward value (a NumPy array).
        cotangent: the cotangent that flowed back along this edge (None when it carries none).
        step: the edge's place in the backward pass (0: the output's seed, 1: the last node's inputs, ...).
        eqn, slot: for a single-primitive destination, its equation and which operand this is.
    """

    src: str
    dst: str
    var: Any
    value: np.ndarray
    cotangent: np.ndarray | None = None
    step: int | None = None
    eqn: Any = None
    slot: int | None = None


@dataclass
class BackpropTrace:
    """Everything the picture shows: nodes, edges, the grouping and the jaxpr it came from."""

    nodes: dict
    edges: list
    grouping: Grouping
    jaxpr: jcore.Jaxpr
    title: str


def _inexact(aval) -> bool:
    return hasattr(aval, "dtype") and jnp.issubdtype(aval.dtype, jnp.inexact)


def _unwrap_jit(closed: jcore.ClosedJaxpr) -> jcore.ClosedJaxpr:
    """A jitted function traces to one call equation: draw its body instead."""
    eqns = closed.jaxpr.eqns
    if (
        len(eqns) == 1
        and isinstance(eqns[0].params.get("jaxpr"), jcore.ClosedJaxpr)
        and list(eqns[0].invars) == list(closed.jaxpr.invars)
        and list(eqns[0].outvars) == list(closed.jaxpr.outvars)
    ):
        return eqns[0].params["jaxpr"]
    return closed


def _choose_grouping(jaxpr, max_depth, collapse, max_nodes, inputs: int) -> Grouping:
    """The deepest grouping (at most ``max_depth`` scope levels) whose picture fits in ``max_nodes``."""
    grouping = group(jaxpr, max_depth, collapse)
    depth = grouping.depth
    while len(grouping.units) + inputs > max_nodes and depth > 0:
        depth -= 1
        grouping = group(jaxpr, depth, collapse)
    if len(grouping.units) + inputs > max_nodes:
        raise ValueError(
            f"the function has {len(jaxpr.eqns)} equations, which draw as {len(grouping.units) + inputs} nodes even "
            f"with every named scope collapsed, more than max_nodes={max_nodes}. Wrap its parts in "
            "jax.named_scope(...) so they fold (they collapse automatically, or with collapse=[names]), "
            "or pass a larger max_nodes= (dot may take minutes beyond a few hundred nodes)."
        )
    return grouping


def _unit_inputs(jaxpr: jcore.Jaxpr, unit: Unit, scalars: set) -> list[tuple[Any, int | None]]:
    """(var, slot) per input edge: every operand of a single primitive, else each outside value once.

    Literals and scalar constants feeding a folded node are hidden (they are its internals).
    """
    eqns = [jaxpr.eqns[i] for i in unit.eqns]
    if unit.kind == "op":
        return [(v, slot) for slot, v in enumerate(eqns[0].invars)]
    made, seen = set(), set()
    inputs: list[tuple[Any, int | None]] = []
    for eqn in eqns:
        for v in eqn.invars:
            if isinstance(v, jcore.Var) and v not in scalars and v not in made and v not in seen:
                seen.add(v)
                inputs.append((v, None))
        made.update(eqn.outvars)
    return inputs


def _probed_run(closed: jcore.ClosedJaxpr, units: list[Unit], unit_edges: list[list[tuple]], shown: list):
    """``run(flat_args, probes) -> (float outputs, shown values)``: the jaxpr evaluated unit by unit, with a zero
    probe added to every differentiable input edge; the gradient with respect to a probe is that edge's cotangent.
    """
    jaxpr = closed.jaxpr

    def run(flat_args, probes):
        env = dict(zip(jaxpr.constvars, closed.consts))
        env.update(zip(jaxpr.invars, flat_args))
        for unit, edges in zip(units, unit_edges):
            if unit.kind == "op":
                eqn = jaxpr.eqns[unit.eqns[0]]
                invals = [
                    (v.val if isinstance(v, jcore.Literal) else env[v]) + (probes[p] if p is not None else 0)
                    for v, _, p in edges
                ]
                env.update(zip(eqn.outvars, eval_eqn(eqn, invals)))
                continue
            local = {v: env[v] + probes[p] for v, _, p in edges if p is not None}
            for i in unit.eqns:
                eqn = jaxpr.eqns[i]
                invals = [
                    v.val if isinstance(v, jcore.Literal) else local[v] if v in local else env[v] for v in eqn.invars
                ]
                outs = eval_eqn(eqn, invals)
                env.update(zip(eqn.outvars, outs))
                local.update(zip(eqn.outvars, outs))
        outs = [env[v] for v in jaxpr.outvars if isinstance(v, jcore.Var) and _inexact(v.aval)]
        return outs, [env[v] for v in shown]

    return run


def _host(x):
    """A value as a NumPy array; PRNG keys stay JAX arrays (NumPy cannot hold them)."""
    return x if jax.dtypes.issubdtype(getattr(x, "dtype", None), jax.dtypes.prng_key) else np.asarray(x)


def _finite(x) -> bool:
    if x is None or not jnp.issubdtype(getattr(x, "dtype", np.float64), jnp.inexact):
        return True
    return bool(np.all(np.isfinite(np.asarray(x))))


def trace_backprop(
    fun: Callable,
    *,
    argnums: int | Sequence[int] | None = None,
    seed=None,
    max_depth: int | None = None,
    collapse: Sequence[str] = (),
    max_nodes: int = MAX_NODES,
    max_equations: int = MAX_EQUATIONS,
    output_names: Sequence[str] | None = None,
) -> Callable[..., BackpropTrace]:
    """Compute the book's backward picture of ``fun``: forward values and per-edge cotangents.

    Arguments:
        fun: a JAX function of positional arguments (pytrees of arrays or numbers).
        argnums: the positional arguments that get gradients (default: every one); the others are
            drawn as constants, as the label ``t`` of a loss.
        seed: the cotangent of the output (default 1 for a scalar output; required for others,
            e.g. ``np.ones(3)`` as the book's Affine example).
        max_depth: named-scope levels drawn as clusters (None: as many as ``max_nodes`` allows).
        collapse: scope names always drawn as one node.
        max_nodes: the node budget: scopes collapse level by level until the picture fits.
        max_equations: refuse longer jaxprs (their compile time grows quickly; a loop is best a ``lax.scan``).
        output_names: labels of the outputs (default "out", or "out0", "out1", ...).

    Returns:
        A function of ``fun``'s arguments that returns the BackpropTrace.

    Raises:
        ValueError: for a non-scalar output without ``seed``, a jaxpr over ``max_equations``, or a picture
            over ``max_nodes`` even fully collapsed; the message names the option that helps.
    """

    def build(*args) -> BackpropTrace:
        closed = _unwrap_jit(jax.make_jaxpr(fun)(*args))
        jaxpr = closed.jaxpr
        if len(jaxpr.eqns) > max_equations:
            raise ValueError(
                f"{getattr(fun, '__name__', 'the function')} traces to {len(jaxpr.eqns)} equations, more than "
                f"max_equations={max_equations} (compiling its backward pass would take minutes). A Python loop "
                "unrolls into the jaxpr: write it with jax.lax.scan / fori_loop (one node, its body folded), or "
                "pass a larger max_equations=."
            )
        flat = jax.tree.leaves(args)
        nums = range(len(args)) if argnums is None else [argnums] if isinstance(argnums, int) else argnums
        counts = [len(jax.tree.leaves(a)) for a in args]
        starts = np.cumsum([0] + counts)
        diff_args = {jaxpr.invars[j] for i in nums for j in range(starts[i], starts[i + 1])}
        names = _leaf_labels(_arg_names(fun, len(args)), args)
        outs = list(jaxpr.outvars)
        if seed is None and any(np.shape(v.aval) != () for v in outs if hasattr(v, "aval")):
            raise ValueError(
                f"{getattr(fun, '__name__', 'the function')} returns shape(s) "
                f"{[tuple(v.aval.shape) for v in outs]}: pass seed= (the output's cotangent, e.g. "
                "seed=np.ones(shape)), or reduce it to a scalar first (lambda *a: f(*a).sum())"
            )
        used_inputs = {v for e in jaxpr.eqns for v in e.invars if isinstance(v, jcore.Var)} | set(outs)
        n_inputs = sum(1 for v in list(jaxpr.invars) + list(jaxpr.constvars) if v in used_inputs) + len(outs)
        grouping = _choose_grouping(jaxpr, max_depth, collapse, max_nodes, n_inputs)
        constants = set(jaxpr.constvars)
        scalars = {v for v, c in zip(jaxpr.constvars, closed.consts) if np.ndim(c) == 0}

        def differentiable(v) -> bool:
            return (
                isinstance(v, jcore.Var)
                and _inexact(v.aval)
                and v not in constants
                and (v not in jaxpr.invars or v in diff_args)
            )

        nodes: dict = {}
        producer: dict = {}
        for i, var in enumerate(jaxpr.invars):
            if var in used_inputs:
                nodes[f"in{i}"] = producer[var] = Node(f"in{i}", names[i], "input")
        for i, var in enumerate(jaxpr.constvars):
            if var in used_inputs:
                nodes[f"c{i}"] = producer[var] = Node(
                    f"c{i}", f"const {var.aval.str_short(short_dtypes=True)}", "const"
                )
        unit_nodes: list[Node] = []
        unit_edges: list[list[tuple]] = []
        probe_avals: list[Any] = []  # the ShapedArrays of differentiable values (AbstractValue has no shape)
        for k, unit in enumerate(grouping.units):
            node = Node(f"u{k}", unit.label, unit.kind, unit.scope, unit)
            nodes[node.id] = node
            unit_nodes.append(node)
            edges_of_unit = []
            for var, slot in _unit_inputs(jaxpr, unit, scalars):
                probe = None
                if differentiable(var):
                    probe = len(probe_avals)
                    probe_avals.append(var.aval)
                edges_of_unit.append((var, slot, probe))
            unit_edges.append(edges_of_unit)
            for i in unit.eqns:
                for v in jaxpr.eqns[i].outvars:
                    producer[v] = node
        shown = list(
            dict.fromkeys(
                [v for es in unit_edges for v, _, _ in es if isinstance(v, jcore.Var)]
                + [v for v in outs if isinstance(v, jcore.Var)]
            )
        )
        float_outs = [v for v in outs if isinstance(v, jcore.Var) and _inexact(v.aval)]
        float_avals: list[Any] = [v.aval for v in float_outs]  # ShapedArrays (AbstractValue declares no shape)
        seeds = [np.ones(a.shape, a.dtype) if seed is None else np.asarray(seed, a.dtype) for a in float_avals]
        run = _probed_run(closed, grouping.units, unit_edges, shown)

        @jax.jit
        def forward_and_backward(flat_args, probes):
            _, vjp_fn, values = jax.vjp(lambda p: run(flat_args, p), probes, has_aux=True)
            return values, vjp_fn(seeds)[0]

        zeros = [np.zeros(a.shape, a.dtype) for a in probe_avals]  # NumPy: no compile per shape
        values, cotangents = forward_and_backward(flat, zeros)
        value_of = {v: _host(x) for v, x in zip(shown, values)}
        value = lambda v: np.asarray(v.val) if isinstance(v, jcore.Literal) else value_of[v]  # noqa: E731
        cotangents = [np.asarray(g) for g in cotangents]
        edges: list[Edge] = []
        totals: dict[jcore.Var, Any] = {}
        label_outs = list(output_names or (["out"] if len(outs) == 1 else [f"out{i}" for i in range(len(outs))]))
        for i, var in enumerate(outs):
            nodes[f"out{i}"] = Node(f"out{i}", label_outs[i], "output")
            cot = seeds[float_outs.index(var)] if var in float_outs else None
            src = producer[var].id if var in producer else f"out{i}"
            edges.append(Edge(src, f"out{i}", var, value(var), cot, 0 if cot is not None else None))
        step, literal_count = 0, 0
        for node, unit, edges_of_unit in zip(reversed(unit_nodes), reversed(grouping.units), reversed(unit_edges)):
            step += any(p is not None for _, _, p in edges_of_unit)
            eqn = jaxpr.eqns[unit.eqns[0]] if node.kind == "op" else None
            for var, slot, probe in edges_of_unit:
                if isinstance(var, jcore.Literal):
                    literal_count += 1
                    src = f"lit{literal_count}"
                    nodes[src] = Node(src, "", "const", node.scope)
                else:
                    src = producer[var].id
                g = None if probe is None else cotangents[probe]
                if g is not None:
                    totals[var] = totals[var] + g if var in totals else g
                edges.append(Edge(src, node.id, var, value(var), g, step if g is not None else None, eqn, slot))
        for node in nodes.values():
            if node.kind == "const" and node.id.startswith("lit"):
                node.value = next(e.value for e in edges if e.src == node.id)
        _mark_totals(nodes, edges, totals)
        _mark_nonfinite(unit_nodes, edges)
        _place_inputs(nodes, edges)
        edges.sort(key=lambda e: (e.dst.startswith("out"), list(nodes).index(e.dst)))
        return BackpropTrace(nodes, edges, grouping, jaxpr, f"backprop of {getattr(fun, '__name__', 'function')}")

    return build


def _mark_totals(nodes: dict, edges: list, totals: dict) -> None:
    """A value whose gradient arrives along several edges shows the sum on its node (the book's fan-out)."""
    arrivals: dict = {}
    for e in edges:
        if e.cotangent is not None and isinstance(e.var, jcore.Var):
            arrivals.setdefault((e.src, e.var), []).append(e)
    for (src, var), es in arrivals.items():
        if len(es) > 1:
            nodes[src].totals.append((var, totals[var]))


def _mark_nonfinite(unit_nodes: list, edges: list) -> None:
    """Mark the first node whose output turns NaN/Inf going forward, and the first going backward."""
    into: dict = {}
    out_of: dict = {}
    for e in edges:
        into.setdefault(e.dst, []).append(e)
        out_of.setdefault(e.src, []).append(e)
    for node in unit_nodes:
        if all(_finite(e.value) for e in into.get(node.id, [])) and not all(
            _finite(e.value) for e in out_of.get(node.id, [])
        ):
            node.nonfinite = "forward"
            break
    for node in reversed(unit_nodes):
        if all(_finite(e.cotangent) for e in out_of.get(node.id, [])) and not all(
            _finite(e.cotangent) for e in into.get(node.id, [])
        ):
            node.nonfinite = "forward and backward" if node.nonfinite else "backward"
            break


def _place_inputs(nodes: dict, edges: list) -> None:
    """An input used only inside one cluster (a layer's weights) is drawn inside it."""
    scopes: dict = {}
    for e in edges:
        scopes.setdefault(e.src, set()).add(nodes[e.dst].scope)
    for node_id, found in scopes.items():
        node = nodes[node_id]
        if node.kind in ("input", "const") and len(found) == 1:
            node.scope = next(iter(found))
