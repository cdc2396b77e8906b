"""The README's pictures under docs/graphs/ are current: regenerating their DOT gives the committed DOT."""

import pathlib

from graphviz_tools import docs_figures

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "graphs"


def check(stems):
    drawers = docs_figures.figures()
    for stem in stems:
        committed = (DOCS / f"{stem}.dot").read_text()
        fresh = drawers[stem]().source
        assert docs_figures.comparable(fresh) == docs_figures.comparable(committed), (
            f"docs/graphs/{stem}.dot is stale: run `make docs-figures` and commit docs/graphs/"
        )
        assert (DOCS / f"{stem}.png").exists()


def test_book_figures_are_current():
    check([stem for stem in docs_figures.figures(include_models=False)])


def test_model_figures_are_current():
    check([f"{name}_backprop" for name in docs_figures.MODELS])
