#!/usr/bin/env bash
# Load test of the shared audit log: decisions/s of 1, 2 and 3 `sovereign serve` replicas
# appending to one log on MariaDB (--log-backend mysql), against one replica on the
# default POSIX log, measured in one run on one machine so the ratios mean something on a
# shared, noisy machine. Configurations alternate for ROUNDS rounds so that drift in the
# machine's load hits each of them; the median round is reported.
#
# Every configuration gets the same closed-loop load: CONCURRENCY workers in total, split
# evenly over its replicas and over placement and transfer requests (two loadgens per
# replica, all run together). Every answered decision is signed and appended to the log before
# it is answered; a fresh log (data directories, database) per configuration and round.
#
# Usage:   scripts/replicas_loadtest.sh
# Env:     DURATION=5s  WARMUP=1s  CONCURRENCY=48  ROUNDS=3  CONFIGS="posix:1 mysql:1 mysql:2 mysql:3"
#          SOVEREIGN_TEST_MYSQL_DSN  a MariaDB to use (a user allowed to create databases
#                                    named sovereign_*); unset: scripts/mariadb.sh starts one
#          SKIP_BUILD=1              reuse bin/sovereign and bin/loadgen
# Output:  a table on stdout; every run in .bench/replicas.jsonl, server logs in .bench/replicas/.
# Needs:   go, curl, jq, mariadb-server (client `mariadb`).
set -euo pipefail
export GOTOOLCHAIN=local
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
CONCURRENCY=${CONCURRENCY:-48}
ROUNDS=${ROUNDS:-3}
CONFIGS=${CONFIGS:-posix:1 mysql:1 mysql:2 mysql:3}
INVENTORY=testdata/inventory/demo
BENCH=.bench
OUT=$BENCH/replicas
AT=2026-06-01T00:00:00Z

die() { echo "replicas_loadtest: $*" >&2; exit 1; }
# shellcheck source=scripts/lib.sh
. scripts/lib.sh # the working directory is the repository's root (cd above)
for tool in go curl jq; do command -v "$tool" >/dev/null || die "$tool is required"; done

if [[ -z ${SKIP_BUILD:-} ]]; then
	echo "== build"
	make --no-print-directory build
	go build -o bin/loadgen ./cmd/loadgen
fi
settle_disk

rm -rf "$OUT" "$BENCH/replicas.jsonl"
mkdir -p "$OUT"
echo "{\"dataset\":\"customer-pii-eu\",\"operation\":\"store\",\"at\":\"$AT\"}" >"$OUT/placement.json"
echo "{\"dataset\":\"customer-pii-eu\",\"from\":\"fra-1\",\"to\":\"us-east-1\",\"type\":\"replicate\",\"mechanism\":{\"kind\":\"scc\",\"module\":\"C2P\"},\"at\":\"$AT\"}" >"$OUT/transfer.json"

pids=()
started_db=""
cleanup() {
	local rc=$?
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [[ -n $started_db ]]; then scripts/mariadb.sh stop "$started_db" || true; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z ${SOVEREIGN_TEST_MYSQL_DSN:-} ]]; then
	echo "== start MariaDB"
	eval "$(scripts/mariadb.sh start)"
	started_db=$SOVEREIGN_MARIADB_DIR
fi
[[ $SOVEREIGN_TEST_MYSQL_DSN =~ ^([^:]+):([^@]*)@tcp\(([^:]+):([0-9]+)\)/(.*)$ ]] ||
	die "SOVEREIGN_TEST_MYSQL_DSN: want user:password@tcp(host:port)/db"
DB_USER=${BASH_REMATCH[1]} DB_PASS=${BASH_REMATCH[2]} DB_HOST=${BASH_REMATCH[3]} DB_PORT=${BASH_REMATCH[4]}
sql() { MYSQL_PWD=$DB_PASS mariadb --no-defaults -h "$DB_HOST" -P "$DB_PORT" -u "$DB_USER" -e "$1"; }
sql "SELECT VERSION()" >"$OUT/db-version.txt"

