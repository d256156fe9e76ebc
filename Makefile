# Sovereign — build, run, test. GOTOOLCHAIN=local: this project builds with the Go
# installed on the machine (1.26.8), never a downloaded toolchain.
export GOTOOLCHAIN := local
# Static binaries, and one build cache for builds, tests and the image: nothing
# here needs cgo (the MySQL driver, OPA, sigstore and Tessera are pure Go).
export CGO_ENABLED := 0
GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/sovereign-engine/sovereign/engine.Version=$(VERSION)
DATA_DIR  ?= data
ADDR      ?= 127.0.0.1:8181
INVENTORY ?= testdata/inventory/demo

.PHONY: all build run test e2e image lint bench opa promtool docs clean reference deps fuzz mutate monotonic

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/sovereign ./cmd/sovereign

# Start the service on its embedded defaults: the built-in policy bundle, the demo
# inventory, and a data directory it creates.
run: build
	$(BIN)/sovereign serve --addr $(ADDR) --inventory $(INVENTORY) --data-dir $(DATA_DIR)

# An OCI image layout of the static binary (bin/image), written from scratch: no
# base image is pulled and no container engine is needed (scripts/ociimage).
# Push it with `crane push bin/image REGISTRY/sovereign:TAG` or skopeo.
image:
	GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/sovereign-linux-amd64 ./cmd/sovereign
	$(GO) run ./scripts/ociimage -binary $(BIN)/sovereign-linux-amd64 -out $(BIN)/image -tag sovereign:$(VERSION) -version $(VERSION)

# The OPA CLI, built from the module this project depends on (compatibility checks).
opa: $(BIN)/opa
$(BIN)/opa: go.mod go.sum
	$(GO) build -o $(BIN)/opa github.com/open-policy-agent/opa

# Prometheus's promtool checks the alert rules, the dashboard's queries and
# /metrics (deploy/monitoring; docs/operations.md). The tests take Debian's
# (`make deps`: package prometheus, promtool 2.42) from PATH, or bin/promtool;
# `make promtool` builds a current one from its module instead (slow: Prometheus
# pulls every service-discovery SDK; about 15 minutes cold on 2 cores).
PROMTOOL_VERSION ?= v0.316.0
promtool: $(BIN)/promtool
$(BIN)/promtool:
	GOBIN=$(abspath $(BIN)) $(GO) install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)

# Every Go test, and through them every Rego test and golden scenario; ends with
# what was skipped and why (SOVEREIGN_REQUIRE_ALL=1 makes a skip a failure).
test: opa
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	GO=$(GO) scripts/test.sh

# Every fuzz target, each for FUZZTIME (package:target; seed corpora are in each
# package's testdata/fuzz, and what a run finds is written there as a new case).
# CI runs them for 10s each (.ci/run); run longer before a release.
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	./audit:FuzzCanonicalize ./audit:FuzzLogSource \
	./audit/report:FuzzVerifyEvidence \
	./engine:FuzzDecodePlacementRequest ./engine:FuzzDecodeTransferRequest ./engine:FuzzLoadInventory \
	./internal/yamlfile:FuzzParse \
	./bundles:FuzzTarballBundle \
	./api/auth:FuzzLoadConfig \
	./api:FuzzAdmissionReview
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$fn ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# The admission webhook driven by a real kube-apiserver and kube-controller-manager
# on loopback, built from Go modules on first use and cached (scripts/k8s-build.sh:
# about 15-20 minutes cold on 2 cores); etcd from Debian (make deps). Every case is
# listed PASS or FAIL, with what it measured (the API server's own latency figures).
e2e:
	SOVEREIGN_K8S_BIN=$$(scripts/k8s-build.sh) SOVEREIGN_TEST_VERBOSE=1 GO=$(GO) scripts/test.sh ./e2e/...

# What the whole test suite needs from the machine, from Debian's packages:
# chromium (the HTML report in a browser), MariaDB (the mysql log backend),
# etcd (the Kubernetes e2e test).
deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium mariadb-server etcd-server git curl openssl python3
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus

# Static checks: vet, gofmt, staticcheck (a pinned version, built from the
# module proxy on first use); `sovereign check` on the library (strict compile,
# METADATA, opa fmt, no negation an absent input makes undefined, reference
# data); Regal with .regal/config.yaml (built once into bin/regal from the Go
# module proxy).
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint: build
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(STATICCHECK) ./...
	$(BIN)/sovereign check policies
	$$(scripts/regal-build.sh) lint policies/

# Every mutant of the policy library against the Rego tests (make test tries a
# sample of 12): the score and any survivor (docs/policy-ci.md, "Mutation testing").
# pipefail: a survivor fails the target, not only the test the filter hides.
mutate: SHELL := /bin/bash
mutate: .SHELLFLAGS := -o pipefail -c
mutate:
	SOVEREIGN_MUTANTS=all $(GO) test -count=1 -timeout 3h -run '^TestMutants$$' -v ./policies/ | grep -v '^=== RUN'

# The monotonicity property over 600 generated transfers (make test tries 60).
monotonic:
	SOVEREIGN_MONOTONIC_N=600 $(GO) test -count=1 -timeout 1h -run '^TestMonotonicity$$' -v ./engine/

# Benchmarks: the engine and audit micro-benchmarks; scripts/loadtest.sh runs the
# server load test against opa run --server (see BENCHMARKS.md).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./engine/ ./audit/

# Build outputs only: the data directory holds the audit log and its signing
# keys, which no build target deletes.
clean:
	rm -rf $(BIN)

# Regenerate the built-in bundle's dated reference data from its source tables.
reference:
	python3 scripts/gen_reference.py > policies/reference/data.json

# Regenerate the policy catalog (docs/policies.md) from the METADATA annotations.
docs:
	$(GO) run ./policies/catalog/gen > docs/policies.md
