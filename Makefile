# The two commands. On a fresh Debian 12 (python3, git; root or sudo):
#   make run    install + start the stack, migrate, start the five services, run the demo
#   make test   install + start the stack, migrate, run the unit/integration/e2e tests
# Everything is idempotent: a second run installs and downloads nothing.
# Ports and files: see deploy/local/stack.py (data, logs, pid files under .local/).

SHELL      := /bin/bash
PYTHON     ?= python3
STACK      := $(PYTHON) deploy/local/stack.py
VENV       := .venv
VENV_STAMP := $(VENV)/.pyproject.sha256
WITH_ENV   := eval "$$($(STACK) env)" &&
TEST_DIRS  := $(wildcard tests/unit tests/integration tests/e2e tests/system)

.PHONY: venv install up run test lint stop chaos

# (Re)install the project into .venv only when pyproject.toml changed since the last install.
venv:
	@want=$$(sha256sum pyproject.toml | cut -d' ' -f1); \
	if [ ! -x $(VENV)/bin/python ]; then echo "venv: creating $(VENV)"; $(PYTHON) -m venv $(VENV) || exit 1; fi; \
	if [ "$$(cat $(VENV_STAMP) 2>/dev/null)" = "$$want" ]; then echo "venv: up to date"; \
	else echo "venv: pip install -e '.[dev]'"; \
	  $(VENV)/bin/pip install --disable-pip-version-check -q -e '.[dev]' && echo "$$want" > $(VENV_STAMP); fi

# System packages (PostgreSQL, Redis, Java 17, Maven) when missing, Kafka jars when the pom changed, the venv.
install:
	$(STACK) install
	@$(MAKE) --no-print-directory venv

# PostgreSQL, Redis and Kafka running on loopback, topics created, schemas migrated.
up: install
	$(STACK) up
	$(WITH_ENV) $(VENV)/bin/yibao migrate

run: up
	$(STACK) services-up
	$(WITH_ENV) $(VENV)/bin/yibao demo

# Lint and types first (seconds), then every test tier against the real servers.
test: up lint
	$(WITH_ENV) $(VENV)/bin/pytest $(TEST_DIRS)

# ruff over the whole tree; mypy over what [tool.mypy] names (the pure core --strict, see pyproject.toml).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Services first, then Kafka, Redis, PostgreSQL; each by the pid in .local/run/.
stop:
	$(STACK) services-down
	$(STACK) down

# Payment ingest benchmark: 1,000,000 receipts pre-filled, baseline and pipeline alternated, then a
# steady-rate latency run. Sizes are parameters: make bench BENCH_ARGS="--receipts 200000 --rounds 2".
# Then the chain benchmark (bench-chain below).
.PHONY: bench bench-chain
bench: up
	$(WITH_ENV) $(VENV)/bin/python -m tests.bench.payment_ingest_bench $(BENCH_ARGS)
	$(WITH_ENV) $(VENV)/bin/python -m tests.bench.chain_bench --receipts $(CHAIN_RECEIPTS) $(CHAIN_ARGS)

# Chain benchmark (tests/bench/chain_bench.py): CHAIN_RECEIPTS receipts pre-filled, the five services started,
# timed until every consumer group caught up, the books checked; ingest alone on the same receipts for the
# ratios; then freshness at a steady 3,000/s for 60 s. Report in artifacts/bench/chain-<time>.json. Shorter:
# CHAIN_RECEIPTS=20000 make bench-chain CHAIN_ARGS="--fresh-rate 500 --fresh-seconds 10"
CHAIN_RECEIPTS ?= 1000000
bench-chain: up
	$(WITH_ENV) $(VENV)/bin/python -m tests.bench.chain_bench --receipts $(CHAIN_RECEIPTS) $(CHAIN_ARGS)

# The fault harness at full size (tests/chaos): its own Kafka, PostgreSQL and Redis on other loopback
# ports, the five services killed and restarted, the checker and the replay; the report is printed and
# kept in artifacts/chaos/<run>/report.json. CHAOS_RECEIPTS=20000 make chaos for a shorter run.
# First the differential check at full size (make differential).
CHAOS_RECEIPTS ?= 200000
chaos: up differential
	$(VENV)/bin/python -m tests.chaos --receipts $(CHAOS_RECEIPTS)
	@$(MAKE) --no-print-directory chaos-cluster chaos-standby

# Beyond one machine (tests/chaos/cluster.py, standby.py), each on private servers of its own: a three-broker
# KRaft cluster under a steady CLUSTER_RATE receipts/s while one broker is SIGKILLed, then two, then all three
# restarted in turn, then instances added and killed (lost/doubled and the chain's longest stall per phase in
# artifacts/chaos/<run>/cluster-report.json); and PostgreSQL failover to a synchronous standby under
# STANDBY_RECEIPTS receipts (standby-report.json). `make test` runs smaller tiers of both (tests/e2e).
CLUSTER_RATE ?= 400
CLUSTER_DOWN_S ?= 30
STANDBY_RECEIPTS ?= 20000
.PHONY: chaos-cluster chaos-standby
chaos-cluster: up
	$(VENV)/bin/python -m tests.chaos.cluster --rate $(CLUSTER_RATE) --down $(CLUSTER_DOWN_S)
chaos-standby: up
	$(VENV)/bin/python -m tests.chaos.standby --receipts $(STANDBY_RECEIPTS)

# The differential check at full size (tests/system/test_differential.py, ~2 minutes): DIFFERENTIAL_PEOPLE
# (2,000) generated people of the four seed regions through the five running services, each person's record
# compared with the policy engine's answer for the same facts; `make test` runs 250. Report in
# artifacts/system/differential-<people>-<seed>.json. DIFFERENTIAL_GROUPS=all (or a comma-separated list of
# differential.PENDING names) adds the fact groups the system does not handle yet.
DIFFERENTIAL_PEOPLE ?= 2000
DIFFERENTIAL_GROUPS ?=
.PHONY: differential
differential: up
	$(WITH_ENV) YIBAO_DIFFERENTIAL_PEOPLE=$(DIFFERENTIAL_PEOPLE) YIBAO_DIFFERENTIAL_GROUPS=$(DIFFERENTIAL_GROUPS) \
		$(VENV)/bin/pytest tests/system/test_differential.py -q
