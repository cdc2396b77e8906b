"""The book's backward picture of any JAX function, drawn from JAX's own numbers.

``backprop_graph(f)(*args)`` draws the forward graph of ``f``'s jaxpr, grouped into the nodes a
person would draw (``graphviz_tools.grouping``): each edge carries its forward value above
(blue) and its own cotangent below (red), computed by ``graphviz_tools.backprop_trace``; a
value used more than once shows its total gradient on its node ("x (grad 0.8)"). Layer scopes
are clusters; edge width follows |cotangent|; the first node that produced NaN/Inf is marked;
a table beside the graph lists each layer's gradient norms.

Contract with the HTML viewer: every node has a ``tooltip`` (equation, source file:line,
shape/dtype, summary); every edge that carries a gradient has ``class="grad-step-K"`` (K: its
place in the backward pass, 0 nearest the output); clusters are named ``cluster_<scope>``.
"""

from __future__ import annotations

import html
from typing import Callable, Sequence

import graphviz
import numpy as np

from graphviz_tools.backprop_trace import MAX_EQUATIONS, MAX_NODES, BackpropTrace, Edge, Node, trace_backprop
from graphviz_tools.render import (
    GRADIENT_COLOR,
    Digraph,
    check_number_format,
    check_rankdir,
    edge_label,
    format_value,
)

SMALL = 4  # scalars and vectors of up to this many entries are written out
NODE_STYLES = {
    "op": dict(shape="circle", style="filled", fillcolor="#f2f2f2", width="0.5", fixedsize="false"),
    "call": dict(shape="box", style="rounded,filled", fillcolor="#eef3fb"),
    "scope": dict(shape="box3d", style="filled", fillcolor="#e8eef8"),
    "repeat": dict(shape="box", style="rounded,filled", fillcolor="#e8eef8", peripheries="2"),
    "input": dict(shape="plaintext", fontsize="12"),
    "const": dict(shape="plaintext", fontcolor="#555555"),
    "output": dict(shape="plaintext", fontsize="12"),
}
EDGE_WIDTHS = ("grad", "relative", None)
SUMMARIES = ("norm", "range")


def _numeric(value) -> bool:
    return isinstance(value, np.ndarray | np.generic) and np.issubdtype(value.dtype, np.number)


def _aval(value) -> str:
    """``f32[4,128]``: the shape and dtype as JAX prints them (PRNG keys as ``key<fry>[]``)."""
    shape = ",".join(map(str, np.shape(value)))
    if not isinstance(value, np.ndarray | np.generic):
        return f"{value.dtype}[{shape}]"
    dtype = np.dtype(value.dtype)
    kind = {"f": "f", "i": "i", "u": "u", "b": "bool", "c": "c"}.get(dtype.kind, str(dtype))
    return f"{kind}{'' if kind == 'bool' else dtype.itemsize * 8}[{shape}]"


def summarize(value, number_format, summary: str = "norm", grad: bool = False) -> str:
    """Numbers for a small value; for an array its shape/dtype (forward) and a norm or min/mean/max."""
    if not _numeric(value):
        return _aval(value)  # PRNG keys, booleans
    arr = np.asarray(value)
    if arr.size <= SMALL:
        return format_value(arr, number_format, max_elements=SMALL)
    fmt = number_format.format if isinstance(number_format, str) else number_format
    if summary == "range":
        stats = f"{fmt(arr.min())} / {fmt(arr.mean())} / {fmt(arr.max())}"
    else:
        stats = f"|{'g' if grad else 'x'}| {fmt(float(np.linalg.norm(arr.astype(np.float64))))}"
    return stats if grad else f"{_aval(arr)}  {stats}"


