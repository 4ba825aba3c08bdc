# Every dependency is installed here, from pyproject.toml, into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install browser office clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/canhgiac run

# The browser tests drive Debian's Chromium (Playwright's own download cannot work here), with
# an emoji font so that screenshots show the console's icons. Installed when missing and we
# may (root with apt-get); otherwise the tests are skipped and the run says why.
CHROMIUM_BIN := /usr/bin/chromium
EMOJI := /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
BROWSER_PACKAGES := chromium fonts-noto-color-emoji

browser:
	@if { [ ! -x $(CHROMIUM_BIN) ] || [ ! -e $(EMOJI) ]; } \
	    && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing $(BROWSER_PACKAGES) for the browser tests (apt-get)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES) >/dev/null 2>&1 \
	    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES) >/dev/null; } \
	    || echo "Could not install $(BROWSER_PACKAGES): the browser tests will be skipped"; \
	fi

# The periodic report's preview test converts the DOCX with LibreOffice Writer and turns its
# first page into a PNG with poppler's pdftoppm (Liberation Serif stands in for Times New
# Roman, with its metrics): installed like Chromium, or skipped and said.
SOFFICE_BIN := /usr/bin/soffice
PDFTOPPM_BIN := /usr/bin/pdftoppm
OFFICE_PACKAGES := libreoffice-writer-nogui poppler-utils fonts-liberation

office:
	@if { [ ! -x $(SOFFICE_BIN) ] || [ ! -x $(PDFTOPPM_BIN) ]; } \
	    && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing $(OFFICE_PACKAGES) for the report preview test (apt-get)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq --no-install-recommends $(OFFICE_PACKAGES) >/dev/null 2>&1 \
	    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends $(OFFICE_PACKAGES) >/dev/null; } \
	    || echo "Could not install $(OFFICE_PACKAGES): the report preview test will be skipped"; \
	fi

test: $(STAMP) browser office
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
