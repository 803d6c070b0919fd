#!/usr/bin/env bash
# Runs every vstreamd test: unit, conformance and integration tests against
# real servers and real clients. Installs what the tests need when missing
# (Debian packages: mariadb-server, mariadb-client and postgresql); the tests
# start their own throwaway servers in temporary directories and stop them by
# PID.
#
#   ./test.sh            all tests
#   ./test.sh -run X     extra arguments go to `go test`
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
	echo "test.sh: installing ${need[*]}" >&2
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get install -y -q "${need[@]}" >/dev/null 2>&1 ||
		{ $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q "${need[@]}" >/dev/null; }
fi

# Integration tests must run, not skip: tell them so.
export VSTREAMD_REQUIRE_INTEGRATION=1
go vet ./...
go test -count=1 -timeout 20m "$@" ./...
