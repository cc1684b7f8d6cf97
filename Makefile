# Two entry points a new user needs: `make demo` and `make test`.
# Each creates .venv with the interpreter named by PYTHON and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test docs venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned to the CPU wheel, so nothing later resolves another build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/audiosr demo -o demo-output --force

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Sphinx HTML documentation in docs/_build/html (offline; warnings are errors).
docs: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,docs]"
	MPLBACKEND=Agg $(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) demo-output build *.egg-info
