// Package vstream is the engine-agnostic change stream behind VSTREAM and
// vstream(): for one table of one source it runs the copy phase (the
// table's rows in key order, chunk by chunk, each chunk read from a fresh
// snapshot), catches up the changes between chunks, and then replicates,
// turning engine events into op rows ('+' insert and copy, '*' update, '-'
// delete) that each carry a resume token.
//
// Exactness. The stream keeps (pos, skip, lastKey): every transaction up to
// pos, plus the first skip rows of the next one, has been delivered for the
// rows whose key is <= lastKey (all rows once the copy is done). A chunk is
// read from a snapshot at position P; before its rows are sent the stream
// replays the changes between pos and P, keeping only those for keys <=
// lastKey (the chunk itself holds the rest as of P). So a fresh copy and any
// resume from a token deliver every change once: nothing lost, nothing
// twice. Tokens are that triple, encoded (see Token).
//
// Session state (SessionState) remembers per (keyspace, shard, table) the
// last delivered token and copy progress, so a later VSTREAM in the same
// session continues where the previous one stopped.
//
// Sharing (Fanout). The change streams of one table share one engine
// stream: sessions following a table cost one replication connection and
// one decoding of each event. A stream that starts behind the shared one
// reads on its own until it reaches it, then joins; one that falls far
// behind the others (a slow client) leaves it and reads on its own, so a
// slow client slows only itself. Buffers are bounded.
//
// The package knows nothing about any database or about go-mysql-server:
// it talks to an engines.Source and hands out Row values.
package vstream
