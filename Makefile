# faust-a2a: `make run` serves the agents, `make test` runs every test.
# Both install what is missing first (a virtualenv in .venv with the package).

PYTHON ?= python3
VENV ?= .venv
KAFKA_BOOTSTRAP_SERVERS ?= 127.0.0.1:9092
export KAFKA_BOOTSTRAP_SERVERS

.PHONY: run test chaos lint broker bench clean

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

## chaos: the fault-injection tests (tests/chaos, marker `chaos`): worker SIGKILL/SIGTERM,
## broker stop and 60 s outage under load, a three-broker failover, log hygiene. They run
## their own brokers on CHAOS_KAFKA_PORT (28092..28094, controllers +100). CHAOS_RUNS=3
## repeats each scenario; each run's report is a JSON line in $(CHAOS_REPORT).
CHAOS_KAFKA_PORT ?= 28092
CHAOS_REPORT ?= .chaos/report.jsonl
chaos: $(VENV)/.installed
	mkdir -p .chaos
	CHAOS_KAFKA_PORT=$(CHAOS_KAFKA_PORT) CHAOS_REPORT=$(CHAOS_REPORT) \
		$(VENV)/bin/pytest -m chaos tests/chaos -p no:cacheprovider --basetemp=.chaos/tmp -v

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy app tables agents bench

## bench: faust-a2a against a2a-sdk's HTTP server (QUICK=1 for a ~3 minute run).
bench: $(VENV)/.installed
	VENV=$(VENV) QUICK=$(QUICK) scripts/bench

clean:
	rm -rf $(VENV) .data .chaos .pytest_cache .mypy_cache .ruff_cache
