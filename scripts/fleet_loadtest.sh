#!/usr/bin/env bash
# Load test of a control plane's fleet view (issue #23): SITES simulated sites report
# their status to one control plane (POST /v1/status) at RATE reports/s, the rate of
# SITES sites reporting every 30 s, and loadgen measures the latency of each report.
#
# The control plane runs as in production: --serve-bundles (a signed bundle published),
# --auth-config (every report authenticates with a site token and is authorized by
# the Cedar policies), the fleet state written to its data directory at every sweep.
# The sites are loadgen bodies, one per site id, sent round-robin: a first pass
# registers every site (one fleet.status audit record each), then the measured run
# sends reports that change nothing (the steady state of a fleet) at RATE, open loop
# (latency counts from the scheduled send time). While it runs, GET /v1/fleet is read
# in pages of 1,000 every 5 s, as a dashboard would.
#
# Usage:   scripts/fleet_loadtest.sh
# Env:     SITES=10000 RATE=333 DURATION=60s ADDR=127.0.0.1:<free>
#          DASHBOARD=0    do not read the fleet view during the run
#          SKIP_BUILD=1   reuse bin/sovereign and bin/loadgen
# Output:  loadgen's table on stdout; .bench/fleet/ holds the bodies, logs and JSON report.
# Needs:   go, curl, jq.
set -euo pipefail
export GOTOOLCHAIN=local
cd "$(dirname "$0")/.."

die() { echo "fleet_loadtest: $*" >&2; exit 1; }
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
for tool in go curl jq; do command -v "$tool" >/dev/null || die "$tool is required"; done

SITES=${SITES:-10000}
RATE=${RATE:-333}
DURATION=${DURATION:-60s}
ADDR=${ADDR:-127.0.0.1:$(free_port)}
BENCH=.bench/fleet
TOKEN=fleet-load-site-token

if [[ -z ${SKIP_BUILD:-} ]]; then
	echo "== build"
	make --no-print-directory build
	go build -o bin/loadgen ./cmd/loadgen
fi
settle_disk

rm -rf "$BENCH"
mkdir -p "$BENCH/bodies" "$BENCH/published"
bin/sovereign bundle build policies -o "$BENCH/published/policy.tar.gz" --revision load-1 >/dev/null
sha=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
cat >"$BENCH/auth.yaml" <<EOF
tokens:
  - {principal: load-sites, roles: [site], sha256: $sha}
  - {principal: load-auditor, roles: [auditor], sha256: $(printf %s auditor-$TOKEN | sha256sum | cut -d' ' -f1)}
EOF
etag=$(sha256sum "$BENCH/published/policy.tar.gz" | cut -d' ' -f1)
root=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "== $SITES site bodies"
args=()
for i in $(seq -w 1 "$SITES"); do
	f="$BENCH/bodies/site-$i.json"
	printf '{"labels":{"id":"site-%s","version":"load"},"bundles":{"policy.tar.gz":{"name":"policy.tar.gz","active_revision":"load-1","active_digest":"sha256:load","active_etag":"%s","last_successful_activation":"%s","last_request":"%s"}},"inventory":{"revision":"inv-1","last_successful_activation":"%s"},"checkpoint":{"origin":"sovereign/site-%s","size":42,"root_hash":"%s"},"metrics":{"decisions":12,"denials":1},"log":{"healthy":true},"sent_at":"%s"}' \
		"$i" "$etag" "$now" "$now" "$now" "$i" "$root" "$now" >"$f"
	args+=(-body "$f")
done

pids=()
cleanup() {
	local rc=$?
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== control plane on $ADDR"
bin/sovereign serve --addr "$ADDR" --inventory testdata/inventory/demo --data-dir "$BENCH/data" \
	--serve-bundles "$BENCH/published" --auth-config "$BENCH/auth.yaml" >"$BENCH/cp.log" 2>&1 &
cp_pid=$!
pids+=("$cp_pid")
for _ in $(seq 1 300); do
	kill -0 "$cp_pid" 2>/dev/null || { tail -20 "$BENCH/cp.log" >&2; die "the control plane exited"; }
	curl -sf -o /dev/null --max-time 1 "http://$ADDR/readyz" && break
	sleep 0.1
done
url="http://$ADDR/v1/status"

echo "== register $SITES sites (one fleet.status record each)"
bin/loadgen -url "$url" -H "Authorization: Bearer $TOKEN" "${args[@]}" -concurrency 16 \
	-max-requests "$SITES" -duration 10m -check-json-field site -label register -json >"$BENCH/register.json"
jq -r '"registered: \(.ok) ok, \(.errors) errors, \(.ok_rps | floor) reports/s"' "$BENCH/register.json"
sites=$(curl -sf -H "Authorization: Bearer auditor-$TOKEN" "http://$ADDR/v1/fleet?limit=1" | jq .summary.sites)
[[ $sites == "$SITES" ]] || die "the fleet view has $sites sites, want $SITES"

# A dashboard reading the fleet view, every page, every 5 s, during the run.
dashboard() {
	local cursor page
	while sleep 5; do
		cursor=""
		while :; do
			page=$(curl -sf -H "Authorization: Bearer auditor-$TOKEN" "http://$ADDR/v1/fleet?limit=1000${cursor:+&cursor=$cursor}") || break
			cursor=$(jq -r '.next_cursor // empty' <<<"$page")
			[[ -n $cursor ]] || break
		done
	done
}
if [[ ${DASHBOARD:-1} != 0 ]]; then
	dashboard >/dev/null 2>&1 &
	pids+=("$!")
fi

echo "== $RATE reports/s for $DURATION, open loop"
bin/loadgen -url "$url" -H "Authorization: Bearer $TOKEN" "${args[@]}" -rate "$RATE" -duration "$DURATION" \
	-check-json-field site -label "fleet $SITES sites" -json | tee "$BENCH/steady.json" |
	jq -r '"\(.label): \(.ok) ok, \(.errors) errors, \(.ok_rps | . * 10 | floor / 10) reports/s; p50 \(.latency.p50_ms) ms, p90 \(.latency.p90_ms) ms, p99 \(.latency.p99_ms) ms, max \(.latency.max_ms) ms"'
ls -l "$BENCH/data/fleet/state.json"
grep -c '"fleet sweep"' "$BENCH/cp.log" || true
# The server's own view of the same requests (time in the handler chain, without the
# client's and the scheduler's share): the fraction answered within each bucket.
curl -sf "http://$ADDR/metrics" | awk '/^sovereign_http_request_duration_seconds_(bucket|count)\{.*route="\/v1\/status"/ {
	if ($1 ~ /_count/) total = $2; else { match($1, /le="[^"]+"/); le = substr($1, RSTART + 4, RLENGTH - 5); b[le] = $2; order[++n] = le } }
	END { printf "server-side, all reports (registration included):"; for (i = 1; i <= n; i++) if (order[i] != "+Inf") printf " <=%ss %.2f%%", order[i], 100 * b[order[i]] / total; print "" }'
