# Two entry points a new user needs: `make demo` and `make test` (which also builds the docs).
# Each creates .venv with the interpreter named by PYTHON and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed

.PHONY: demo test docs venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned to the CPU wheel, so nothing later resolves another build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	# The onnx extra too: the test suite checks ONNX export and onnxruntime inference.
	$(BIN)/python -m pip install --quiet -e ".[test,onnx]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/audiosr demo -o demo-output --force

# The test suite, then the documentation (so CI, which runs `make test`, builds it too).
test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(MAKE) docs

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,onnx,docs]"
	touch $(DOCS_STAMP)

# Sphinx HTML documentation in docs/_build/html (offline; warnings are errors; runs the gallery examples).
docs: $(DOCS_STAMP)
	MPLBACKEND=Agg $(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) demo-output build *.egg-info
