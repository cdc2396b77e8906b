"""Draw traced graphs in the book's style and write them to SVG, PNG, PDF, DOT or an HTML viewer.

Operations are round nodes with their symbol (×, +, exp, /); inputs are labelled
by name; each edge carries its forward value above and its backward gradient
below in a second colour; the graph reads left to right.

What the HTML viewer (``graphviz_tools.html_viewer``) reads from a graph, and every drawer here follows:
each node has a ``tooltip``; each edge that carries a gradient has ``class="grad-step-K"`` (K its place in
the backward pass, 0 nearest the output) and its gradient text in ``GRADIENT_COLOR``; layers are
subgraphs named ``cluster_<scope>`` with a ``label``.
"""

from __future__ import annotations

import html
import os
import pathlib
import shutil
import string
import subprocess
import warnings
from typing import Callable

import graphviz
import numpy as np

from graphviz_tools import html_viewer
from graphviz_tools.autograd import SYMBOLS, Var
from jaxnet._src.atomic import atomic_path, check_writable

FORWARD_COLOR = "#1f3b73"
GRADIENT_COLOR = "#d62728"
FORMATS = ("svg", "png", "pdf", "dot", "html")
RANKDIRS = ("TB", "LR", "BT", "RL")
MAX_NODES = 2000  # beyond this dot takes minutes and the drawing is unreadable anyway
DOT_TIMEOUT_S = 60.0
INSTALL_HINT = (
    "Graphviz's 'dot' program is not installed (or not on PATH). Install it, then retry:\n"
    "  Debian/Ubuntu: sudo apt-get install graphviz\n"
    "  Fedora:        sudo dnf install graphviz\n"
    "  macOS:         brew install graphviz\n"
    "or write DOT source instead (format 'dot'), which needs no binary."
)


class GraphvizNotInstalled(RuntimeError):
    """Raised before any rendering work when Graphviz's ``dot`` binary is missing."""


def require_dot() -> str:
    """The path of Graphviz's ``dot``; raises GraphvizNotInstalled (with install commands) if it is missing."""
    path = shutil.which("dot")
    if path is None:
        raise GraphvizNotInstalled(INSTALL_HINT)
    return path


def check_rankdir(rankdir: str) -> str:
    """``rankdir`` if it is one of Graphviz's directions; else a ValueError naming them (shared by every drawer)."""
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    return rankdir


def check_number_format(number_format: str) -> str:
    """``number_format`` if it is a format string with exactly one field that formats a float ("{:.4g}")."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(number_format) if f is not None]
        if len(fields) != 1:
            raise ValueError
        number_format.format(1.5)
    except (ValueError, IndexError, KeyError):
        raise ValueError(
            f"number format must hold one field for a number, such as '{{:.4g}}', got {number_format!r}"
        ) from None
    return number_format


def format_value(value, number_format: str | Callable = "{:.4g}", max_elements: int = 6) -> str:
    """A scalar with ``number_format``; a small array element by element; a large one as its shape."""
    fmt = number_format.format if isinstance(number_format, str) else number_format
    arr = np.asarray(value)
    if arr.size == 1:
        return fmt(arr.item())
    if arr.size > max_elements:
        return f"{arr.dtype}{list(arr.shape)}"
    rows = np.atleast_2d(arr)
    text = "; ".join(", ".join(fmt(v) for v in row) for row in rows.tolist())
    return f"[{text}]"


def summarize(value, number_format: str | Callable = "{:.4g}", max_elements: int = 4) -> str:
    """A value as a person reads it: up to ``max_elements`` numbers in full, else min / mean / max and the norm."""
    fmt = number_format.format if isinstance(number_format, str) else number_format
    arr = np.asarray(value)
    if arr.size <= max_elements or not np.issubdtype(arr.dtype, np.number):
        return format_value(arr, number_format, max_elements=max_elements)
    flat = arr.astype(float).ravel()
    return (
        f"min {fmt(flat.min())}, mean {fmt(flat.mean())}, max {fmt(flat.max())}, "
        f"norm {fmt(float(np.linalg.norm(flat)))}"
    )


class Digraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that Jupyter shows as the interactive viewer (HTML) or as a plain SVG.

    ``graphviz.Digraph`` already offers the SVG through ``_repr_mimebundle_``; this adds ``_repr_html_``
    (the viewer of ``graphviz_tools.html_viewer`` in an iframe), which notebook front ends prefer.
    ``dpi`` is the resolution of PNG output. It is not a graph attribute because Graphviz 2.4x writes an SVG
    drawn with any dpi but 72 scaled past its own viewBox (cut off), so vector output never gets it.
    """

    dpi: float | None = None

    def _repr_svg_(self) -> str:
        return run_dot(self.source, "svg").decode()

    def _repr_html_(self) -> str:
        return html_viewer.notebook_frame(to_html(self))


