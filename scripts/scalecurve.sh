#!/usr/bin/env bash
# Scaling curve: Sovereign (decision cache on, and --decision-cache 0) against
# `opa run --server` on the same policy, inventory and requests, at several inventory
# sizes. For each size:
#   1. scripts/geninventory writes an inventory of N sites; scripts/genrequests writes
#      REQUESTS varied placements over it (datasets and workloads, both operations, every
#      site or a random subset, dates across a year) and the Rego input of each for OPA;
#   2. the three servers start at once; the uncached server's time from start to /readyz
#      (load, validate, activate the inventory: the three share the machine meanwhile) and
#      its peak RSS are taken;
#   3. a parity check asks Sovereign and OPA the first PARITY requests and compares the
#      (site, rule) pairs of the violations; a mismatch stops the run;
#   4. ROUNDS rounds, each measuring the three targets in turn (alternating, so that the
#      machine's drift hits all of them): a closed loop at concurrency 1 (latency, and
#      µs per site per decision = mean latency ÷ mean candidates) and one at CONC
#      (throughput, p50, p99), every request body sent round-robin;
#   5. record bytes per decision: the entries (within a few bytes: re-encoded from
#      `audit tail`) and bodies of the uncached server's log divided by its decisions.
#
# Usage:   scripts/scalecurve.sh
# Env:     SIZES="10 100 1000"   (add 10000: a 10,000-site decision takes seconds)
#          REQUESTS=40 PARITY=10 ROUNDS=2 CONC=8 DURATION=5s
#          SKIP_BUILD=1          reuse bin/sovereign, bin/opa, bin/loadgen
# Output:  a Markdown table on stdout; phases in .bench/scale/phases.jsonl.
# Needs:   go, curl, jq.
set -euo pipefail
export GOTOOLCHAIN=local
cd "$(dirname "$0")/.."

SIZES=${SIZES:-10 100 1000}
REQUESTS=${REQUESTS:-40}
PARITY=${PARITY:-10}
ROUNDS=${ROUNDS:-2}
CONC=${CONC:-8}
DURATION=${DURATION:-5s}
OPA_ADDR=127.0.0.1:18391
SOVC_ADDR=127.0.0.1:18392
SOV0_ADDR=127.0.0.1:18393
BENCH=.bench/scale

die() { echo "scalecurve: $*" >&2; exit 1; }
for tool in go curl jq; do command -v "$tool" >/dev/null || die "$tool is required"; done
if [[ -z ${SKIP_BUILD:-} ]]; then
	echo "== build" >&2
	make --no-print-directory build opa >&2
	go build -o bin/loadgen ./cmd/loadgen
fi
for b in bin/sovereign bin/opa bin/loadgen; do [[ -x $b ]] || die "$b missing (unset SKIP_BUILD)"; done
rm -rf "$BENCH"
mkdir -p "$BENCH"
# The servers run from a copy of the binary with a name of its own, so that a
# `pkill -f "sovereign serve"` elsewhere on a shared machine does not end them.
cp bin/sovereign "$BENCH/scalecurve-server"
SERVER=$BENCH/scalecurve-server

pids=()
stop_servers() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	pids=()
}
trap 'stop_servers' EXIT
trap 'exit 130' INT TERM

wait_ready() { # name pid url [start] → seconds from start (default: now) to ready
	local start=${4:-$EPOCHREALTIME}
	for _ in $(seq 1 6000); do
		kill -0 "$2" 2>/dev/null || die "$1 exited while starting (see $BENCH)"
		if curl -sf -o /dev/null --max-time 1 "$3"; then
			awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}'
			return 0
		fi
		sleep 0.1
	done
	die "$1 not ready after 600s ($3)"
}

