# Set-up and the two everyday commands. `make demo` and `make test` work on a fresh machine.
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build of torch; override with e.g. TORCH="torch" for a CUDA build.
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/graph-engine run workflows/txt2img.json --threads 1 --output-dir output

test: $(STAMP)
	$(PY) -m pytest -n 2

.PHONY: install demo test
