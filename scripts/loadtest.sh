#!/usr/bin/env bash
# Load test: Sovereign's decision API against `opa run --server` on the same policy bundle,
# the same inventory and the same requests, measured in one run on one machine so that the
# ratios mean something even when the machine is shared and noisy.
#
# For each request kind (placement, transfer) and each target:
#   1. closed loop at concurrency LEVELS (1..64): the saturation throughput;
#   2. open loop at half that target's saturation rate: latency under moderate load;
#   3. open loop at one common rate (half the lower saturation) for a like-for-like latency.
# Phases alternate between the targets so that drift in the machine's load hits both.
# Before any load, a parity check asks both servers the same questions and compares the
# rule ids per site; a mismatch stops the run (benchmarking different answers is moot).
#
# Usage:   scripts/loadtest.sh
# Env:     DURATION=2s        length of each closed-loop level
#          OPEN_DURATION=4s   length of each open-loop run (default: twice DURATION)
#          LEVELS=1,2,4,8,16,32,64
#          KINDS="placement transfer"
#          SOV_ADDR=127.0.0.1:18181 OPA_ADDR=127.0.0.1:18282
#          SKIP_BUILD=1       reuse bin/sovereign, bin/opa, bin/loadgen
#          OPA_GOGC=400       run OPA with this GOGC (default: OPA's own default, 100)
#          SOV_FLAGS="--decision-cache 0"   extra flags for sovereign serve (e.g. evaluate
#                             every request, as OPA does, instead of memoising repeats)
# Output:  a summary table on stdout; every run's report in .bench/loadtest.json;
#          per-phase JSON lines and server logs in .bench/.
# Needs:   go, curl, jq. Sovereign's figures include its audit log: every decision is
#          signed and appended (to .bench/data, wiped first) before it is answered; OPA's
#          decision log is off.
set -euo pipefail
export GOTOOLCHAIN=local
cd "$(dirname "$0")/.."

DURATION=${DURATION:-2s}
OPEN_DURATION=${OPEN_DURATION:-}
LEVELS=${LEVELS:-1,2,4,8,16,32,64}
KINDS=${KINDS:-placement transfer}
SOV_ADDR=${SOV_ADDR:-127.0.0.1:18181}
OPA_ADDR=${OPA_ADDR:-127.0.0.1:18282}
INVENTORY=testdata/inventory/demo
BENCH=.bench
AT=2026-06-01T00:00:00Z

die() { echo "loadtest: $*" >&2; exit 1; }
for tool in go curl jq; do command -v "$tool" >/dev/null || die "$tool is required"; done
if [[ -z $OPEN_DURATION ]]; then
	# twice DURATION, in whatever unit DURATION was given (Go duration syntax)
	[[ $DURATION =~ ^([0-9]+)(ms|s|m)$ ]] || die "DURATION=$DURATION: want e.g. 500ms, 2s, 1m (or set OPEN_DURATION)"
	OPEN_DURATION=$((BASH_REMATCH[1] * 2))${BASH_REMATCH[2]}
fi

# --- build -------------------------------------------------------------------------------
if [[ -z ${SKIP_BUILD:-} ]]; then
	echo "== build"
	make --no-print-directory build opa
	go build -o bin/loadgen ./cmd/loadgen
fi
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
settle_disk
for b in bin/sovereign bin/opa bin/loadgen; do [[ -x $b ]] || die "$b missing (unset SKIP_BUILD)"; done

# --- inputs ------------------------------------------------------------------------------
rm -rf "$BENCH/data" "$BENCH/phases.jsonl"
mkdir -p "$BENCH"
bin/sovereign inventory export "$INVENTORY" >"$BENCH/inventory.json"
jq -e '.inventory.sites | length > 0' "$BENCH/inventory.json" >/dev/null || die "inventory export has no sites"

cat >"$BENCH/placement.sovereign.json" <<EOF
{"dataset":"customer-pii-eu","operation":"store","at":"$AT"}
EOF
cat >"$BENCH/transfer.sovereign.json" <<EOF
{"dataset":"customer-pii-eu","from":"fra-1","to":"us-east-1","type":"replicate","mechanism":{"kind":"scc","module":"C2P"},"at":"$AT"}
EOF
for kind in $KINDS; do
	# The exact Rego input the engine builds for the same request, wrapped for OPA's REST API.
	bin/sovereign eval "$kind" --inventory "$INVENTORY" --print-input --input "$BENCH/$kind.sovereign.json" |
		jq -c '{input: .}' >"$BENCH/$kind.opa.json"
done