echo "| sites | target | decisions/s (c=$CONC) | p50 ms | p99 ms | mean ms (c=1) | µs/site/decision | × OPA |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|"
summary=()
for n in $SIZES; do
	dir=$BENCH/$n
	mkdir -p "$dir"
	go run ./scripts/geninventory -sites "$n" -datasets $((n > 200 ? n : 200)) -workloads 20 -out "$dir/inventory" >&2
	bin/sovereign inventory export "$dir/inventory" >"$dir/inventory.json"
	go run ./scripts/genrequests -inventory "$dir/inventory" -n "$REQUESTS" -out "$dir/requests"

	bin/opa run --server --addr "$OPA_ADDR" --log-level error policies/ "$dir/inventory.json" >"$dir/opa.log" 2>&1 &
	opa_pid=$!
	pids+=("$opa_pid")
	"$SERVER" serve --addr "$SOVC_ADDR" --inventory "$dir/inventory" --data-dir "$dir/data-cached" >"$dir/sovc.log" 2>&1 &
	sovc_pid=$!
	pids+=("$sovc_pid")
	sov0_start=$EPOCHREALTIME
	"$SERVER" serve --addr "$SOV0_ADDR" --inventory "$dir/inventory" --data-dir "$dir/data-uncached" --decision-cache 0 >"$dir/sov0.log" 2>&1 &
	sov0_pid=$!
	pids+=("$sov0_pid")
	wait_ready opa "$opa_pid" "http://$OPA_ADDR/health" >/dev/null
	wait_ready sovereign "$sovc_pid" "http://$SOVC_ADDR/readyz" >/dev/null
	activation=$(wait_ready sovereign "$sov0_pid" "http://$SOV0_ADDR/readyz" "$sov0_start")
	rss_mib=$(($(awk '/VmHWM/ {print $2}' "/proc/$sov0_pid/status") / 1024))

	# Parity: the same (site, rule) violations from both, on the first PARITY requests.
	for i in $(seq 0 $((PARITY - 1))); do
		f=$(printf '%03d' "$i")
		sov=$(curl -sf -H 'Content-Type: application/json' --data-binary @"$dir/requests/$f.sovereign.json" "http://$SOV0_ADDR/v1/decisions/placement" |
			jq -c '[.sites[] | .site as $s | (.violations // [])[] | "\($s) \(.rule)"] | unique') || die "sovereign refused request $f"
		opa=$(curl -sf -H 'Content-Type: application/json' --data-binary @"$dir/requests/$f.opa.json" "http://$OPA_ADDR/v1/data/sovereign/placement/decision" |
			jq -c '[.result.violations[] | "\(.site) \(.rule)"] | unique') || die "opa refused request $f"
		[[ $sov == "$opa" ]] || die "$n sites, request $f: Sovereign and OPA disagree"
	done
	cands=$(for f in "$dir"/requests/*.opa.json; do jq '.input.candidates | length' "$f"; done | awk '{s += $1} END {printf "%.0f", s / NR}')

	sov_bodies=()
	opa_bodies=()
	for f in "$dir"/requests/*.sovereign.json; do sov_bodies+=(-body "$f"); done
	for f in "$dir"/requests/*.opa.json; do opa_bodies+=(-body "$f"); done
	declare -A rps p50 p99 mean
	for r in $(seq 1 "$ROUNDS"); do
		for target in opa cached uncached; do
			case $target in
			opa)
				url=http://$OPA_ADDR/v1/data/sovereign/placement/decision
				bodies=("${opa_bodies[@]}")
				;;
			cached)
				url=http://$SOVC_ADDR/v1/decisions/placement
				bodies=("${sov_bodies[@]}")
				;;
			uncached)
				url=http://$SOV0_ADDR/v1/decisions/placement
				bodies=("${sov_bodies[@]}")
				;;
			esac
			for c in 1 "$CONC"; do
				line=$(bin/loadgen -url "$url" "${bodies[@]}" -concurrency "$c" -duration "$DURATION" -timeout 600s -json -label "$n/$target/c$c/r$r")
				echo "$line" >>"$BENCH/phases.jsonl"
				errs=$(jq .errors <<<"$line")
				[[ $errs == 0 ]] || echo "scalecurve: $n $target c=$c: $errs errors: $(jq -r .first_error <<<"$line")" >&2
				for pid in "$opa_pid" "$sovc_pid" "$sov0_pid"; do
					kill -0 "$pid" 2>/dev/null || die "a server exited during the run (pid $pid; logs in $dir)"
				done
				if [[ $c == 1 ]]; then
					mean[$target]="${mean[$target]:-} $(jq .latency.mean_ms <<<"$line")"
				else
					rps[$target]="${rps[$target]:-} $(jq .ok_rps <<<"$line")"
					p50[$target]="${p50[$target]:-} $(jq .latency.p50_ms <<<"$line")"
					p99[$target]="${p99[$target]:-} $(jq .latency.p99_ms <<<"$line")"
				fi
			done
		done
	done
	med() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
	opa_rps=$(med <<<"${rps[opa]}")
	for target in opa cached uncached; do
		m=$(med <<<"${mean[$target]}")
		printf '| %s | %s | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f |\n' "$n" "$target" "$(med <<<"${rps[$target]}")" \
			"$(med <<<"${p50[$target]}")" "$(med <<<"${p99[$target]}")" "$m" "$(awk -v m="$m" -v c="$cands" 'BEGIN {print m * 1000 / c}')" \
			"$(awk -v r="$(med <<<"${rps[$target]}")" -v o="$opa_rps" 'BEGIN {print r / o}')"
	done
	unset rps p50 p99 mean
	stop_servers

	# Record bytes per decision: every entry of the uncached server's log, and its bodies.
	decisions=$(bin/sovereign audit tail --log "$dir/data-uncached" -n 1000000 | jq -c 'select(.record.kind == "decision.placement") | (.record | tojson | length) + (.signature | length) + (.key_id | length) + 40' | awk '{s += $1; n++} END {print n, s}')
	read -r ndec entry_bytes <<<"$decisions"
	body_bytes=$( (du -sb "$dir/data-uncached/log/bodies" 2>/dev/null || echo 0) | cut -f1)
	summary+=("| $n | $cands | $activation | $rss_mib | $(((entry_bytes + ${body_bytes:-0}) / ndec)) | $((entry_bytes / ndec)) |")
done
echo
echo "| sites | mean candidates | activation s | peak RSS MiB | record bytes/decision (entry + body) | entry bytes/decision |"
echo "|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${summary[@]}"