def local_derivative(edge: Edge, edges: list[Edge], number_format) -> str | None:
    """The book's local derivative on an edge into a single primitive: ×1, the swapped factor, ×exp(x), ×(−y²) ...

    None for an edge into a folded node (its local derivative is a Jacobian, not a number to write).
    """
    eqn, slot = edge.eqn, edge.slot
    if eqn is None or slot is None:
        return None
    name, power = eqn.primitive.name, eqn.params.get("y")
    if name == "mul":  # the other factor's value: the book's "swapped" inputs
        partner = next((e for e in edges if e.dst == edge.dst and e.slot == 1 - slot), None)
        return None if partner is None else "×" + summarize(partner.value, number_format)
    rules = {
        "add": "×1",
        "add_any": "×1",
        "sub": "×1" if slot == 0 else "×(−1)",
        "neg": "×(−1)",
        "div": "×1/y" if slot == 0 else "×(−x/y²)",
        "exp": "×exp(x)",
        "log": "×1/x",
        "logistic": "×y(1−y)",
        "tanh": "×(1−y²)",
        "dot_general": "·Wᵀ" if slot == 0 else "Xᵀ·",
        "reduce_sum": "×1 (broadcast)",
        "integer_pow": "×(−y²)" if power == -1 else f"×{power}x^{(power or 1) - 1}",
    }
    return rules.get(name, "×∂y/∂x")


def _tooltip(trace: BackpropTrace, node: Node, value, number_format, summary) -> str:
    lines = []
    if node.unit is not None:
        eqns = [trace.jaxpr.eqns[i] for i in node.unit.eqns]
        if len(eqns) == 1:
            e = eqns[0]
            lines.append(f"{' '.join(map(str, e.outvars))} = {e.primitive.name} {' '.join(str(v) for v in e.invars)}")
        else:
            prims = list(dict.fromkeys(e.primitive.name for e in eqns))
            lines.append(f"{len(eqns)} equations: {', '.join(prims[:8])}{' …' if len(prims) > 8 else ''}")
        if node.unit.site is not None:
            lines.append(node.unit.site.where())
    elif node.kind in ("input", "output"):
        lines.append(f"{node.kind} {node.label}")
    if value is not None:
        text = summarize(value, number_format, summary)
        lines.append(text if np.size(value) > SMALL or not _numeric(value) else f"{_aval(value)} = {text}")
    return "\\n".join(line.replace("\\", "/") for line in lines)  # Graphviz's escaped newline: one DOT line


def _widths(edges: list[Edge], mode: str | None) -> dict[int, float]:
    """Pen width per edge from |cotangent| (or |cotangent|/|value|), 1 to 4 on a square-root scale."""
    if mode is None:
        return {}
    sizes = {}
    for i, e in enumerate(edges):
        if e.cotangent is None or not np.all(np.isfinite(e.cotangent)):
            continue
        g = float(np.linalg.norm(np.asarray(e.cotangent, np.float64)))
        if mode == "relative":
            v = float(np.linalg.norm(np.asarray(e.value, np.float64)))
            g = g / v if v > 0 else 0.0
        sizes[i] = g
    top = max(sizes.values(), default=0.0)
    return {i: 1.0 + 3.0 * np.sqrt(g / top) if top > 0 else 1.0 for i, g in sizes.items()}


def layer_norms(trace: BackpropTrace) -> list[tuple[str, float | None, float | None]]:
    """(layer, ‖gradient of its inputs (weights)‖, ‖cotangent arriving at its output‖) per top-level scope."""
    rows: dict = {}
    for e in trace.edges:
        src, dst = trace.nodes[e.src], trace.nodes[e.dst]
        if e.cotangent is None:
            continue
        g2 = float(np.sum(np.square(np.asarray(e.cotangent, np.float64))))
        if src.kind == "input" and dst.scope:
            row = rows.setdefault(dst.scope[0], [0.0, 0.0, False, False])
            row[0] += g2
            row[2] = True
        if src.scope and (not dst.scope or dst.scope[0] != src.scope[0]) and src.kind != "input":
            row = rows.setdefault(src.scope[0], [0.0, 0.0, False, False])
            row[1] += g2
            row[3] = True
    for node in trace.nodes.values():  # a collapsed layer is one node outside any cluster
        if node.kind == "scope" and not node.scope:
            name = node.label.split(" ")[0]
            for e in trace.edges:
                if e.cotangent is None:
                    continue
                g2 = float(np.sum(np.square(np.asarray(e.cotangent, np.float64))))
                row = rows.setdefault(name, [0.0, 0.0, False, False])
                if e.dst == node.id and trace.nodes[e.src].kind == "input":
                    row[0] += g2
                    row[2] = True
                if e.src == node.id:
                    row[1] += g2
                    row[3] = True
    return [(name, np.sqrt(r[0]) if r[2] else None, np.sqrt(r[1]) if r[3] else None) for name, r in rows.items()]


