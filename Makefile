# cloudflow: build, test and run locally. `make` lists the targets.

GO ?= go
TEMPORAL_VERSION = v1.5.1
BIN = $(CURDIR)/bin

.DEFAULT_GOAL := help

.PHONY: help build demo test test-short test-cluster fuzz chaos bench vet dev clean distclean

help: ## List the targets
	@echo "Usage: make <target>"
	@echo
	@grep -E '^[a-zA-Z/_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  %-14s %s\n", $$1, $$2}'

# `cloudflow version` prints these; left empty, the binary falls back on
# what the Go toolchain recorded (the module version, the VCS revision).
VERSION ?= $(shell git describe --tags --dirty 2>/dev/null)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS = -X main.version=$(VERSION) -X main.commit=$(COMMIT)

build: ## Build bin/cloudflow (stamped with VERSION and COMMIT for `cloudflow version`)
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/cloudflow ./cmd/cloudflow

# A file target, so it is made once. The Temporal CLI on PATH is used when there
# is one; otherwise the pinned release is built from the Go module proxy (later
# releases carry a replace directive and cannot be installed with go install).
bin/temporal: ## Get the Temporal CLI (symlink to the one on PATH, or go install it)
	@mkdir -p $(BIN)
	@rm -f $(BIN)/temporal
	@found="$$(command -v temporal 2>/dev/null || true)"; \
	if [ -n "$$found" ] && [ "$$(readlink -f "$$found")" != "$(BIN)/temporal" ]; then \
		echo "bin/temporal -> $$found"; \
		ln -s "$$found" $(BIN)/temporal; \
	else \
		echo "Building the Temporal CLI $(TEMPORAL_VERSION) with go install (about 5 minutes on a cold module cache)..."; \
		GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION); \
	fi
	@$(BIN)/temporal --version

demo: build bin/temporal ## Provision and deprovision a VM on the simulator through Temporal
	bash scripts/demo.sh

test: bin/temporal ## Run every test, end-to-end ones included, with the race detector
	TEMPORAL_CLI=$(BIN)/temporal $(GO) test -race -count=1 -timeout 20m ./...

test-short: ## Run the unit tests only (-short)
	$(GO) test -short -race -count=1 ./...

# Not part of test: it builds the Temporal server (once, into bin/), installs
# PostgreSQL when it is missing, and runs the e2e tests tagged `cluster`
# against a real cluster. scripts/test-cluster.sh says how.
test-cluster: bin/temporal ## Run end-to-end tests on a Temporal cluster on PostgreSQL (builds and starts it)
	GO=$(GO) bash scripts/test-cluster.sh

# The fuzz targets, as package:Target. `make test` runs their seeds as
# ordinary tests; `make fuzz` explores from them.
FUZZ_TARGETS = \
	./spec:FuzzParseCrusoe \
	./spec:FuzzParseKraftCloud \
	./spec:FuzzParseCloudMC \
	./spec:FuzzParseContainer \
	./cmd/cloudflow:FuzzReadFleet \
	./starter:FuzzScheduleSpec \
	./clients/kraftcloud:FuzzDecodeResponses \
	./clients/crusoe:FuzzDecodeResponses \
	./internal/input:FuzzReadAll
FUZZTIME ?= 30s
# Each new input is minimized for at most this many runs: the default (60s
# each) would spend a short run minimizing instead of fuzzing.
FUZZMINIMIZETIME ?= 100x

fuzz: ## Fuzz every target for FUZZTIME each (default 30s; make fuzz FUZZTIME=10m)
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg; \
	done

# Not part of test: it takes minutes and judges the product, not a change.
# Its flags go in ARGS, e.g. make chaos ARGS='-chaos.runs=20 -chaos.seed=42'.
chaos: bin/temporal ## Run the chaos suite: 100 ProvisionVM runs and a 1,000-instance fleet under faults and worker kills
	TEMPORAL_CLI=$(BIN)/temporal $(GO) test -tags chaos -count=1 -v -timeout 90m -run '^TestChaos$$' ./e2e -args $(ARGS)

# Not part of test: it measures the machine as much as the code, and takes
# about 15 minutes. Its flags go in ARGS, e.g. make bench ARGS='-bench.phases=latency -bench.latencies=1s,5s'.
bench: bin/temporal ## Measure the performance table (BENCHMARKS.md): latency, shared polling, 100 concurrent runs, fleets
	TEMPORAL_CLI=$(BIN)/temporal $(GO) test -tags bench -count=1 -v -timeout 60m -run '^TestBench$$' ./e2e -args $(ARGS)

vet: ## Check formatting (gofmt) and run go vet
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt -l reports unformatted files:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags chaos ./e2e
	$(GO) vet -tags cluster ./e2e
	$(GO) vet -tags bench ./e2e

dev: build bin/temporal ## Run the dev server, the simulator and a worker (extra flags: make dev ARGS='...')
	bin/cloudflow dev $(ARGS)

clean: ## Remove bin/cloudflow (keeps bin/temporal, which is slow to rebuild)
	rm -f bin/cloudflow

distclean: clean ## Remove bin/ entirely, bin/temporal included
	rm -rf $(BIN)
