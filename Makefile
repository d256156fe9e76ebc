# Sovereign — build, run, test. GOTOOLCHAIN=local: this project builds with the Go
# installed on the machine (1.26.8), never a downloaded toolchain.
export GOTOOLCHAIN := local
GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/sovereign-engine/sovereign/engine.Version=$(VERSION)
DATA_DIR  ?= data
ADDR      ?= 127.0.0.1:8181
INVENTORY ?= testdata/inventory/demo

.PHONY: all build run test lint bench opa docs clean reference

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/sovereign ./cmd/sovereign

# Start the service on its embedded defaults: the built-in policy bundle, the demo
# inventory, and a data directory it creates.
run: build
	$(BIN)/sovereign serve --addr $(ADDR) --inventory $(INVENTORY) --data-dir $(DATA_DIR)

# The OPA CLI, built from the module this project depends on (compatibility checks).
opa: $(BIN)/opa
$(BIN)/opa: go.mod go.sum
	$(GO) build -o $(BIN)/opa github.com/open-policy-agent/opa

test: opa
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) test -count=1 -timeout 20m ./...

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (gofmt -l .; exit 1)
	$(BIN)/opa check --strict policies/ 2>/dev/null || $(GO) run github.com/open-policy-agent/opa check --strict policies/

# Benchmarks: the engine and audit micro-benchmarks; scripts/loadtest.sh runs the
# server load test against opa run --server (see BENCHMARKS.md).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./engine/ ./audit/

clean:
	rm -rf $(BIN) $(DATA_DIR)

# Regenerate the built-in bundle's dated reference data from its source tables.
reference:
	python3 scripts/gen_reference.py > policies/reference/data.json

# Regenerate the policy catalog (docs/policies.md) from the METADATA annotations.
docs:
	$(GO) run ./policies/catalog/gen > docs/policies.md