def to_html(
    graph: graphviz.Digraph | graphviz.Graph, *, title: str | None = None, timeout: float = DOT_TIMEOUT_S
) -> str:
    """The self-contained HTML viewer of ``graph`` (laid out by ``dot``; the page needs no network).

    Arguments:
        graph: the Digraph to show.
        title: the page's title; by default the graph's label, else its name.
        timeout: seconds ``dot`` may run.

    Returns:
        The HTML document.
    """
    label = graph.graph_attr.get("label", "")
    title = title or (label if label and not label.startswith("<") else "") or graph.name or "graph"
    svg = run_dot(graph.source, "svg", timeout).decode()
    return html_viewer.viewer_page(svg, title=title, gradient_color=GRADIENT_COLOR)


def edge_label(top: str, bottom: str | None) -> str:
    """An HTML-like label with ``top`` (forward, dark) over ``bottom`` (backward, red)."""
    rows = f'<tr><td><font color="{FORWARD_COLOR}">{html.escape(top)}</font></td></tr>'
    if bottom is not None:
        rows += f'<tr><td><font color="{GRADIENT_COLOR}">{html.escape(bottom)}</font></td></tr>'
    return f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">{rows}</table>>'


def to_digraph(
    root: Var,
    *,
    rankdir: str = "LR",
    number_format: str | Callable = "{:.4g}",
    show_grad: bool = True,
    title: str | None = None,
) -> Digraph:
    """The traced graph ending at ``root`` as a ``Digraph`` (Jupyter shows it as the HTML viewer).

    Arguments:
        root: the output Var (after ``backward()`` if gradients are to be shown).
        rankdir: "LR" (the book's left to right) or "TB", "RL", "BT".
        number_format: a format string such as "{:.4g}" or a function of a float.
        show_grad: draw the backward gradients under the forward values.
        title: an optional caption.

    Returns:
        The Digraph; ``.source`` is its DOT text.
    """
    check_rankdir(rankdir)
    dot = Digraph(name=root.name or "graph")
    dot.attr(rankdir=rankdir, fontname="Helvetica", nodesep="0.5", ranksep="0.9")
    if title:
        dot.attr(label=title, labelloc="t", fontsize="16")
    dot.attr("node", fontname="Helvetica")
    dot.attr("edge", fontname="Helvetica", fontsize="11", arrowsize="0.7")
    order = root.topological_order()
    ids = {id(v): f"v{i}" for i, v in enumerate(order)}
    if show_grad and root.parents and root.edge_grads is None:
        # drawing zeros would look like real gradients; draw none and say why
        warnings.warn("backward() has not been run on this graph: drawing it without gradients", stacklevel=2)
        show_grad = False
    uses: dict[int, int] = {}  # how many edges leave each Var: a value used twice shows its total on its node
    for v in order:
        for parent in v.parents:
            uses[id(parent)] = uses.get(id(parent), 0) + 1

    def label_of(v: Var, cotangent) -> str:
        value = format_value(v.value, number_format)
        top = f"{v.name} = {value}" if v.name and v.op else value
        gradient = show_grad and not v.constant  # a number written in the expression has no use for one
        return edge_label(top, format_value(cotangent, number_format) if gradient else None)

    names = {id(v): v.name or (v.label if v.constant else ids[id(v)]) for v in order}
    steps = _backward_steps(order, show_grad)
    for v in order:
        text = v.label
        if show_grad and not v.constant and uses.get(id(v), 0) > 1:
            text += f"\\n(grad {format_value(v.grad, number_format)})"
        tooltip = _tooltip(v, names, number_format, show_grad)
        if v.op:
            dot.node(
                ids[id(v)],
                text,
                shape="circle",
                style="filled",
                fillcolor="#f2f2f2",
                fixedsize="false",
                width="0.6",
                tooltip=tooltip,
            )
        else:
            dot.node(
                ids[id(v)], text, shape="plaintext", fontcolor="#555555" if v.constant else "black", tooltip=tooltip
            )
        for i, parent in enumerate(v.parents):
            # the edge carries its own cotangent, not the parent's total over all its uses
            cotangent = v.edge_grads[i] if v.edge_grads is not None else parent.grad
            dot.edge(ids[id(parent)], ids[id(v)], label=label_of(parent, cotangent), **steps.get((id(v), i), {}))
    dot.node("output", root.name or "out", shape="plaintext", tooltip=f"the output {names[id(root)]}")
    dot.edge(ids[id(root)], "output", label=label_of(root, root.grad), **steps.get((None, 0), {}))
    return dot


def _backward_steps(order: list[Var], show_grad: bool) -> dict:
    """``{(id(child), parent index): {"class": "grad-step-K"}}`` for every edge that shows a gradient.

    K counts the edges in the order backpropagation fills them: the edge into the output first (its key is
    ``(None, 0)``), then each operation's input edges, operations taken from the output back to the inputs.
    """
    if not show_grad:
        return {}
    keyed = [(None, 0)] + [(id(v), i) for v in reversed(order) for i, p in enumerate(v.parents) if not p.constant]
    return {key: {"class": f"grad-step-{k}"} for k, key in enumerate(keyed)}


