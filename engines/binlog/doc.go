// Package binlog is the engine of keyspaces whose source is a MySQL
// (5.7, 8.x) or MariaDB (10.x) server: mysql://user:pass@host:port/db
// streams the tables of database db.
//
// Changes come from the server's binary log, read as a replica with
// go-mysql's BinlogSyncer (ROW format, FULL row images); the engine decodes
// the row images of the tables it streams itself, straight into engine
// values, and leaves to go-mysql the events with a value it does not read
// (images.go). Transactions are
// kept whole; a position (a GTID set, or file:offset when GTIDs are off)
// advances only at transaction boundaries. The copy phase reads each chunk
// from a consistent-snapshot transaction whose binlog position the server
// reports (MariaDB: START TRANSACTION WITH CONSISTENT SNAPSHOT and
// binlog_snapshot_file/position; MySQL: the table locked for the instant
// the snapshot starts), so chunks and binlog meet exactly.
//
// A replication connection that breaks (a source restart, a dropped or hung
// network) is re-established from the last transaction the stream sent; the
// rows already sent of a transaction in flight are dropped when it is read
// again, so nothing is sent twice. The stream tries for the URL parameter
// reconnect (default 30s) before it fails with the position it last sent;
// a copy in progress retries its chunks as long. The connections of a
// stream close as soon as it is stopped.
//
// Positions are written as vtgate does: "MySQL56/<gtid set>",
// "MariaDB/<domain-server-seq,...>", and "FilePos/<file>:<offset>" when the
// server has no GTIDs.
//
// The engine never imports vstream, the server or go-mysql-server.
package binlog
