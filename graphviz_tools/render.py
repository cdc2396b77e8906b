"""Draw traced graphs in the book's style and write them to SVG, PNG, PDF or DOT.

Operations are round nodes with their symbol (×, +, exp, /); inputs are labelled
by name; each edge carries its forward value above and its backward gradient
below in a second colour; the graph reads left to right.
"""
from __future__ import annotations

import html
import os
import pathlib
import shutil
import warnings
from typing import Callable

import graphviz
import numpy as np

from graphviz_tools.autograd import Var
from jaxnet._src.atomic import atomic_path

FORWARD_COLOR = "#1f3b73"
GRADIENT_COLOR = "#d62728"
FORMATS = ("svg", "png", "pdf", "dot")
INSTALL_HINT = ("Graphviz's 'dot' program is not installed (or not on PATH). Install it, then retry:\n"
                "  Debian/Ubuntu: sudo apt-get install graphviz\n"
                "  Fedora:        sudo dnf install graphviz\n"
                "  macOS:         brew install graphviz\n"
                "or write DOT source instead (format 'dot'), which needs no binary.")


class GraphvizNotInstalled(RuntimeError):
    """Raised before any rendering work when Graphviz's ``dot`` binary is missing."""


def require_dot() -> str:
    """The path of Graphviz's ``dot``; raises GraphvizNotInstalled (with install commands) if it is missing."""
    path = shutil.which("dot")
    if path is None:
        raise GraphvizNotInstalled(INSTALL_HINT)
    return path


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


def edge_label(top: str, bottom: str | None) -> str:
    """An HTML-like label with ``top`` (forward, dark) over ``bottom`` (backward, red)."""
    rows = f'<tr><td><font color="{FORWARD_COLOR}">{html.escape(top)}</font></td></tr>'
    if bottom is not None:
        rows += f'<tr><td><font color="{GRADIENT_COLOR}">{html.escape(bottom)}</font></td></tr>'
    return f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">{rows}</table>>'


def to_digraph(root: Var, *, rankdir: str = "LR", number_format: str | Callable = "{:.4g}",
               show_grad: bool = True, title: str | None = None) -> graphviz.Digraph:
    """The traced graph ending at ``root`` as a ``graphviz.Digraph`` (it displays inline in Jupyter).

    Arguments:
        root: the output Var (after ``backward()`` if gradients are to be shown).
        rankdir: "LR" (the book's left to right) or "TB", "RL", "BT".
        number_format: a format string such as "{:.4g}" or a function of a float.
        show_grad: draw the backward gradients under the forward values.
        title: an optional caption.

    Returns:
        The Digraph; ``.source`` is its DOT text.
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be one of LR, TB, RL, BT, got {rankdir!r}")
    dot = graphviz.Digraph(name=root.name or "graph")
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
    uses = {}  # how many edges leave each Var: a value used twice shows its total on its node
    for v in order:
        for parent in v.parents:
            uses[id(parent)] = uses.get(id(parent), 0) + 1

    def label_of(v: Var, cotangent) -> str:
        value = format_value(v.value, number_format)
        top = f"{v.name} = {value}" if v.name and v.op else value
        gradient = show_grad and not v.constant  # a number written in the expression has no use for one
        return edge_label(top, format_value(cotangent, number_format) if gradient else None)

    for v in order:
        text = v.label
        if show_grad and not v.constant and uses.get(id(v), 0) > 1:
            text += f"\\n(grad {format_value(v.grad, number_format)})"
        if v.op:
            dot.node(ids[id(v)], text, shape="circle", style="filled", fillcolor="#f2f2f2",
                     fixedsize="false", width="0.6")
        else:
            dot.node(ids[id(v)], text, shape="plaintext", fontcolor="#555555" if v.constant else "black")
        for i, parent in enumerate(v.parents):
            # the edge carries its own cotangent, not the parent's total over all its uses
            cotangent = v.edge_grads[i] if v.edge_grads is not None else parent.grad
            dot.edge(ids[id(parent)], ids[id(v)], label=label_of(parent, cotangent))
    dot.node("output", root.name or "out", shape="plaintext")
    dot.edge(ids[id(root)], "output", label=label_of(root, root.grad))
    return dot


def render(graph: Var | graphviz.Digraph | graphviz.Graph, path: str | os.PathLike, **options) -> pathlib.Path:
    """Write a graph to ``path``; the extension picks the format (.svg, .png, .pdf, or .dot/.gv for source).

    Arguments:
        graph: a traced Var (drawn with ``to_digraph(graph, **options)``) or a ready Digraph.
        path: the output file.
        **options: passed to ``to_digraph`` for a Var.

    Returns:
        The written path.

    Raises:
        ValueError: for an unknown extension.
        GraphvizNotInstalled: for svg/png/pdf when ``dot`` is missing (checked before any work).
    """
    path = pathlib.Path(path)
    fmt = path.suffix.lower().lstrip(".")
    fmt = "dot" if fmt == "gv" else fmt
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the format from {path.name!r}: use one of .svg, .png, .pdf, .dot")
    if fmt != "dot":
        require_dot()
    digraph = to_digraph(graph, **options) if isinstance(graph, Var) else graph
    data = digraph.source.encode() if fmt == "dot" else digraph.pipe(format=fmt)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path
