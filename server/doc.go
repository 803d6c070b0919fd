// Package server is vstreamd's MySQL wire server, built on
// go-mysql-server (GMS): it opens the keyspaces (package catalog), builds
// the GMS engine over them, registers the workload system variable, the
// users and the table functions vstream(), vstream_positions() and
// vstream_copy_state(), and serves connections.
//
// VSTREAM statements and any query that calls vstream() bypass GMS's result
// spooling (which batches 128 rows behind a 16 KiB buffer): an interceptor
// runs them itself, sends the column headers at once and flushes every row
// to the socket as soon as it exists. KILL QUERY and Ctrl-C end such a
// result set cleanly, with a warning naming the position to resume from;
// a client disconnect cancels the stream at once.
//
// Errors reach the client through one mapping, package server/sqlerr.
// Every error, warning and log record then passes a redactor (redact.go)
// that takes out the configured source URLs, passwords and hashes, and the
// password of any connection string: the net under the engines' rule of
// naming a source without its password.
package server
