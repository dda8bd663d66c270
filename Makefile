# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve demo test lint types unit bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/chinwag serve

# The chat page at http://127.0.0.1:8000/demo: anyone who can reach it gets a token (never public).
demo: $(STAMP)
	$(BIN)/chinwag serve --demo

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

types: $(STAMP)
	$(BIN)/mypy

# The suite runs in TEST_WORKERS processes (pytest-xdist), each with servers and databases of its
# own: a test mostly waits on its server, a Node SDK script or a browser, so four processes keep
# two cores busy. Work stealing keeps them busy to the end: the slow tests (own servers, Node,
# browsers) sit together, and a fixed split left one process running them alone for minutes.
# Measured on 2 cores: 473 s with 3 processes, 431 s with 4, 421 s with 4 and work stealing, where
# the four processes ended within 12 s of each other. 0: one process.
TEST_WORKERS ?= 4

# The browser tests drive Debian's chromium; installed here when missing (the machine is Debian).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get install -y --no-install-recommends chromium || (apt-get update && apt-get install -y --no-install-recommends chromium)

# Servers whose clocks disagree (tests/realtime/test_clock_skew.py) run under Debian's libfaketime.
FAKETIME := /usr/bin/faketime
$(FAKETIME):
	apt-get install -y --no-install-recommends faketime || (apt-get update && apt-get install -y --no-install-recommends faketime)

# Byte-compiled first: where PYTHONDONTWRITEBYTECODE is set (our development machines set it),
# every server process the suite starts (hundreds) would compile chinwag's sources again (0.25 s).
test: lint types $(CHROMIUM) $(FAKETIME)
	$(BIN)/python -m compileall -q src tests
	env -u TWILIO_EDGE -u TWILIO_REGION $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) chinwag.db chinwag.db-wal chinwag.db-shm
