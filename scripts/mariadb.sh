#!/usr/bin/env bash
# Start a throw-away MariaDB for the tests and benchmarks of the MySQL log backend, without
# systemd: a fresh data directory, bound to 127.0.0.1 on a free port, one database and one
# user. Prints `export` lines to eval:
#
#   eval "$(scripts/mariadb.sh start)"     # SOVEREIGN_TEST_MYSQL_DSN, SOVEREIGN_MARIADB_DIR
#   scripts/mariadb.sh stop "$SOVEREIGN_MARIADB_DIR"
#
# Needs Debian's mariadb-server (`apt-get install mariadb-server`; .ci/run does it). Runs as
# root or as any user: the server runs as the calling user, its files under DIR (default a
# new directory under ${TMPDIR:-/tmp}). Nothing else on the machine is touched.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

die() { echo "mariadb.sh: $*" >&2; exit 1; }

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start() {
	command -v mariadbd >/dev/null || command -v mysqld >/dev/null || die "mariadb-server is not installed (apt-get install mariadb-server)"
	local server; server=$(command -v mariadbd || command -v mysqld)
	local dir=${1:-$(mktemp -d "${TMPDIR:-/tmp}/sovereign-mariadb.XXXXXX")}
	local port; port=$(free_port)
	local user; user=$(id -un)
	mkdir -p "$dir/data" "$dir/run"
	mariadb-install-db --no-defaults --user="$user" --datadir="$dir/data" --auth-root-authentication-method=socket \
		--skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; die "mariadb-install-db failed"; }
	# Durable settings (the log's transactions are fsync'd), small memory: a test database.
	"$server" --no-defaults --user="$user" --datadir="$dir/data" --socket="$dir/run/mysqld.sock" \
		--pid-file="$dir/run/mysqld.pid" --bind-address=127.0.0.1 --port="$port" \
		--innodb-buffer-pool-size=64M --innodb-log-file-size=64M --innodb-flush-log-at-trx-commit=1 \
		--max-connections=500 --skip-name-resolve --log-error="$dir/error.log" >/dev/null 2>&1 &
	local i
	for i in $(seq 1 100); do
		mariadb-admin --no-defaults --socket="$dir/run/mysqld.sock" -uroot ping >/dev/null 2>&1 && break
		sleep 0.2
	done
	mariadb-admin --no-defaults --socket="$dir/run/mysqld.sock" -uroot ping >/dev/null 2>&1 || { cat "$dir/error.log" >&2; die "server did not start"; }
	local pass; pass=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	mariadb --no-defaults --socket="$dir/run/mysqld.sock" -uroot <<SQL
CREATE DATABASE sovereign_test;
CREATE USER 'sovereign'@'127.0.0.1' IDENTIFIED BY '$pass';
GRANT ALL PRIVILEGES ON \`sovereign%\`.* TO 'sovereign'@'127.0.0.1';
SQL
	echo "export SOVEREIGN_MARIADB_DIR='$dir'"
	echo "export SOVEREIGN_TEST_MYSQL_DSN='sovereign:$pass@tcp(127.0.0.1:$port)/sovereign_test'"
}

stop() {
	local dir=${1:-${SOVEREIGN_MARIADB_DIR:-}}
	[[ -n $dir && -f $dir/run/mysqld.pid ]] || die "stop DIR: no server pid under '$dir'"
	kill "$(cat "$dir/run/mysqld.pid")"
	for _ in $(seq 1 100); do [[ -f $dir/run/mysqld.pid ]] || break; sleep 0.1; done
	rm -rf "$dir"
}

case ${1:-} in
start) shift; start "$@" ;;
stop) shift; stop "$@" ;;
*) die "usage: $0 start [DIR] | stop [DIR]" ;;
esac
