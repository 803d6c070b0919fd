// Package integration holds vstreamd's end-to-end tests: a real vstreamd
// server started in-process on a free loopback port, driven by real
// clients (go-sql-driver/mysql and the mariadb command-line client), and
// the benchmarks (integration/bench).
//
// Integration tests never skip silently: when a prerequisite is missing
// (the mariadb client, a database server) they skip with the reason, and
// fail instead when VSTREAMD_REQUIRE_INTEGRATION is set, as ./test.sh and
// CI do.
package integration
