"""Graphs of real JAX functions: their jaxprs, and the jaxprs of their gradients.

``jaxpr_graph(fun)(*args)`` traces ``fun`` with ``jax.make_jaxpr`` and draws every
primitive as a node and every variable as an edge labelled with its shape and
dtype (and, for small inputs, its value). Sub-jaxprs (jit, cond branches, scan
and while bodies, custom_jvp / custom_vjp, remat) are found generically, as any
``Jaxpr`` / ``ClosedJaxpr`` in an equation's params, and drawn as nested
clusters. Operations under ``jax.named_scope`` (jaxnet names each layer) are
grouped into clusters, which can be collapsed to one node each.

``grad_graph`` is the deprecated name of ``graphviz_tools.backprop_graph`` (the book's
backward picture of a function).
"""

from __future__ import annotations

import inspect
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import graphviz
import jax
import numpy as np
from jax.extend import core as jcore

from graphviz_tools.render import check_rankdir, edge_label, format_value

AUTO_VALUES_MAX_ELEMENTS = 64


def sub_jaxprs(params: dict) -> list[tuple[str, jcore.ClosedJaxpr | jcore.Jaxpr]]:
    """Every Jaxpr / ClosedJaxpr in an equation's params (also inside tuples and lists), with a label."""
    found = []
    for key, value in params.items():
        items = value if isinstance(value, (tuple, list)) else [value]
        for i, item in enumerate(items):
            if isinstance(item, (jcore.ClosedJaxpr, jcore.Jaxpr)):
                found.append((f"{key}[{i}]" if len(items) > 1 else key, item))
    return found


def scope_segments(name_stack: str) -> tuple[tuple[str, str], ...]:
    """Split a name stack into (scope, label) pairs, peeling the transformation wrappers JAX adds.

    Under ``jax.grad`` a layer's scope ``dense`` appears as ``jvp(dense)`` in the forward pass and
    ``transpose(jvp(dense))`` in the backward pass; both keep the scope ``dense``, and the backward
    one is labelled ``dense (backward)``.
    """
    segments = []
    for part in name_stack.split("/"):
        backward = False
        while (match := re.fullmatch(r"(\w+)\((.*)\)", part)) is not None:
            backward |= match.group(1) == "transpose"
            part = match.group(2)
        if part:
            segments.append((part, f"{part} (backward)" if backward else part))
    return tuple(segments)


def _unwrap(jaxpr) -> tuple[jcore.Jaxpr, Sequence]:
    return (jaxpr.jaxpr, jaxpr.consts) if isinstance(jaxpr, jcore.ClosedJaxpr) else (jaxpr, ())


