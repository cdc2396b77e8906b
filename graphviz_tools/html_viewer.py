"""The self-contained HTML viewer: one file, the SVG drawn by Graphviz's ``dot`` with the page's CSS and JS inline.

The page needs no network access: pan and zoom, click a layer (a Graphviz cluster) to collapse or expand
it, double-click to drill into it (a breadcrumb leads back), search the nodes, hover for a node's tooltip,
and step through the backward pass (edges of class ``grad-step-K`` reveal their gradient text, drawn in
the gradient colour, in the order K). The page itself lives in ``graphviz_tools/viewer/`` (HTML, CSS, JS).
"""

from __future__ import annotations

import html
import json
from importlib import resources

_PARTS = ("viewer.html", "viewer.css", "viewer.js")


def _read(name: str) -> str:
    return resources.files("graphviz_tools").joinpath("viewer", name).read_text(encoding="utf-8")


def _inline_svg(svg: str) -> str:
    """The ``<svg>`` element of dot's output, without the XML prolog and DOCTYPE that HTML does not take."""
    start = svg.find("<svg")
    if start < 0:
        raise ValueError("no <svg> element in the SVG text: it should come from `dot -Tsvg`")
    return svg[start:]


def viewer_page(svg: str, *, title: str, gradient_color: str) -> str:
    """The viewer page around an SVG laid out by ``dot``.

    Arguments:
        svg: the output of ``dot -Tsvg`` (XML prolog and all).
        title: the page's title, shown in its toolbar.
        gradient_color: the colour of the gradient text that the step-through reveals ("#d62728").

    Returns:
        The HTML document as a string; it loads nothing from anywhere.
    """
    page, css, js = (_read(name) for name in _PARTS)
    # "</" cannot end the JSON's <script> element early once escaped
    config = json.dumps({"gradientColor": gradient_color}).replace("</", "<\\/")
    parts = {
        "{{TITLE}}": html.escape(title),
        "{{CSS}}": css,
        "{{CONFIG}}": config,
        "{{JS}}": js,
        "{{SVG}}": _inline_svg(svg),
    }
    for key, value in parts.items():  # the SVG last: its text is never searched for placeholders
        page = page.replace(key, value)
    return page


def notebook_frame(page: str, height: int = 600) -> str:
    """``page`` in an iframe for a notebook output: its scripts and styles stay out of the notebook's own."""
    return (
        f'<iframe srcdoc="{html.escape(page, quote=True)}" style="width: 100%; height: {height}px; '
        'border: 1px solid #ddd;"></iframe>'
    )
