#!/usr/bin/env bash
# Latency during bundle swaps: the same open-loop load against one server, first
# steady, then while the bundle changes every SWAP_EVERY seconds (each change is
# downloaded, compiled, tested with its own Rego tests and swapped in). Issue 5's
# target: p99 during swaps ≤ 2× steady.
# MODE=module (default) changes a Rego module with every swap, so every swap is
# parsed, compiled and tested afresh; MODE=revision changes only the manifest's
# revision.
# Usage: scripts/swaptest.sh   (env: RATE=100 DURATION=15s SWAP_EVERY=2 MODE=module ADDR=127.0.0.1:18383)
set -euo pipefail
export GOTOOLCHAIN=local
cd "$(dirname "$0")/.."
RATE=${RATE:-100}
DURATION=${DURATION:-15s}
SWAP_EVERY=${SWAP_EVERY:-2}
MODE=${MODE:-module}
ADDR=${ADDR:-127.0.0.1:18383}
W=.bench/swap
rm -rf "$W" && mkdir -p "$W"
make -s build
go build -o bin/loadgen ./cmd/loadgen
die() { echo "swaptest: $*" >&2; exit 1; }
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
settle_disk
cp -r policies "$W/bundle"
rm -f "$W"/bundle/*.go
rm -rf "$W/bundle/authz" # Cedar files are packed only by `bundle build`; serve refuses them in a directory
echo '{"dataset":"customer-pii-eu","operation":"store","at":"2026-06-01T00:00:00Z"}' > "$W/body.json"
bin/sovereign serve --addr "$ADDR" --inventory testdata/inventory/demo --data-dir "$W/data" \
	--bundle "$W/bundle" --bundle-unsigned --bundle-poll-interval 250ms --inventory-poll-interval 0 >"$W/server.log" 2>&1 &
pid=$!
swapper=""
trap 'kill $pid $swapper 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://$ADDR/readyz" && break; sleep 0.2; done
bin/loadgen -url "http://$ADDR/v1/decisions/placement" -body "$W/body.json" -rate "$RATE" -duration 3s -json >/dev/null # warm up
echo "== steady: $RATE req/s for $DURATION"
bin/loadgen -url "http://$ADDR/v1/decisions/placement" -body "$W/body.json" -rate "$RATE" -duration "$DURATION" -json > "$W/steady.json"
echo "== swapping every ${SWAP_EVERY}s ($MODE): $RATE req/s for $DURATION"
( i=0; while true; do i=$((i+1))
	if [[ $MODE == module ]]; then printf 'package sovereign.swapmark\n\nrevision := "swap-%d"\n' "$i" >"$W/bundle/sovereign/swapmark.rego"; fi
	sed -i "s/\"revision\": *\"[^\"]*\"/\"revision\": \"swap-$i\"/" "$W/bundle/.manifest"; sleep "$SWAP_EVERY"; done ) &
swapper=$!
bin/loadgen -url "http://$ADDR/v1/decisions/placement" -body "$W/body.json" -rate "$RATE" -duration "$DURATION" -json > "$W/swapping.json"
kill $swapper
activations=$(curl -s "http://$ADDR/v1/bundles/status" | sed 's/.*"activations":\([0-9]*\).*/\1/')
python3 - "$W" "$activations" <<'PY'
import json, sys
w, acts = sys.argv[1], sys.argv[2]
def load(n):
    d = json.load(open(f"{w}/{n}.json"))
    return d
s, x = load("steady"), load("swapping")
def lat(d, k): return d["latency"][k]
print(f"steady:   ok {s['ok']}/{s['requests']}  p50 {lat(s,'p50_ms'):.1f} ms  p99 {lat(s,'p99_ms'):.1f} ms")
print(f"swapping: ok {x['ok']}/{x['requests']}  p50 {lat(x,'p50_ms'):.1f} ms  p99 {lat(x,'p99_ms'):.1f} ms  (bundle activations so far: {acts})")
print(f"p99 ratio swapping/steady: {lat(x,'p99_ms')/lat(s,'p99_ms'):.2f}x   errors during swaps: {x['requests']-x['ok']}")
PY