def _norm_table(rows, number_format) -> str:
    fmt = number_format.format if isinstance(number_format, str) else number_format
    cell = lambda v: "—" if v is None else fmt(v)  # noqa: E731
    body = "".join(
        f'<tr><td align="left">{html.escape(n)}</td><td>{cell(w)}</td><td>{cell(o)}</td></tr>' for n, w, o in rows
    )
    return (
        f'<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">'
        f'<tr><td colspan="3"><b>gradient norms</b></td></tr>'
        f'<tr><td>layer</td><td><font color="{GRADIENT_COLOR}">|∂L/∂weights|</font></td>'
        f'<td><font color="{GRADIENT_COLOR}">|∂L/∂output|</font></td></tr>{body}</table>>'
    )


def draw_trace(
    trace: BackpropTrace,
    *,
    rankdir: str | None = None,
    number_format: str | Callable = "{:.4g}",
    local_derivatives: bool = False,
    edge_width: str | None = "grad",
    summary: str = "norm",
    norm_table: bool = True,
) -> graphviz.Digraph:
    """Draw a BackpropTrace in the book's style (see ``backprop_graph`` for the options)."""
    units = sum(1 for n in trace.nodes.values() if n.unit is not None)
    layered = any(n.scope for n in trace.nodes.values()) or sum(n.kind == "scope" for n in trace.nodes.values()) > 1
    rankdir = rankdir or ("LR" if units <= 12 and not layered else "TB")  # models read top to bottom
    dot = Digraph(name=trace.title)  # shows itself in Jupyter (the HTML viewer, or SVG)
    dot.attr(
        rankdir=rankdir,
        fontname="Helvetica",
        nodesep="0.3",
        ranksep="0.3" if layered else "0.6",
        label=trace.title,
        labelloc="t",
        fontsize="14",
        compound="true",
    )
    dot.attr("node", fontname="Helvetica", fontsize="11", margin="0.05,0.03")
    dot.attr("edge", fontname="Helvetica", fontsize="9", arrowsize="0.6")
    values = {e.src: e.value for e in trace.edges}
    values.update({e.dst: e.value for e in trace.edges if e.dst.startswith("out")})
    by_scope: dict = {}
    for node in trace.nodes.values():
        by_scope.setdefault(node.scope, []).append(node)
    classes = trace.grouping.scope_classes

    def node_label(node: Node) -> str:
        text = node.label or summarize(node.value, number_format)
        for _, total in node.totals:
            text += f"\n(grad {summarize(total, number_format, summary, grad=True)})"
        if node.nonfinite:
            text += f"\nNaN/Inf first here ({node.nonfinite})"
        return text

    def add_node(graph, node: Node) -> None:
        attrs = dict(NODE_STYLES[node.kind])
        if node.totals:
            attrs["fontname"] = "Helvetica-Bold"
        if node.nonfinite:
            attrs.update(style="filled", fillcolor="#ffb3b3", color=GRADIENT_COLOR, penwidth="2")
        graph.node(
            node.id,
            node_label(node),
            tooltip=_tooltip(trace, node, values.get(node.id), number_format, summary),
            **attrs,
        )

    def fill(graph, path: tuple) -> None:
        for node in by_scope.get(path, []):
            add_node(graph, node)
        children = sorted(
            {s[: len(path) + 1] for s in by_scope if len(s) > len(path) and s[: len(path)] == path},
            key=lambda s: min(
                int(n.id[1:]) if n.id.startswith("u") else 10**9
                for p, ns in by_scope.items()
                if p[: len(s)] == s
                for n in ns
            ),
        )
        for child in children:
            with graph.subgraph(name="cluster_" + "__".join(child)) as sub:
                cls = classes.get(child)
                sub.attr(
                    label=f"{child[-1]} ({cls})" if cls else child[-1],
                    style="rounded,dashed",
                    color="#888888",
                    fontsize="11",
                    labeljust="l",
                )
                fill(sub, child)

    fill(dot, ())
    widths = _widths(trace.edges, edge_width)
    for i, e in enumerate(trace.edges):
        top = summarize(e.value, number_format, summary)
        bottom = None
        if e.cotangent is not None:
            bottom = summarize(e.cotangent, number_format, summary, grad=True)
            if local_derivatives and e.step:
                local = local_derivative(e, trace.edges, number_format)
                bottom = f"{local} = {bottom}" if local else bottom
        # in a model's top-to-bottom layout a label would take a rank of its own; an xlabel sits beside the edge
        attrs = {"xlabel" if layered else "label": edge_label(top, bottom), "tooltip": _aval(e.value)}
        if e.cotangent is not None:
            attrs["class"] = f"grad-step-{e.step}"
        else:
            attrs.update(style="dashed", color="#999999")
        if i in widths:
            attrs["penwidth"] = f"{widths[i]:.2f}"
        dot.edge(e.src, e.dst, **attrs)
    rows = layer_norms(trace) if norm_table else []
    if len(rows) > 1:  # a table of one row says no more than the edges
        dot.node(
            "gradient_norms", _norm_table(rows, number_format), shape="plaintext", tooltip="per-layer gradient norms"
        )
    return dot


