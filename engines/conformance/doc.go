// Package conformance is the suite every engine passes against its own real
// source: copy in key order, insert/update/delete images, transactions kept
// whole, rollbacks and other tables invisible, positions and tokens that
// round-trip, resume in the middle of the copy and of a transaction, and
// randomized DML during the copy whose stream, folded by key, equals the
// table. It drives the engine through package vstream, as the server does.
//
// An engine's test builds a Harness over a real database and calls Run.
// The suite only uses portable SQL (INT, VARCHAR, PRIMARY KEY, standard
// DML and transactions through database/sql).
package conformance