def _tooltip(v: Var, names: dict, number_format, show_grad: bool) -> str:
    """What hovering a Var's node shows: its equation, the source file:line, shape and dtype, value and gradient."""
    name = names[id(v)]
    args = [names[id(p)] for p in v.parents]
    symbol = SYMBOLS.get(v.op, v.op).replace("\n", "")
    if not v.op:
        lines = [f"{name} (constant)" if v.constant else f"{name} (input)"]
    elif len(args) == 2 and v.op in ("add", "sub", "mul", "div", "pow", "matmul"):
        lines = [f"{name} = {args[0]} {symbol} {args[1]}"]
    else:
        lines = [f"{name} = {symbol}({', '.join(args)})"]
    if v.site:
        lines.append(v.site)
    lines.append(f"shape {tuple(v.value.shape)} {v.value.dtype}")
    lines.append(f"value {summarize(v.value, number_format)}")
    if show_grad and not v.constant:
        lines.append(f"grad {summarize(v.grad, number_format)}")
    return "\\n".join(lines)  # DOT's escape: dot writes a line break into the SVG's tooltip


def count_nodes(source: str) -> int:
    """Roughly how many nodes a DOT source declares: statements ``id [attrs]`` that are not edges.

    It reads the one-statement-per-line DOT the graphviz package writes; good enough for a budget.
    """
    count = 0
    for line in source.splitlines():
        head, bracket, _ = line.strip().partition("[")
        head = head.strip()
        if bracket and head and head not in ("graph", "node", "edge") and "->" not in head and "--" not in head:
            count += 1
    return count


def run_dot(source: str, fmt: str, timeout: float = DOT_TIMEOUT_S, dpi: float | None = None) -> bytes:
    """Lay out ``source`` with ``dot -T fmt``, killed after ``timeout`` seconds so a huge graph cannot hang.

    ``dpi`` sets the resolution of PNG output. (The graphviz package's ``pipe`` has no timeout in the
    installed version, so dot is run directly.)
    """
    resolution = [f"-Gdpi={dpi:g}"] if dpi and fmt == "png" else []
    try:
        done = subprocess.run(
            [require_dot(), f"-T{fmt}", *resolution], input=source.encode(), capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise TimeoutError(
            f"dot took more than {timeout:g} s; pass a larger timeout= to render, or draw less "
            "(collapse= scopes, max_depth=)"
        ) from None
    if done.returncode != 0:
        raise RuntimeError(f"dot failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def render(
    graph: Var | graphviz.Digraph | graphviz.Graph,
    path: str | os.PathLike,
    *,
    max_nodes: int = MAX_NODES,
    timeout: float = DOT_TIMEOUT_S,
    **options,
) -> pathlib.Path:
    """Write a graph to ``path``; the extension picks the format: .svg, .png, .pdf, .dot/.gv (the source), or
    .html (the interactive viewer of ``graphviz_tools.html_viewer``: one file that opens without a network).

    Arguments:
        graph: a traced Var (drawn with ``to_digraph(graph, **options)``) or a ready Digraph.
        path: the output file.
        max_nodes: refuse to lay out a graph with more nodes than this (DOT source is always written).
        timeout: seconds ``dot`` may run before it is stopped.
        **options: passed to ``to_digraph`` for a Var.

    Returns:
        The written path.

    Raises:
        ValueError: for an unknown extension, or more than ``max_nodes`` nodes.
        TimeoutError: when ``dot`` runs longer than ``timeout``.
        GraphvizNotInstalled: for svg/png/pdf when ``dot`` is missing (checked before any work).
        OSError: ``path`` cannot be written (a read-only file or folder; checked before any work).
    """
    path = pathlib.Path(path)
    fmt = path.suffix.lower().lstrip(".")
    fmt = "dot" if fmt == "gv" else fmt
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the format from {path.name!r}: use one of .svg, .png, .pdf, .dot, .html")
    if fmt != "dot":
        require_dot()
    check_writable(path, "a graph")  # before the drawing and the layout, which may take a while
    digraph = to_digraph(graph, **options) if isinstance(graph, Var) else graph
    if fmt == "dot":
        data = digraph.source.encode()
    else:
        nodes = count_nodes(digraph.source)
        if nodes > max_nodes:
            raise ValueError(
                f"the graph has {nodes} nodes, more than max_nodes={max_nodes}: pass a larger "
                "max_nodes= to render, or draw less (jaxpr_graph's collapse= scopes or max_depth=)"
            )
        data = (
            to_html(digraph, timeout=timeout).encode()
            if fmt == "html"
            else run_dot(digraph.source, fmt, timeout, getattr(digraph, "dpi", None))
        )
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path
