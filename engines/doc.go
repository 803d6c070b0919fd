// Package engines is the contract between vstreamd's engine-agnostic stream
// (package vstream) and the packages that read one kind of source:
// engines/embedded (the in-process database), engines/binlog (MySQL and
// MariaDB), engines/pgoutput (PostgreSQL) and engines/mssqlcdc (SQL Server).
//
// It owns the vocabulary only: Source (schema, snapshot, change stream,
// positions), Snapshot, Event, Table and Column, and the error sentinels
// engines wrap. It owns no algorithm: the copy → catch-up → replicate
// sequence, tokens and session state live in vstream, and an engine never
// imports vstream, the server or go-mysql-server's planner.
//
// # Values
//
// Rows are []any in table column order. An engine hands out values in these
// Go types, chosen so that a direct SELECT on the source and VSTREAM show the
// same thing once the catalog maps them to the column's MySQL type:
//
//	NULL                                  nil
//	TINYINT … BIGINT (signed)             int64 (narrower ints accepted)
//	TINYINT … BIGINT UNSIGNED             uint64 (narrower uints accepted)
//	FLOAT, DOUBLE                         float32, float64
//	DECIMAL                               string, exact decimal text
//	DATE, DATETIME                        time.Time (wall clock, UTC location)
//	TIMESTAMP                             time.Time in UTC
//	  … zero, or with a zero month or day  string, the text ("0000-00-00", "2024-00-15 …")
//	TIME                                  string "[-]HH:MM:SS[.ffffff]"
//	YEAR                                  int64
//	CHAR, VARCHAR, TEXT, ENUM, SET        string (ENUM/SET as labels)
//	BINARY, VARBINARY, BLOB               []byte
//	BIT                                   uint64
//	JSON                                  string (JSON text)
//
// The embedded engine, being a go-mysql-server database, may hand out that
// engine's native values (decimal.Decimal, types.JSONDocument …); the catalog
// converts any value its column type accepts.
//
// # Positions
//
// A Position is a transaction boundary in the engine's canonical text form
// ("42" for the embedded log, a GTID set, an LSN …). Everything committed at
// or before it is "before" the position. Positions only ever name transaction
// boundaries; a place inside a transaction is vstream's business (a row
// count on top of the position of the boundary before it).
//
// # Secrets
//
// An engine's errors and log records name its source by host and port, or
// by its URL without the password, and pass a driver's or server's text
// through Scrub first: no message shows a password or a source URL.
package engines
