# Two commands do the whole set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: run test lint bench sample serve portal clean system-deps

# Programs the tests open the reports with (LibreOffice for the workbooks, Chromium for the summary
# page and the portal, driven by Playwright) and a CJK font for both; nginx for the portal behind a
# TLS proxy; installed from Debian's packages when missing.
SYSTEM_PACKAGES := libreoffice-calc chromium fonts-noto-cjk fonts-crosextra-carlito poppler-utils nginx-light
# PostgreSQL's server programs (initdb, pg_ctl, postgres) for the throw-away cluster the tests start
# (tests/postgres.py); Debian keeps them in /usr/lib/postgresql/<version>/bin, off PATH.
POSTGRES_PACKAGES := postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run the nightly flow once on data/sample/ into reports/
run: $(STAMP)
	$(VENV)/bin/active-discovery run --extracts data/sample --out reports

## serve the nightly deployment (02:00 Asia/Shanghai); starts a local Prefect server if PREFECT_API_URL is unset
serve: $(STAMP)
	$(VENV)/bin/active-discovery serve

## start the township portal on 127.0.0.1:8000 over reports/ and data/state/ (README: The township portal)
portal: $(STAMP)
	$(VENV)/bin/active-discovery portal

system-deps:
	@pkgs=""; \
	if ! command -v soffice >/dev/null || ! command -v chromium >/dev/null \
	    || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || ! fc-list 2>/dev/null | grep -qi carlito \
	    || ! command -v pdftoppm >/dev/null \
	    || ! { command -v nginx >/dev/null || test -x /usr/sbin/nginx; }; then \
	  pkgs="$(SYSTEM_PACKAGES)"; \
	fi; \
	if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then \
	  pkgs="$${pkgs:+$$pkgs }$(POSTGRES_PACKAGES)"; \
	fi; \
	if [ -n "$$pkgs" ]; then \
	  echo "installing $$pkgs with apt-get"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    --no-install-recommends $$pkgs >/dev/null; \
	fi

## all tests (unit, property, end-to-end flow, the reports opened in LibreOffice and Chromium)
test: $(STAMP) system-deps lint
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## 1M-record benchmark of ingest + normalize + validate (see README)
bench: $(STAMP)
	$(PY) bench/bench_foundation.py --records 1000000

## regenerate the committed sample
sample: $(STAMP)
	rm -rf data/sample
	$(PY) -m pipeline.sample --households 2000 --seed 7 --out data/sample

clean:
	rm -rf $(VENV) reports/20* .pytest_cache .mypy_cache .ruff_cache