def evaluate(closed: jcore.ClosedJaxpr, args: Sequence) -> dict:
    """Run a closed jaxpr equation by equation and return the value of every top-level variable."""
    jaxpr, consts = _unwrap(closed)
    env: dict = {}

    def read(v):
        return v.val if isinstance(v, jcore.Literal) else env[v]

    env.update(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        env.update(zip(eqn.outvars, eval_eqn(eqn, [read(v) for v in eqn.invars])))
    return env


def eval_eqn(eqn: jcore.JaxprEqn, invals: Sequence) -> list:
    """Run one equation on ``invals``; returns the list of its outputs (one for most primitives)."""
    bind = eqn.primitive.get_bind_params(eqn.params)
    # JAX < 0.7 returns (subfuns, params); later releases return the params alone.
    subfuns, bind_params = bind if isinstance(bind, tuple) else ((), bind)
    outs = eqn.primitive.bind(*subfuns, *invals, **bind_params)
    return list(outs) if eqn.primitive.multiple_results else [outs]


@dataclass
class _Drawing:
    """Nodes grouped by cluster path, and edges, collected before emitting the DOT."""

    nodes: dict = field(default_factory=lambda: defaultdict(list))  # cluster path -> [(id, attrs)]
    cluster_labels: dict = field(default_factory=dict)
    edges: list = field(default_factory=list)
    count: int = 0

    def new_id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def node(self, path: tuple, node_id: str, **attrs) -> str:
        self.nodes[path].append((node_id, attrs))
        return node_id

    def emit(self, dot: graphviz.Digraph) -> None:
        children = defaultdict(set)
        for path in list(self.nodes) + list(self.cluster_labels):
            for i in range(len(path)):
                children[path[:i]].add(path[: i + 1])

        def fill(graph, path):
            for node_id, attrs in self.nodes.get(path, []):
                graph.node(node_id, **attrs)
            for child in sorted(children.get(path, ()), key=str):
                with graph.subgraph(name="cluster_" + "__".join(child).replace(" ", "_")) as sub:
                    sub.attr(
                        label=self.cluster_labels.get(child, child[-1]),
                        style="rounded,dashed",
                        color="#888888",
                        fontsize="11",
                    )
                    fill(sub, child)

        fill(dot, ())
        for src, dst, attrs in self.edges:
            dot.edge(src, dst, **attrs)


@dataclass
class _Drawer:
    max_depth: int | None
    collapse: frozenset
    number_format: Any
    values: dict
    drawing: _Drawing = field(default_factory=_Drawing)

    def edge_attrs(self, var, dashed: bool = False) -> dict:
        text = var.aval.str_short(short_dtypes=True)
        if not isinstance(var, jcore.Literal) and var in self.values:
            text += " = " + format_value(np.asarray(self.values[var]), self.number_format)
        attrs = {"label": edge_label(text, None)}
        if dashed:
            attrs["style"] = "dashed"
        return attrs

    def source(self, var, env: dict, path: tuple) -> str:
        """The node that produces ``var``: its producer, or a new literal node."""
        if isinstance(var, jcore.Literal):
            return self.drawing.node(
                path,
                self.drawing.new_id("lit"),
                label=format_value(np.asarray(var.val), self.number_format),
                shape="plaintext",
                fontcolor="#555555",
            )
        return env[var]

    def draw(self, jaxpr, env: dict, path: tuple, depth: int) -> None:
        """Draw every equation of ``jaxpr``; ``env`` maps its input variables to node ids."""
        jaxpr, consts = _unwrap(jaxpr)
        for var, const in zip(jaxpr.constvars, consts):
            text = f"const {var.aval.str_short(short_dtypes=True)}"
            if np.size(const) <= 6:
                text += "\n" + format_value(np.asarray(const), self.number_format)
            env[var] = self.drawing.node(path, self.drawing.new_id("c"), label=text, shape="note", fontsize="10")
        collapsed_nodes: dict[tuple, str] = {}
        for eqn in jaxpr.eqns:
            scope = scope_segments(str(eqn.source_info.name_stack))
            eqn_path = path + tuple(f"scope {label}" for _, label in scope)
            hidden = next((i for i, (bare, _) in enumerate(scope) if bare in self.collapse), None)
            if hidden is not None:
                self.draw_collapsed(
                    eqn,
                    env,
                    path + tuple(f"scope {label}" for _, label in scope[:hidden]),
                    scope[hidden][1],
                    collapsed_nodes,
                )
                continue
            self.draw_equation(eqn, env, eqn_path, depth)

    def draw_collapsed(self, eqn, env, path, scope: str, collapsed_nodes: dict) -> None:
        key = path + (scope,)
        if key not in collapsed_nodes:
            collapsed_nodes[key] = self.drawing.node(
                path, self.drawing.new_id("s"), label=scope, shape="box3d", style="filled", fillcolor="#e8eef8"
            )
        node = collapsed_nodes[key]
        for var in eqn.invars:
            src = self.source(var, env, path)
            edge = (src, node)
            if src != node and not any(e[:2] == edge for e in self.drawing.edges):
                self.drawing.edges.append((src, node, self.edge_attrs(var)))
        for var in eqn.outvars:
            env[var] = node

    def draw_equation(self, eqn, env, path, depth) -> None:
        subs = sub_jaxprs(eqn.params)
        name = eqn.params.get("name")
        label = eqn.primitive.name + (f"\n{name}" if isinstance(name, str) else "")
        expand = subs and (self.max_depth is None or depth < self.max_depth)
        node_path = path + (self.drawing.new_id("call"),) if expand else path
        if expand:
            self.drawing.cluster_labels[node_path] = label.replace("\n", ": ")
        node = self.drawing.node(
            node_path,
            self.drawing.new_id("p"),
            label=label,
            shape="ellipse",
            style="filled",
            fillcolor="#fff2cc" if subs else "#f2f2f2",
        )
        for var in eqn.invars:
            self.drawing.edges.append((self.source(var, env, path), node, self.edge_attrs(var)))
        for var in eqn.outvars:
            env[var] = node
        if not expand:
            return
        for sub_label, sub in subs:
            sub_path = node_path + (sub_label,)
            self.drawing.cluster_labels[sub_path] = sub_label
            inner, _ = _unwrap(sub)
            sub_env = {
                v: self.drawing.node(
                    sub_path,
                    self.drawing.new_id("in"),
                    label=v.aval.str_short(short_dtypes=True),
                    shape="plaintext",
                    fontsize="10",
                )
                for v in inner.invars
            }
            self.draw(sub, sub_env, sub_path, depth + 1)
            for var in inner.outvars:
                self.drawing.edges.append((self.source(var, sub_env, sub_path), node, self.edge_attrs(var, True)))


def _arg_names(fun: Callable, n: int) -> list[str]:
    try:
        names = [
            p.name
            for p in inspect.signature(fun).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        names = []
    return [names[i] if i < len(names) else f"arg{i}" for i in range(n)]


def known_scopes(jaxpr) -> set[str]:
    """Every named scope (bare, as ``collapse`` takes them) in ``jaxpr`` and its sub-jaxprs."""
    found: set[str] = set()
    stack = [jaxpr]
    while stack:
        inner, _ = _unwrap(stack.pop())
        for eqn in inner.eqns:
            found.update(bare for bare, _ in scope_segments(str(eqn.source_info.name_stack)))
            stack.extend(sub for _, sub in sub_jaxprs(eqn.params))
    return found


def _draw_closed(
    closed: jcore.ClosedJaxpr,
    arg_labels: list[str],
    *,
    values: dict,
    title: str,
    max_depth,
    collapse,
    rankdir,
    number_format,
    out_labels: list[str] | None = None,
) -> graphviz.Digraph:
    check_rankdir(rankdir)
    unknown = sorted(set(collapse) - known_scopes(closed))
    if unknown:  # a typo would otherwise silently collapse nothing
        raise ValueError(
            f"unknown collapse scope(s) {', '.join(unknown)}; the known scopes are: "
            f"{', '.join(sorted(known_scopes(closed))) or '(none)'}"
        )
    drawer = _Drawer(max_depth, frozenset(collapse), number_format, values)
    jaxpr = closed.jaxpr
    env = {
        var: drawer.drawing.node((), drawer.drawing.new_id("arg"), label=label, shape="plaintext", fontsize="13")
        for var, label in zip(jaxpr.invars, arg_labels)
    }
    drawer.draw(closed, env, (), 0)
    for i, var in enumerate(jaxpr.outvars):
        label = out_labels[i] if out_labels and i < len(out_labels) else f"out{i}"
        out = drawer.drawing.node((), f"out{i}", label=label, shape="plaintext", fontsize="13")
        drawer.drawing.edges.append((drawer.source(var, env, ()), out, drawer.edge_attrs(var)))
    dot = graphviz.Digraph(name=title)
    dot.attr(rankdir=rankdir, fontname="Helvetica", label=title, labelloc="t", compound="true")
    dot.attr("node", fontname="Helvetica", fontsize="11")
    dot.attr("edge", fontname="Helvetica", fontsize="9", arrowsize="0.6")
    drawer.drawing.emit(dot)
    return dot


def _leaf_labels(names: list[str], args: tuple) -> list[str]:
    labels = []
    for name, arg in zip(names, args):
        leaves = jax.tree_util.tree_leaves_with_path(arg)
        labels += [name + jax.tree_util.keystr(path) for path, _ in leaves]
    return labels


def _want_values(values: bool | str, args) -> bool:
    if values == "auto":
        return sum(np.size(leaf) for leaf in jax.tree.leaves(args)) <= AUTO_VALUES_MAX_ELEMENTS
    return bool(values)


def jaxpr_graph(
    fun: Callable,
    *,
    max_depth: int | None = None,
    collapse: Sequence[str] = (),
    values: bool | str = "auto",
    rankdir: str = "TB",
    number_format: str | Callable = "{:.4g}",
) -> Callable[..., graphviz.Digraph]:
    """Draw the jaxpr of ``fun``.

    Arguments:
        fun: any JAX-traceable function.
        max_depth: how many levels of sub-jaxprs to expand (None: all; 0: none).
        collapse: named scopes (e.g. jaxnet layer names "dense_1") to draw as one node each.
        values: show each top-level variable's value on its edge; "auto" does so when the
            inputs hold at most 64 numbers in all.
        rankdir: "TB" (top to bottom) or "LR".
        number_format: format of the values.

    Returns:
        A function of ``fun``'s arguments that returns the ``graphviz.Digraph``.
    """
    check_rankdir(rankdir)  # at once, not only when the returned function is called

    def build(*args) -> graphviz.Digraph:
        closed = jax.make_jaxpr(fun)(*args)
        flat_args = jax.tree.leaves(args)
        env_values = evaluate(closed, flat_args) if _want_values(values, args) else {}
        labels = _leaf_labels(_arg_names(fun, len(args)), args)
        name = getattr(fun, "__name__", "function")
        return _draw_closed(
            closed,
            labels,
            values=env_values,
            title=f"jaxpr of {name}",
            max_depth=max_depth,
            collapse=collapse,
            rankdir=rankdir,
            number_format=number_format,
        )

    return build


def grad_graph(fun: Callable, **options) -> Callable[..., graphviz.Digraph]:
    """Deprecated name of ``graphviz_tools.backprop_graph``, which draws the book's picture.

    It used to draw the jaxpr of ``jax.value_and_grad(fun)``: a second, backward graph tangled
    with the forward one. It now returns ``backprop_graph(fun, **options)`` (forward values and
    each edge's own cotangent on one forward graph) and warns; the name will be removed.

    Arguments:
        fun: a JAX function.
        **options: ``backprop_graph``'s options (``argnums``, ``max_depth``, ``collapse``, ``rankdir`` ...).

    Returns:
        A function of ``fun``'s arguments that returns the ``graphviz.Digraph``.
    """
    import warnings

    from graphviz_tools.backprop_graph import backprop_graph  # it imports this module

    warnings.warn(
        "grad_graph is deprecated: use graphviz_tools.backprop_graph, which it now calls",
        DeprecationWarning,
        stacklevel=2,
    )
    return backprop_graph(fun, **options)
