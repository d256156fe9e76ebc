#!/usr/bin/env bash
# A/B load test: two sovereign binaries (say, before and after a refactor) on the same
# policy directory, the same inventory and the same varied requests, measured alternately
# in one run so that the machine's drift hits both alike. Each round runs A then B (then
# B then A the next round): a closed loop at CONCURRENCY for DURATION, every decision
# signed and logged into a fresh data directory.
#
# Usage:   scripts/abtest.sh BIN_A BIN_B [POLICY_DIR]
# Env:     ROUNDS=4 DURATION=5s CONCURRENCY=16 SOV_FLAGS="--decision-cache 0"
# Output:  one line per run, then the medians and the ratio B/A.
set -euo pipefail
export GOTOOLCHAIN=local
cd "$(dirname "$0")/.."
A=${1:?usage: scripts/abtest.sh BIN_A BIN_B [POLICY_DIR]}
B=${2:?usage: scripts/abtest.sh BIN_A BIN_B [POLICY_DIR]}
POLICY=${3:-policies}
ROUNDS=${ROUNDS:-4}
DURATION=${DURATION:-5s}
CONCURRENCY=${CONCURRENCY:-16}
ADDR=${ADDR:-127.0.0.1:18383}
BENCH=.bench/ab
INVENTORY=testdata/inventory/demo
rm -rf "$BENCH" && mkdir -p "$BENCH"
# Served as a directory: without its Cedar files, which serve refuses in a
# directory (they are packed only by `bundle build`); the runs are unauthenticated.
cp -r "$POLICY" "$BENCH/policy" && rm -rf "$BENCH/policy/authz" "$BENCH"/policy/*.go
POLICY=$BENCH/policy
[[ -x bin/loadgen ]] || go build -o bin/loadgen ./cmd/loadgen

# Varied requests: each demo dataset placed for each operation on several dates, and
# transfers between pairs of sites, round-robin (a memo only helps what repeats).
bodies=()
i=0
for ds in customer-pii-eu payments-in patient-records-de citizens-ru public-catalogue uk-customers; do
	for op in store process; do
		for at in 2025-03-01 2026-06-01 2026-11-30; do
			f="$BENCH/p$i.json"
			printf '{"dataset":"%s","operation":"%s","at":"%sT00:00:00Z"}' "$ds" "$op" "$at" >"$f"
			bodies+=(-body "$f")
			i=$((i + 1))
		done
	done
done

run() { # label binary round
	local dir="$BENCH/data-$1-$3" pid
	# shellcheck disable=SC2086
	"$2" serve --addr "$ADDR" --inventory "$INVENTORY" --bundle "$POLICY" --bundle-unsigned \
		--data-dir "$dir" ${SOV_FLAGS:-} >"$BENCH/$1-$3.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 600); do
		curl -sf -o /dev/null --max-time 1 "http://$ADDR/readyz" && break
		kill -0 "$pid" 2>/dev/null || { tail -5 "$BENCH/$1-$3.log"; exit 1; }
		sleep 0.1
	done
	bin/loadgen -url "http://$ADDR/v1/decisions/placement" "${bodies[@]}" -concurrency "$CONCURRENCY" \
		-duration "$DURATION" -warmup 1s -json -label "$1" >>"$BENCH/runs.jsonl"
	tail -1 "$BENCH/runs.jsonl" | jq -r '"\(.label) round '"$3"': \(.ok_rps|floor) ok/s, p50 \(.latency.p50_ms) ms, p99 \(.latency.p99_ms) ms, errors \(.errors)"'
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}
for r in $(seq 1 "$ROUNDS"); do
	if ((r % 2)); then run A "$A" "$r"; run B "$B" "$r"; else run B "$B" "$r"; run A "$A" "$r"; fi
done
jq -rs 'group_by(.label) | map({label: .[0].label,
	rps: (map(.ok_rps) | sort | .[length/2|floor]),
	p50: (map(.latency.p50_ms) | sort | .[length/2|floor]),
	p99: (map(.latency.p99_ms) | sort | .[length/2|floor]),
	errors: (map(.errors) | add)})
	| (.[] | "\(.label): median \(.rps|floor) req/s, p50 \(.p50) ms, p99 \(.p99) ms, errors \(.errors)"),
	  "B/A throughput: \((.[1].rps / .[0].rps) * 100 | floor / 100)"' "$BENCH/runs.jsonl"