# run_config BACKEND N ROUND: start N replicas on a fresh log, load them, stop them.
run_config() {
	local backend=$1 n=$2 round=$3 tag="$1-$2-r$3" db="" i
	local addrs=() spids=()
	if [[ $backend == mysql ]]; then
		db="sovereign_bench_${round}_$n"
		sql "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
	fi
	for ((i = 0; i < n; i++)); do
		local dir="$OUT/$tag/data$i" addr pid attempt
		mkdir -p "$dir"
		if ((i > 0)); then # replicas share the first one's keys (docs/operations.md)
			cp "$OUT/$tag/data0/"{signing.key,signing.pub,log.key,log.vkey} "$dir/"
		fi
		for attempt in 1 2 3; do # a free port can be taken before serve binds it
			addr="127.0.0.1:$(free_port)"
			local args=(serve --addr "$addr" --inventory "$INVENTORY" --data-dir "$dir")
			if [[ $backend == mysql ]]; then
				args+=(--log-backend mysql)
				SOVEREIGN_LOG_DSN="$DB_USER:$DB_PASS@tcp($DB_HOST:$DB_PORT)/$db" bin/sovereign "${args[@]}" >"$OUT/$tag.$i.log" 2>&1 &
			else
				bin/sovereign "${args[@]}" >"$OUT/$tag.$i.log" 2>&1 &
			fi
			pid=$!
			for _ in $(seq 1 300); do # keys exist once the first replica is ready
				kill -0 "$pid" 2>/dev/null || break
				curl -sf -o /dev/null --max-time 1 "http://$addr/readyz" && break
				sleep 0.1
			done
			kill -0 "$pid" 2>/dev/null && break
			grep -q 'address already in use' "$OUT/$tag.$i.log" || { tail -20 "$OUT/$tag.$i.log" >&2; die "$tag replica $i exited"; }
		done
		curl -sf -o /dev/null --max-time 1 "http://$addr/readyz" || die "$tag replica $i not ready"
		pids+=("$pid")
		spids+=("$pid")
		addrs+=("$addr")
	done
	local per=$((CONCURRENCY / n / 2)) lpids=() kind
	((per > 0)) || die "CONCURRENCY=$CONCURRENCY is below 2 workers per replica"
	for ((i = 0; i < n; i++)); do
		for kind in placement transfer; do
			bin/loadgen -url "http://${addrs[$i]}/v1/decisions/$kind" -body "$OUT/$kind.json" \
				-concurrency "$per" -duration "$DURATION" -warmup "$WARMUP" -check-json-field audit.entry_sha256 \
				-label "$tag.$i.$kind" -json >"$OUT/$tag.$i.$kind.json" &
			lpids+=($!)
		done
	done
	for pid in "${lpids[@]}"; do wait "$pid"; done
	for pid in "${spids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${spids[@]}"; do wait "$pid" 2>/dev/null || true; done
	jq -s -c --arg backend "$backend" --argjson n "$n" --argjson round "$round" '{
		backend: $backend, replicas: $n, round: $round,
		ok_rps: (map(.ok_rps) | add), errors: (map(.errors) | add),
		p50_ms: (map(.latency.p50_ms) | max), p99_ms: (map(.latency.p99_ms) | max)}' \
		"$OUT/$tag".*.json | tee -a "$BENCH/replicas.jsonl"
	if [[ -n $db ]]; then sql "DROP DATABASE $db"; fi
}

echo "== load: $CONCURRENCY workers in total, $DURATION per run, $ROUNDS rounds ($(cat "$OUT/db-version.txt" | tail -1))"
for ((r = 1; r <= ROUNDS; r++)); do
	for c in $CONFIGS; do
		run_config "${c%%:*}" "${c##*:}" "$r"
	done
done

echo "== median of $ROUNDS rounds (decisions/s, ratio to one replica on POSIX)"
jq -s -r '
	group_by(.backend + ":" + (.replicas|tostring)) | map({
		config: (.[0].backend + " x" + (.[0].replicas|tostring)),
		backend: .[0].backend, replicas: .[0].replicas,
		rps: (map(.ok_rps) | sort | .[(length/2|floor)]),
		p99: (map(.p99_ms) | sort | .[(length/2|floor)]),
		errors: (map(.errors) | add)}) as $rows
	| ($rows | map(select(.backend == "posix" and .replicas == 1)) | .[0].rps // null) as $base
	| ["config", "decisions/s", "ratio", "p99 ms", "errors"],
	  ($rows | sort_by(.backend != "posix", .replicas)[] |
	   [.config, (.rps|floor|tostring), (if $base then ((.rps / $base * 100 | floor) / 100 | tostring) else "-" end),
	    (.p99 * 10 | floor / 10 | tostring), (.errors|tostring)])
	| @tsv' "$BENCH/replicas.jsonl" | column -t -s $'\t'
