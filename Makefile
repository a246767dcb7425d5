# Set-up and the two everyday commands. `make demo` and `make test` work on a fresh machine.
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build of torch; override with e.g. TORCH="torch" for a CUDA build.
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed
# The browser editor (server/web): built with npm when there is one; the server says how otherwise.
WEB       := server/web
WEB_BUILD := $(WEB)/dist/index.html
WEB_SRC   := $(WEB)/package.json $(WEB)/package-lock.json $(WEB)/index.html $(WEB)/vite.config.ts \
             $(WEB)/tsconfig.json $(shell find $(WEB)/src -type f 2>/dev/null)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

$(WEB_BUILD): $(WEB_SRC)
	cd $(WEB) && npm ci --no-audit --no-fund && npm run build

# The editor is optional for the Python parts: without npm, say so and go on.
web-if-npm:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(WEB_BUILD); \
	else echo "npm not found: the browser editor is not built (install Node.js 20+, then 'make web')"; fi

web: $(WEB_BUILD)

install: $(STAMP) web-if-npm

demo: install
	$(VENV)/bin/graph-engine run workflows/txt2img.json --threads 1 --output-dir output

test: install
	$(PY) -m pytest -n 2

.PHONY: install web web-if-npm demo test
