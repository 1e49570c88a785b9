# faust-a2a: `make run` serves the agents, `make test` runs every test.
# Both install what is missing first (a virtualenv in .venv with the package).

PYTHON ?= python3
VENV ?= .venv
KAFKA_BOOTSTRAP_SERVERS ?= 127.0.0.1:9092
export KAFKA_BOOTSTRAP_SERVERS

.PHONY: run test lint broker bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test,bench]'
	touch $@

## run: a worker serving every agent in agents/, on the broker at KAFKA_BOOTSTRAP_SERVERS
## (a local one is started with scripts/kafka if none answers there).
run: $(VENV)/.installed broker
	$(VENV)/bin/faust -A app worker -l info

broker:
	@scripts/ensure-broker "$(KAFKA_BOOTSTRAP_SERVERS)"

## test: ruff, mypy, then pytest against a fresh throwaway broker (scripts/test).
test: $(VENV)/.installed
	VENV=$(VENV) scripts/test

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy app tables agents bench

## bench: faust-a2a against a2a-sdk's HTTP server (QUICK=1 for a ~3 minute run).
bench: $(VENV)/.installed
	VENV=$(VENV) QUICK=$(QUICK) scripts/bench

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
