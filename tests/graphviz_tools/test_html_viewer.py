"""The HTML viewer, in a real browser: the system's Chromium driven by Playwright (never a downloaded browser).

Expected values come from the DOT source (which cluster holds which node), from the Var graph's own
structure (how many edges carry a gradient) and from NumPy (the book's formulas for the numbers shown).
"""

import re
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from graphviz_tools import examples, jaxpr_graph, render, to_digraph
from jaxnet import zoo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(
    CHROMIUM is None or shutil.which("dot") is None,
    reason="the browser tests need Chromium and Graphviz's dot: make chromium graphviz "
    "(or: apt-get install chromium graphviz)",
)

VISIBLE_GRADIENTS = """() => Array.from(document.querySelectorAll('g.edge text'))
    .filter(t => t.getAttribute('fill') === '#d62728' && getComputedStyle(t).visibility !== 'hidden')
    .map(t => t.textContent)"""
VISIBLE_NODES = (
    "() => Array.from(document.querySelectorAll('g.node')).filter(n => n.getBoundingClientRect().width > 0)"
    ".map(n => n.querySelector('title').textContent)"
)


def clusters_of(source: str) -> dict[str, tuple[str, set[str]]]:
    """{cluster name: (label, ids of the nodes inside it, nested ones too)} read from the graphviz package's DOT."""
    found, stack = {}, []
    for line in source.splitlines():
        line = line.strip()
        if match := re.match(r"subgraph (\S+) \{", line):
            stack.append(match.group(1))
            found[stack[-1]] = ["", set()]
        elif line == "}" and stack:
            stack.pop()
        elif stack and "->" not in line and (match := re.match(r"(\w+) \[", line)):
            for name in stack:
                found[name][1].add(match.group(1))
        elif stack and (match := re.search(r'(?:^|\s)label=(?:"([^"]*)"|(\S+))', line)) and "[" not in line:
            found[stack[-1]][0] = match.group(1) or match.group(2)
    return {name: (label, members) for name, (label, members) in found.items()}


