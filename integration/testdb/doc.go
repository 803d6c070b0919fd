// Package testdb starts throwaway database servers for tests: each in its
// own temporary directory, listening on a free loopback port, stopped by
// PID when the test ends. The servers come from the machine's packages
// (./test.sh installs them); without them a test skips with the reason, or
// fails when VSTREAMD_REQUIRE_INTEGRATION is set.
package testdb
