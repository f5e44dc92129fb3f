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

# Translations: re-extract every _()/gettext/ngettext/N_ string (see babel.cfg) into messages.pot, then merge
# it into the English catalog. Fill in the new empty msgstrs in src/govdata/locale/en/LC_MESSAGES/messages.po
# afterwards; tests/web/test_i18n.py fails while any msgid is untranslated or fuzzy. Fuzzy matching is left on
# (no --no-fuzzy-matching) on purpose: a changed string gets the old translation as a "#, fuzzy" suggestion,
# which is never used at run time (fuzzy entries are not compiled) and must be reviewed and unflagged before
# the tests pass. No .mo is built: govdata.i18n compiles the .po in memory at start-up. -k N_ repeats the keyword
# babel.cfg names, because Babel before 2.18 ignores keywords given in babel.cfg sections.
.PHONY: i18n
i18n: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ -o src/govdata/locale/messages.pot --project govdata src/govdata
	$(BIN)/pybabel update -i src/govdata/locale/messages.pot -d src/govdata/locale -l en \
		--init-missing --ignore-obsolete
