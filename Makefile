# Two entry points a new user needs: `make demo` and `make test` (which also builds the docs).
# Each creates .venv with the interpreter named by PYTHON and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed

.PHONY: demo test docs venv clean app browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned to the CPU wheel, so nothing later resolves another build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	# The onnx and app extras too: the test suite checks ONNX export and onnxruntime inference,
	# and drives `audiosr app` in a browser.
	$(BIN)/python -m pip install --quiet -e ".[test,onnx,app]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/audiosr demo -o demo-output --force

# `audiosr app` on http://127.0.0.1:8000/ (this computer only).
app: $(STAMP)
	$(BIN)/audiosr app

# Headless Chromium and its driver for the browser test of `audiosr app`: Debian's packages,
# installed with apt-get only when `chromium` or `chromedriver` is missing (root, or sudo).
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver; \
	fi

# The test suite, then the documentation (so CI, which runs `make test`, builds it too).
# AUDIOSR_REQUIRE_BROWSER=1: the browser test fails, instead of skipping, when it cannot run.
test: $(STAMP) browser
	AUDIOSR_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q
	$(MAKE) docs

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,onnx,app,docs]"
	touch $(DOCS_STAMP)

# Sphinx HTML documentation in docs/_build/html (offline; warnings are errors; runs the gallery examples).
docs: $(DOCS_STAMP)
	MPLBACKEND=Agg $(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) demo-output build *.egg-info
