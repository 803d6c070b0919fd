// Package mssqlcdc is the SQL Server engine: a keyspace whose source is
// sqlserver://user:pass@host:port?database=db[&schema=s][&capture_instance=ci,…]
// streams the CDC-enabled tables of one schema (default dbo) of a SQL
// Server database, through the change tables SQL Server's capture job
// fills (change data capture), with github.com/microsoft/go-mssqldb.
//
// It owns SQL Server's side of the engines contract: the capture instances
// and columns of the tables (schema.go) and their types in MySQL terms
// (types.go, keyorder.go), key-ordered copy chunks read in SNAPSHOT
// isolation at a known log position (snapshot.go, marks.go), polling the
// change functions into transactions and commits (stream.go, changes.go),
// positions (lsn.go) and errors that name the fix (errors.go, and the
// preflight in source.go).
//
// # Positions
//
// A position is an LSN in the log's text form, 0000002A:00000F58:0003:
// every transaction whose commit LSN (the change tables' __$start_lsn) is
// at or before it is before it. Commits of the streamed tables are
// positions, and so are points between them: the end of the log when a
// snapshot was taken or when 'current' was read, and the LSN right before
// each transaction's commit LSN, which a stream passes before the
// transaction's rows (so a row's token names the same position in every
// stream). vstream adds a row count on top of a position to resume inside
// a transaction; no position names a place inside one (__$seqval orders
// the rows, it is not needed to resume).
//
// # The copy and the stream meet exactly
//
// SQL Server does not say which log position a SNAPSHOT transaction sees,
// and the capture job fills the change tables seconds after commit, so
// sys.fn_cdc_get_max_lsn() read before a snapshot is older than what the
// snapshot holds. A chunk's snapshot is therefore started under a shared
// table lock (TABLOCK, HOLDLOCK: writers of the table finish first and
// wait until it is released), and the end of the log is read under the
// same lock (sys.dm_db_log_stats): the snapshot holds exactly the
// transactions that wrote the table with a commit LSN at or before that
// LSN. The stream reaches the position once the capture job has processed
// the log that far (the max LSN or a finished log scan session passes it),
// and sends a Commit exactly at it, between the transactions before and
// after it (the source remembers the positions of its snapshots). What it
// relies on: a writer's commit record is in the log before its locks are
// released (durable commits: delayed durability FORCED is refused, ALLOWED
// is warned about); the capture job processes the log in LSN order and a
// finished scan session's end_lsn means the change tables are complete to
// there; log_end_lsn has the form 0000002A:00000F58:0003.
//
// # Capture instances
//
// A table is streamed from one capture instance: one named by the URL's
// capture_instance parameter, else the newest whose captured columns the
// table still has (during a schema change a table has two; the one made
// after the change matches its columns). Columns the instance does not
// capture, and computed columns, are not streamed (a warning says so).
//
// The engine never imports vstream, the server or go-mysql-server.
package mssqlcdc