def two_layer_numbers():
    """The two-layer net of examples.two_layer computed with NumPy: the cotangent into softmax-with-loss (y - t)
    and dL/dW1 by the book's backprop formulas."""
    x = np.array([[1.0, 0.5]])
    w1, b1 = np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]), np.array([0.1, 0.2, 0.3])
    w2, b2 = np.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]), np.array([0.1, 0.2])
    t = np.array([[0.0, 1.0]])
    h = 1 / (1 + np.exp(-(x @ w1 + b1)))
    a = h @ w2 + b2
    y = np.exp(a) / np.exp(a).sum()
    da = y - t
    dw1 = x.T @ ((da @ w2.T) * h * (1 - h))
    return da, dw1


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The viewer files the tests open: a Var graph (two_layer) and the jaxpr of a jaxnet MLP (layer clusters)."""
    folder = tmp_path_factory.mktemp("viewer")
    model = zoo.mlp()
    params = model.init(jax.random.key(0), (28, 28))
    mlp = jaxpr_graph(lambda p, x: model.apply(p, x))(params, jnp.ones((2, 28, 28)))
    two_layer, softmax_loss = examples.two_layer(), examples.softmax_loss()
    return {
        "two_layer": (render(two_layer, folder / "two_layer.html"), two_layer),
        "softmax_loss": (render(softmax_loss, folder / "softmax_loss.html"), softmax_loss),
        "mlp": (render(mlp, folder / "mlp.html"), mlp),
    }


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed: pip install -e '.[dev]'"
    )
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed: make chromium (or apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser):
    """open_page(path) -> a loaded page; the test fails on any script error or any request beyond the file."""
    opened = []

    def open_(path):
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        errors, requests = [], []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(path.as_uri())
        opened.append((page, errors, requests, path.as_uri()))
        return page

    yield open_
    for page, errors, requests, url in opened:
        assert errors == [], errors
        assert requests == [url], f"the page loaded more than itself: {requests}"
        page.close()


@pytest.mark.needs_dot
def test_html_is_one_self_contained_file(pages):
    path, var = pages["two_layer"]
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>") and text.count("<svg") == 1
    assert not re.search(r"<(script|link|img|iframe)[^>]*(src|href)=", text)  # nothing fetched
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls  # XML namespaces only
    assert "W1 (input)" in text and 'class="edge grad&#45;step&#45;0"' in text


@pytest.mark.needs_dot
def test_every_graph_displays_inline_in_jupyter():
    from IPython.core.formatters import DisplayFormatter

    from graphviz_tools import plot_model

    formatter = DisplayFormatter()  # what a notebook receives for an expression's value
    graphs = {
        "to_digraph": to_digraph(examples.apple()),
        "plot_model": plot_model(zoo.mlp(), (28, 28)),
        "jaxpr_graph": jaxpr_graph(jnp.sin)(1.0),
        "Var": examples.apple(),
    }
    for name, graph in graphs.items():
        data, _ = formatter.format(graph)
        assert "<svg" in data["image/svg+xml"], name
    for name in ("to_digraph", "plot_model"):  # and as the interactive viewer, which notebooks prefer
        frame = formatter.format(graphs[name])[0]["text/html"]
        assert frame.startswith("<iframe srcdoc=") and "step-slider" in frame and "&lt;svg" in frame


@needs_browser
def test_step_through_reveals_the_cotangents_in_backward_order(pages, open_page):
    path, var = pages["two_layer"]
    page = open_page(path)
    order = var.topological_order()
    gradient_edges = 1 + sum(not p.constant for v in order for p in v.parents)  # + the edge into the output
    assert len(page.evaluate(VISIBLE_GRADIENTS)) == gradient_edges  # at first the whole picture
    assert page.inner_text("#step-label") == f"step {gradient_edges} / {gradient_edges}"
    page.click("#step-reset")
    assert page.evaluate(VISIBLE_GRADIENTS) == []
    da, _ = two_layer_numbers()
    for k in range(1, 4):
        page.click("#step-next")
        shown = page.evaluate(VISIBLE_GRADIENTS)
        assert len(shown) == k, shown
    # the first two steps, as the book walks it: dL/dL = 1, then y - t into Softmax-with-Loss
    assert "1" in shown
    assert "[" + ", ".join(f"{v:.4g}" for v in da.ravel()) + "]" in shown
    page.click("#step-back")
    assert len(page.evaluate(VISIBLE_GRADIENTS)) == 2
    page.locator("#step-slider").fill("7")
    assert len(page.evaluate(VISIBLE_GRADIENTS)) == 7 and page.inner_text("#step-label").startswith("step 7 ")

    page = open_page(pages["softmax_loss"][0])  # the book's Softmax-with-Loss: the score's gradient is y - t
    a, t = np.array([0.3, 2.9, 4.0]), np.array([0.0, 0.0, 1.0])
    y_minus_t = np.exp(a) / np.exp(a).sum() - t
    page.click("#step-reset")
    page.click("#step-next")
    assert page.evaluate(VISIBLE_GRADIENTS) == ["1"]
    page.click("#step-next")
    assert sorted(page.evaluate(VISIBLE_GRADIENTS)) == ["1", "[" + ", ".join(f"{v:.4g}" for v in y_minus_t) + "]"]


@needs_browser
def test_hover_shows_the_node_tooltip(pages, open_page):
    page = open_page(pages["two_layer"][0])
    assert page.is_hidden("#tooltip")
    page.locator("g.node", has=page.locator("text", has_text=re.compile(r"^W1$"))).hover()
    _, dw1 = two_layer_numbers()
    tip = page.inner_text("#tooltip")
    assert page.is_visible("#tooltip")
    assert tip.splitlines()[:2] == ["W1 (input)", "shape (2, 3) float64"]
    assert f"grad min {dw1.min():.4g}, mean {dw1.mean():.4g}, max {dw1.max():.4g}" in tip
    page.locator("g.node", has=page.locator("text", has_text=re.compile(r"^sigmoid$"))).hover()
    assert page.inner_text("#tooltip").startswith("v5 = sigmoid(v4)")


@needs_browser
def test_search_highlights_the_matching_nodes(pages, open_page):
    path, var = pages["two_layer"]
    page = open_page(path)
    page.fill("#search", "dot")
    matmuls = sum(v.op == "matmul" for v in var.topological_order())
    assert page.locator("g.node.match").count() == matmuls == 2 and page.inner_text("#search-count") == "2 nodes"
    page.fill("#search", "")
    assert page.locator("g.node.match").count() == 0 and page.inner_text("#search-count") == ""

    path, graph = pages["mlp"]
    page = open_page(path)
    clusters = clusters_of(graph.source)
    name, (label, members) = next((n, c) for n, c in clusters.items() if c[0].endswith("dense_1"))
    own_label = set(re.findall(r"^\s*(\w+) \[label=\"[^\"]*dense_1", graph.source, re.M))  # p['dense_1']['w'], ...
    page.fill("#search", "dense_1")
    matched = {
        page.locator("g.node.match title").nth(i).text_content() for i in range(page.locator("g.node.match").count())
    }
    assert matched == members | own_label and len(own_label) == 2
    assert page.inner_text("#search-count") == f"{len(matched)} nodes"


@needs_browser
def test_collapse_and_drill_into_a_layer(pages, open_page):
    path, graph = pages["mlp"]
    page = open_page(path)
    clusters = clusters_of(graph.source)
    every = set(page.evaluate(VISIBLE_NODES))
    assert len(every) == page.locator("g.node").count()
    for suffix in ("dense_1", "dense"):
        name, (label, members) = next((n, c) for n, c in clusters.items() if c[0].endswith(suffix))
        layer = page.locator("g.cluster", has=page.locator("title", has_text=re.compile(f"^{name}$")))
        layer.locator("text", has_text=re.compile(f"^{label}$")).click()  # collapse: its nodes go
        assert set(page.evaluate(VISIBLE_NODES)) == every - members
        assert layer.locator("text.collapsed-note").text_content() == f"{len(members)} nodes (click to expand)"
        layer.locator("text", has_text=re.compile(f"^{label}$")).click()  # and come back
        assert set(page.evaluate(VISIBLE_NODES)) == every
    page.click("#collapse-all")  # only what no layer holds stays
    assert set(page.evaluate(VISIBLE_NODES)) == every - set().union(*(m for _, m in clusters.values()))
    page.click("#expand-all")
    assert set(page.evaluate(VISIBLE_NODES)) == every
    full = [float(v) for v in page.get_attribute("svg", "viewBox").split()]
    layer.locator("text", has_text=re.compile(f"^{label}$")).dblclick()  # drill into "dense"
    assert page.inner_text("#breadcrumb") == f"All \u203a {label}"
    inner = [float(v) for v in page.get_attribute("svg", "viewBox").split()]
    assert inner[2] < full[2] and inner[3] < full[3]
    assert set(page.evaluate(VISIBLE_NODES)) == every  # drilling expands, it hides nothing
    page.click("#breadcrumb a")
    assert page.inner_text("#breadcrumb") == "All"
    assert [float(v) for v in page.get_attribute("svg", "viewBox").split()] == full


@needs_browser
def test_pan_and_zoom(pages, open_page):
    page = open_page(pages["mlp"][0])
    view = lambda: [float(v) for v in page.get_attribute("svg", "viewBox").split()]  # noqa: E731
    full = view()
    page.mouse.move(600, 400)
    page.mouse.wheel(0, -300)  # zoom in around the pointer
    zoomed = view()
    assert zoomed[2] < full[2] and zoomed[2] / zoomed[3] == pytest.approx(full[2] / full[3])
    page.mouse.move(600, 400)
    page.mouse.down()
    page.mouse.move(500, 300, steps=5)
    page.mouse.up()
    panned = view()
    assert panned[2:] == zoomed[2:] and panned[0] > zoomed[0] and panned[1] > zoomed[1]  # dragged left and up
    page.click("#zoom-fit")
    assert view() == full


@needs_browser
def test_the_notebook_frame_runs_the_viewer(browser):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.set_content("<html><body>" + to_digraph(examples.apple())._repr_html_() + "</body></html>")
    frame = page.frame_locator("iframe")
    assert frame.locator("#step-label").inner_text() == "step 5 / 5"  # apple: 4 input edges + the output's
    frame.locator("#step-reset").click()
    frame.locator("#step-next").click()
    assert frame.locator("#step-label").inner_text() == "step 1 / 5" and errors == []
    page.close()