def backprop_graph(
    fun: Callable,
    *,
    argnums: int | Sequence[int] | None = None,
    seed=None,
    max_depth: int | None = None,
    collapse: Sequence[str] = (),
    max_nodes: int = MAX_NODES,
    max_equations: int = MAX_EQUATIONS,
    rankdir: str | None = None,
    number_format: str | Callable = "{:.4g}",
    local_derivatives: bool = False,
    edge_width: str | None = "grad",
    summary: str = "norm",
    norm_table: bool = True,
    output_names: Sequence[str] | None = None,
) -> Callable[..., graphviz.Digraph]:
    """Draw the book's backward picture of a JAX function: forward values above, each edge's cotangent below.

    Arguments:
        fun: a JAX function of positional arguments (pytrees of arrays or numbers).
        argnums: the arguments that get gradients (default: all); the others are drawn as constants.
        seed: the output's cotangent; needed for a non-scalar output (the book's Affine uses ones).
        max_depth: named-scope levels drawn as clusters (None: as deep as ``max_nodes`` allows).
        collapse: scope names always drawn as one node (``["softmax_with_loss"]``).
        max_nodes: node budget; scopes collapse level by level to fit it, else a ValueError names the options.
        max_equations: refuse jaxprs longer than this (compile time; see ``trace_backprop``).
        rankdir: "LR" (the book's), "TB", "RL", "BT"; default LR for small pictures, TB for models (scopes).
        number_format: a format string ("{:.4g}") or a function of a float.
        local_derivatives: write the book's local derivatives (×1, the swapped factor, ×exp(x), ×(−y²))
            before each edge's cotangent.
        edge_width: "grad" (pen width by |cotangent|), "relative" (by |cotangent|/|value|) or None.
        summary: how arrays of more than 4 entries are summarised: "norm" or "range" (min / mean / max).
        norm_table: add the per-layer gradient-norm table when the function has layer scopes.
        output_names: labels of the outputs.

    Returns:
        A function of ``fun``'s arguments that returns the ``graphviz.Digraph``.

    Raises:
        ValueError: for a bad option (at once), or, when called, as ``trace_backprop`` does.
    """
    if rankdir is not None:
        check_rankdir(rankdir)
    if isinstance(number_format, str):
        check_number_format(number_format)
    if edge_width not in EDGE_WIDTHS:
        raise ValueError(f"edge_width must be one of {EDGE_WIDTHS}, got {edge_width!r}")
    if summary not in SUMMARIES:
        raise ValueError(f"summary must be one of {SUMMARIES}, got {summary!r}")
    trace = trace_backprop(
        fun,
        argnums=argnums,
        seed=seed,
        max_depth=max_depth,
        collapse=collapse,
        max_nodes=max_nodes,
        max_equations=max_equations,
        output_names=output_names,
    )

    def build(*args) -> graphviz.Digraph:
        return draw_trace(
            trace(*args),
            rankdir=rankdir,
            number_format=number_format,
            local_derivatives=local_derivatives,
            edge_width=edge_width,
            summary=summary,
            norm_table=norm_table,
        )

    return build
