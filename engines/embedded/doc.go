// Package embedded is the engine of keyspaces whose source is "embedded:": a
// real SQL database inside vstreamd. It is both a go-mysql-server database
// (tables that OLTP sessions create, read and write through vstreamd) and an
// engines.Source (snapshots and a change stream over its own change log).
//
// It is the one engine that imports go-mysql-server: it is a GMS database.
// It still knows nothing of vstream or the server.
//
// Storage. Each table is a copy-on-write B-tree of rows ordered by primary
// key (tables without one: by all columns, then insertion order). Committed
// trees are immutable; a snapshot is a clone, O(1).
//
// Transactions. A transaction reads a consistent view of the keyspace taken
// at its first access (REPEATABLE READ). Writing transactions are serialized
// per keyspace: the first write takes the keyspace's write lock, refreshes
// the view to the latest commit, and holds the lock until COMMIT or
// ROLLBACK; another writer waits up to 50 s (then MySQL error 1205). Every
// statement is atomic (a failed statement leaves no trace).
//
// Change log. A commit that changed rows appends one entry — its row
// changes in statement order — at the next position ("1", "2", …); DDL
// appends an entry too. Streams read the log from any retained position;
// the log keeps the most recent RetainChanges row changes.
package embedded
