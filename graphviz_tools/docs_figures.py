"""Write the README's backprop pictures: the book's figures from ``Var`` and from plain JAX, and the seeds' models.

    python -m graphviz_tools.docs_figures                      # docs/graphs/*.dot and *.png (make docs-figures)
    python -m graphviz_tools.docs_figures --out out/graphs --format svg

Each figure is written as DOT source next to the picture; ``tests/graphviz_tools/test_docs_figures.py``
regenerates the DOT and compares it with the committed one, so the pictures cannot go stale.
"""

from __future__ import annotations

import argparse
import functools
import pathlib
import re
from typing import Callable

import graphviz

from graphviz_tools import examples, examples_jax
from graphviz_tools.render import render, to_digraph

BOOK = ("apple", "apple_orange", "sigmoid", "affine", "softmax_loss", "two_layer")
MODELS = ("mlp", "cnn")


def _draw_var(name: str) -> graphviz.Digraph:
    return to_digraph(examples.EXAMPLES[name]())


def figures(include_models: bool = True) -> dict[str, Callable[[], graphviz.Digraph]]:
    """File stem -> a function drawing that figure (models last: they take seconds to trace)."""
    drawers: dict[str, Callable[[], graphviz.Digraph]] = {}
    for name in BOOK:
        drawers[f"book_{name}_var"] = functools.partial(_draw_var, name)
        drawers[f"book_{name}_jax"] = functools.partial(examples_jax.draw, name)
    if include_models:
        for name in MODELS:
            drawers[f"{name}_backprop"] = functools.partial(examples_jax.draw, name)
    return drawers


def comparable(source: str) -> str:
    """DOT source without tooltips (they name source lines, which move when unrelated code changes)."""
    return re.sub(r' tooltip="(?:[^"\\]|\\.)*"', "", source)


def write(out: pathlib.Path, fmt: str = "png", include_models: bool = True) -> list[pathlib.Path]:
    """Write every figure as ``<stem>.dot`` and ``<stem>.<fmt>`` under ``out``; returns the pictures' paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, draw in figures(include_models).items():
        graph = draw()
        render(graph, out / f"{stem}.dot")
        written.append(render(graph, out / f"{stem}.{fmt}"))
    return written


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m graphviz_tools.docs_figures",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("docs/graphs"))
    parser.add_argument("--format", choices=("png", "svg", "pdf"), default="png")
    parser.add_argument("--book-only", action="store_true", help="skip the MLP and CNN pictures")
    args = parser.parse_args(argv)
    for path in write(args.out, args.format, not args.book_only):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
