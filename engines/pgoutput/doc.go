// Package pgoutput is the PostgreSQL engine: a keyspace whose source is
// postgres://user:pass@host:port/db[?schema=s] streams the tables of one
// schema through logical replication with the pgoutput plugin.
//
// It owns PostgreSQL's side of the engines contract: the schema's tables
// and their types in MySQL terms (types.go), replication slots and the
// snapshots they export (slot.go, hold.go), key-ordered copy chunks read in
// an imported snapshot (snapshot.go), and pgoutput messages turned into
// row changes and commits (stream.go, decode.go).
//
// # Slots
//
// A session's stream holds a temporary replication slot (engines.Hold): it
// is created with the stream's first snapshot, which it exports, so the
// copy and the change stream meet exactly at the slot's consistent point;
// it keeps the WAL the session may still resume from, and it vanishes with
// the session (or with its replication connection). Later copy chunks read
// snapshots exported by short-lived temporary slots, each at its own
// consistent point. A keyspace may name a permanent slot (?slot=name): its
// streams then resume across sessions and reconnect after a dropped
// connection, and the WAL the slot retains is logged.
//
// # Positions
//
// A position is an LSN in PostgreSQL's text form (16/B374D848): the end of
// a transaction's commit record, or a slot's consistent point. Everything
// whose commit record starts before it is before it.
package pgoutput
