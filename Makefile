# make demo: set everything up and run the tour on the embedded data.
# make test: set everything up and run the test suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
OUT    ?= out

.PHONY: demo test lint notebooks notebooks-run notebook-figures docs-figures test-slow test-all install graphviz chromium bench-extra clean

install: $(STAMP) graphviz chromium

# The virtual environment is rebuilt whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Graphviz's `dot` renders the graphs; install it with apt when we are root, else say how.
graphviz:
	@if command -v dot >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Graphviz (apt-get install graphviz) ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
	else \
		echo "Graphviz's 'dot' program is missing. Install it, then rerun make:"; \
		echo "  Debian/Ubuntu: sudo apt-get install graphviz"; \
		echo "  Fedora:        sudo dnf install graphviz"; \
		echo "  macOS:         brew install graphviz"; \
		exit 1; \
	fi

# Chromium runs the HTML viewer's browser tests (driven by Playwright, pointed at this browser; Playwright's
# own browser download is never used); install it with apt when we are root, else say how. The tests skip
# without it.
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Chromium (apt-get install chromium) ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "Chromium is missing, so the HTML viewer's browser tests will be skipped. To run them:"; \
		echo "  Debian/Ubuntu: sudo apt-get install chromium"; \
	fi

demo: install
	$(BIN)/python -m jaxnet tour
	$(BIN)/python -m graphviz_tools apple --format svg --out $(OUT)/graphs
	$(BIN)/python -m graphviz_tools apple --format png --out $(OUT)/graphs
	$(BIN)/python -m graphviz_tools apple_orange --format svg --out $(OUT)/graphs
	$(BIN)/python -m graphviz_tools apple_orange --format png --out $(OUT)/graphs
	$(BIN)/python -m graphviz_tools two_layer --format html --out $(OUT)/graphs
	@echo "Backprop graphs of the book's apple examples are in $(OUT)/graphs/ (open the .svg in a browser);"
	@echo "$(OUT)/graphs/two_layer.html is the interactive viewer (search, collapse, step through the backward pass)."
	$(BIN)/python -m graphviz_tools.docs_figures --out $(OUT)/graphs --format png
	$(BIN)/python -m graphviz_tools backprop mlp --format svg --out $(OUT)/graphs
	$(BIN)/python -m graphviz_tools backprop cnn --format svg --out $(OUT)/graphs
	@echo "The book's figures from Var (book_*_var) and from plain JAX (book_*_jax), and the MLP's and CNN's backward graphs, are in $(OUT)/graphs/."
	$(BIN)/python -m jaxnet train --model mlp --dataset digits --epochs 40 --out $(OUT)/mlp
	$(BIN)/python -m jaxnet train --model cnn --dataset digits --epochs 15 --out $(OUT)/cnn
	$(BIN)/python -m benchmarks.grad_speed --quick --plot $(OUT)/grad_speed.png --json $(OUT)/grad_speed.json
	$(BIN)/python -m benchmarks.train_speed --quick --plot $(OUT)/train_speed.png --json $(OUT)/train_speed.json
	@echo "Outputs are in $(OUT)/. Install the benchmark peers (Keras 3, PyTorch) with: make bench-extra"

# Lint (ruff check, ruff format --check, mypy), then the default suite (slow tests excluded), two workers for the two cores.
test: install lint
	$(BIN)/python -m pytest -n 2 -q

lint: install
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/python -m mypy

test-slow: install
	$(BIN)/python -m pytest -n 2 -q -m slow

test-all: install
	$(BIN)/python -m pytest -n 2 -q -m "slow or not slow"

# The course as notebooks: open them in JupyterLab, or execute them (as make test does).
notebooks: install
	$(BIN)/python -m pip install --quiet -e '.[dev,notebooks]'
	$(BIN)/python -m jupyter lab notebooks

notebooks-run: install
	$(BIN)/python -m pytest -q tests/test_notebooks.py

notebook-figures: install
	$(BIN)/python notebooks/export_figures.py

# The README's backprop pictures (docs/graphs/*.png, with their DOT, which a test keeps current).
docs-figures: install
	$(BIN)/python -m graphviz_tools.docs_figures --out docs/graphs --format png

# Optional peers for benchmarks/train_speed (Keras 3 on JAX, PyTorch CPU).
bench-extra: install
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache
