# govdata — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := src/govdata/web/static/vendor
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install assets serve lint bench clean

demo: install assets
	$(BIN)/govdata db upgrade
	$(BIN)/govdata demo load
	@echo "govdata 正在 http://$(HOST):$(PORT) 上运行(Ctrl+C 停止)"
	$(BIN)/govdata serve --host $(HOST) --port $(PORT)

test: install assets
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Front-end assets come from the npm registry at build time and are never committed.
assets: $(VENDOR)/.installed

$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	cp node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/
	touch $@

serve: install assets
	$(BIN)/govdata serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache
