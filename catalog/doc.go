// Package catalog owns the keyspaces: it opens each configured source
// through its engine, presents every keyspace to go-mysql-server as a
// database (SHOW DATABASES, SHOW TABLES, DESCRIBE, information_schema), and
// resolves "keyspace.table" to what a stream needs: the source, the table's
// key, its MySQL-typed schema and the conversion of engine values into it.
//
// It does not stream (package vstream) and does not know any particular
// engine: engines are passed in as Openers by scheme.
package catalog
