#!/usr/bin/env bash
# `make test`: every Go test (and through them every Rego test and golden
# scenario) but the real-cluster e2e (`make e2e`), with what the tests need from
# the machine started here when it is installed: a throw-away MariaDB for the
# mysql log backend (scripts/mariadb.sh). With arguments, those packages only.
# Chromium (/usr/bin/chromium), etcd and the Kubernetes binaries are found by
# the tests themselves. `make deps` installs what is missing.
#
# Ends with a summary: passed, failed, and every skipped test with its reason.
# SOVEREIGN_REQUIRE_ALL=1 (.ci/run sets it) turns every skip for a missing
# prerequisite into a failure.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."
GO=${GO:-go}

if [[ -z ${SOVEREIGN_TEST_MYSQL_DSN:-} ]] && command -v mariadbd >/dev/null; then
	eval "$(scripts/mariadb.sh start)"
	trap 'scripts/mariadb.sh stop "$SOVEREIGN_MARIADB_DIR"' EXIT
fi

# Every package but the real-cluster e2e, which `make e2e` runs.
if [[ $# -eq 0 ]]; then
	mapfile -t pkgs < <("$GO" list ./... | grep -v '/e2e')
	set -- "${pkgs[@]}"
fi
set +e
"$GO" test -count=1 -timeout 25m -json "$@" | "$GO" run ./scripts/testsummary
rc=${PIPESTATUS[1]}
exit "$rc"