# --- servers -----------------------------------------------------------------------------
pids=()
cleanup() {
	local rc=$?
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for addr in "$SOV_ADDR" "$OPA_ADDR"; do
	if curl -s -o /dev/null --max-time 1 "http://$addr/"; then die "something already listens on $addr"; fi
done

echo "== start servers"
# OPA loads policies/ as plain files, not as a bundle: reference/data.json then lands at
# data.reference (as in the bundle) and the inventory file, {"inventory": ...}, at
# data.inventory, which a bundle with roots [sovereign, reference] could not take.
# OPA_GOGC gives OPA the Go GC target Sovereign's serve uses by default (400), for a
# comparison at equal GC settings; unset, each server runs with its own default.
env ${OPA_GOGC:+GOGC=$OPA_GOGC} bin/opa run --server --addr "$OPA_ADDR" --log-level error \
	policies/ "$BENCH/inventory.json" >"$BENCH/opa.log" 2>&1 &
opa_pid=$!
pids+=("$opa_pid")
# shellcheck disable=SC2086 # SOV_FLAGS is a list of flags
bin/sovereign serve --addr "$SOV_ADDR" --inventory "$INVENTORY" --data-dir "$BENCH/data" ${SOV_FLAGS:-} \
	>"$BENCH/sovereign.log" 2>&1 &
sov_pid=$!
pids+=("$sov_pid")

wait_ready() { # name pid url
	local i
	for i in $(seq 1 300); do
		kill -0 "$2" 2>/dev/null || { tail -20 "$BENCH/$1.log" >&2; die "$1 exited while starting"; }
		if curl -sf -o /dev/null --max-time 1 "$3"; then return 0; fi
		sleep 0.1
	done
	tail -20 "$BENCH/$1.log" >&2
	die "$1 not ready after 30s ($3)"
}
wait_ready opa "$opa_pid" "http://$OPA_ADDR/health"
wait_ready sovereign "$sov_pid" "http://$SOV_ADDR/readyz"

url_sovereign() { echo "http://$SOV_ADDR/v1/decisions/$1"; }
url_opa() { echo "http://$OPA_ADDR/v1/data/sovereign/$1/decision"; }

# --- parity ------------------------------------------------------------------------------
# Normal form of an answer: violations as {site: [rule ids]} (placement, every candidate
# listed, [] when allowed) or [rule ids] (transfer), and the obligation rule ids.
echo "== parity"
parity_fail=0
for kind in $KINDS; do
	sov=$(curl -sf -X POST -H 'Content-Type: application/json' --data-binary @"$BENCH/$kind.sovereign.json" "$(url_sovereign "$kind")") ||
		die "sovereign refused the $kind request"
	opa=$(curl -sf -X POST -H 'Content-Type: application/json' --data-binary @"$BENCH/$kind.opa.json" "$(url_opa "$kind")") ||
		die "opa refused the $kind request"
	echo "$sov" >"$BENCH/$kind.sovereign.answer.json"
	echo "$opa" >"$BENCH/$kind.opa.answer.json"
	echo "$opa" | jq -e 'has("result")' >/dev/null || die "opa: data.sovereign.$kind.decision is undefined"
	if [[ $kind == placement ]]; then
		sov_v=$(echo "$sov" | jq -cS '.sites | map({key: .site, value: ([.violations[]?.rule] | unique)}) | from_entries')
		opa_v=$(jq -cS --argjson r "$opa" '
			(.input.candidates | map({key: ., value: []}) | from_entries) +
			($r.result.violations | group_by(.site) | map({key: .[0].site, value: (map(.rule) | unique)}) | from_entries)' \
			"$BENCH/$kind.opa.json")
		sov_o=$(echo "$sov" | jq -c '[.obligations[]?.rule, .sites[].obligations[]?.rule] | unique')
	else
		sov_v=$(echo "$sov" | jq -c '[.violations[]?.rule] | unique')
		opa_v=$(echo "$opa" | jq -c '[.result.violations[]?.rule] | unique')
		sov_o=$(echo "$sov" | jq -c '[.obligations[]?.rule] | unique')
	fi
	opa_o=$(echo "$opa" | jq -c '[.result.obligations[]?.rule] | unique')
	if [[ $sov_v == "$opa_v" ]]; then
		echo "parity $kind violations: PASS  $(echo "$sov_v" | jq -c 'if type == "object" then (to_entries | map(select(.value != [])) | from_entries) else . end')"
	else
		echo "parity $kind violations: FAIL"
		echo "  sovereign: $sov_v"
		echo "  opa:       $opa_v"
		parity_fail=1
	fi
	if [[ $sov_o == "$opa_o" ]]; then
		echo "parity $kind obligations: PASS  $sov_o"
	else
		echo "parity $kind obligations: FAIL  sovereign $sov_o, opa $opa_o"
		parity_fail=1
	fi
done
((parity_fail == 0)) || die "parity FAIL: the two servers disagree; not benchmarking"

# --- load --------------------------------------------------------------------------------
clk_tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime of a server

# phase KIND TARGET PHASE loadgen-args...: runs loadgen, appends its last JSON line,
# annotated with the server's CPU use during the run, to phases.jsonl and prints it.
phase() {
	local kind=$1 target=$2 name=$3 pid url field before after out
	shift 3
	if [[ $target == sovereign ]]; then pid=$sov_pid field=allowed; else pid=$opa_pid field=result.violations; fi
	url=$("url_$target" "$kind")
	kill -0 "$pid" 2>/dev/null || die "$target has exited (see $BENCH/$target.log)"
	if [[ $name == saturation ]]; then # warm up outside the server-CPU window
		bin/loadgen -json -url "$url" -body "$BENCH/$kind.$target.json" -concurrency 4 -duration 1s >/dev/null
	fi
	before=$(cpu_ticks "$pid")
	out=$(bin/loadgen -json -label "$target" -url "$url" -body "$BENCH/$kind.$target.json" \
		-check-json-field "$field" "$@" | tail -1)
	after=$(cpu_ticks "$pid")
	echo "$out" | jq -c --arg kind "$kind" --arg target "$target" --arg phase "$name" \
		--argjson cpu "$(((after - before)))" --argjson tck "$clk_tck" '
		. as $r
		| (if .mode == "find-saturation" then (.levels | map(.elapsed_s) | add) else .elapsed_s end) as $el
		| (if .mode == "find-saturation" then (.levels | map(.ok) | add) else .ok end) as $ok
		| {kind: $kind, target: $target, phase: $phase, report: $r,
		   server_cpu_s: ($cpu / $tck), server_cores: ($cpu / $tck / $el),
		   ok_per_server_cpu_s: (if $cpu > 0 then $ok / ($cpu / $tck) else null end)}' |
		tee -a "$BENCH/phases.jsonl"
}

printf -v startstamp '%(%s)T' -1
for kind in $KINDS; do
	declare -A sat=()
	for target in sovereign opa; do
		echo "== $kind $target: find saturation (levels $LEVELS, $DURATION each)" >&2
		r=$(phase "$kind" "$target" saturation -find-saturation -levels "$LEVELS" -duration "$DURATION")
		sat[$target]=$(echo "$r" | jq '.report.max_ok_rps')
		echo "$r" | jq -r '"   max \(.report.max_ok_rps | floor) ok req/s at concurrency \(.report.best_concurrency), server \(.server_cores * 100 | floor / 100) cores"' >&2
	done
	for target in sovereign opa; do
		rate=$(jq -n "${sat[$target]} / 2 | floor")
		((rate > 0)) || die "$target: no successful requests at saturation"
		echo "== $kind $target: open loop at $rate req/s (half its saturation), $OPEN_DURATION" >&2
		phase "$kind" "$target" open-half -rate "$rate" -duration "$OPEN_DURATION" >/dev/null
	done
	common=$(jq -n "[${sat[sovereign]}, ${sat[opa]}] | min / 2 | floor")
	for target in sovereign opa; do
		echo "== $kind $target: open loop at $common req/s (common rate), $OPEN_DURATION" >&2
		phase "$kind" "$target" open-common -rate "$common" -duration "$OPEN_DURATION" >/dev/null
	done
	unset sat
done
printf -v endstamp '%(%s)T' -1

# --- report ------------------------------------------------------------------------------
jq -s --arg go "$(go version)" --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
	--argjson nproc "$(nproc)" --arg duration "$DURATION" --arg open "$OPEN_DURATION" --arg levels "$LEVELS" \
	--argjson wall "$((endstamp - startstamp))" '
	def ratio(a; b): if b == null or b == 0 or a == null then null else ((a / b) * 1000 | round) / 1000 end;
	. as $all
	| def get(k; t; p): $all | map(select(.kind == k and .target == t and .phase == p))[0];
	{machine: {cpu: $cpu, nproc: $nproc, go: $go},
	   settings: {level_duration: $duration, open_duration: $open, levels: $levels},
	   load_wall_s: $wall,
	   phases: $all,
	   summary: ([$all[].kind] | unique | map(. as $k | {key: $k, value: (
		{sovereign: get($k; "sovereign"; "saturation"), opa: get($k; "opa"; "saturation")} as $s
		| {sovereign: get($k; "sovereign"; "open-common"), opa: get($k; "opa"; "open-common")} as $c
		| {max_ok_rps: {sovereign: $s.sovereign.report.max_ok_rps, opa: $s.opa.report.max_ok_rps},
		   best_concurrency: {sovereign: $s.sovereign.report.best_concurrency, opa: $s.opa.report.best_concurrency},
		   ok_per_server_cpu_s: {sovereign: $s.sovereign.ok_per_server_cpu_s, opa: $s.opa.ok_per_server_cpu_s},
		   common_rate: $c.sovereign.report.target_rate,
		   p50_ms_at_common_rate: {sovereign: $c.sovereign.report.latency.p50_ms, opa: $c.opa.report.latency.p50_ms},
		   p99_ms_at_common_rate: {sovereign: $c.sovereign.report.latency.p99_ms, opa: $c.opa.report.latency.p99_ms},
		   ratio_sovereign_over_opa: {
			max_ok_rps: ratio($s.sovereign.report.max_ok_rps; $s.opa.report.max_ok_rps),
			ok_per_server_cpu_s: ratio($s.sovereign.ok_per_server_cpu_s; $s.opa.ok_per_server_cpu_s),
			p50_at_common_rate: ratio($c.sovereign.report.latency.p50_ms; $c.opa.report.latency.p50_ms),
			p99_at_common_rate: ratio($c.sovereign.report.latency.p99_ms; $c.opa.report.latency.p99_ms)}})}) | from_entries)}
	' "$BENCH/phases.jsonl" >"$BENCH/loadtest.json"

echo
echo "== summary ($(nproc) cores, $(go version | cut -d' ' -f3); closed-loop levels $DURATION, open loop $OPEN_DURATION)"
jq -r '
	def f(n): if n == null then "-" else (n * 100 | round / 100 | tostring) end;
	def i(n): if n == null then "-" else (n | round | tostring) end;
	(["kind", "target", "phase", "conc", "rate", "ok req/s", "errors", "p50 ms", "p99 ms", "max ms", "srv cores", "ok/srv-cpu-s", "gen cores"] | @tsv),
	(.phases[] | .report as $r
	 | (if $r.mode == "find-saturation" then ($r.levels[] | select(.concurrency == $r.best_concurrency)) else $r end) as $x
	 | [.kind, .target, .phase, (if $r.mode == "open" then "-" else $x.concurrency end), (if $r.mode == "open" then $r.target_rate else "-" end), i($x.ok_rps),
	    (if $r.mode == "find-saturation" then ($r.levels | map(.errors) | add) else $r.errors end),
	    f($x.latency.p50_ms), f($x.latency.p99_ms), f($x.latency.max_ms), f(.server_cores), i(.ok_per_server_cpu_s),
	    f($x.loadgen_cpu.cores)] | @tsv)
	' "$BENCH/loadtest.json" | column -t -s $'\t'
echo
jq -r '.summary | to_entries[] | .key as $k | .value
	| "\($k): sovereign/opa  throughput \(.ratio_sovereign_over_opa.max_ok_rps)x (\(.max_ok_rps.sovereign | round) vs \(.max_ok_rps.opa | round) req/s)"
	  + ", per server CPU-second \(.ratio_sovereign_over_opa.ok_per_server_cpu_s)x"
	  + ", p50 \(.ratio_sovereign_over_opa.p50_at_common_rate)x p99 \(.ratio_sovereign_over_opa.p99_at_common_rate)x at \(.common_rate) req/s"' \
	"$BENCH/loadtest.json"
echo "report: $BENCH/loadtest.json"
# A target that cannot keep up with an open-loop schedule leaves requests unsent: that is a
# result (see send_lag), not a failure. Any other error (non-200, bad JSON, transport) is.
jq -r '.phases[] | select(.report.errors_by.unsent > 0)
	| "warning: \(.kind) \(.target) \(.phase): fell behind the \(.report.target_rate) req/s schedule, \(.report.errors_by.unsent) requests unsent (send lag p50 \(.report.send_lag.p50_ms) ms)"' \
	"$BENCH/loadtest.json" >&2
errors=$(jq '[.phases[].report | if .mode == "find-saturation" then .levels[] else . end | (.errors_by // {}) | del(.unsent) | add // 0] | add' "$BENCH/loadtest.json")
((errors == 0)) || die "$errors requests failed (see errors_by in $BENCH/loadtest.json)"
