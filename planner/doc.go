// Package planner owns the VSTREAM statement: it turns the text of one
// VSTREAM statement into a Plan (keyspace, shard, table, selected columns,
// start and stop positions taken from the pos pseudo-column, the remaining
// WHERE predicates, LIMIT and OFFSET), and turns a Plan into the SELECT that
// go-mysql-server plans and executes:
//
//	SELECT op, <cols> FROM vstream('<ks[:shard].table>', <from>, <to>) AS `<table>`
//	    [WHERE <predicates>] [LIMIT [offset,] n]
//
// It also recognises VSTREAM statements (IsVStream) and splits a
// multi-statement string after its first statement (SplitFirst).
//
// The package does not resolve tables or columns, does not evaluate
// predicates and does not read streams: the vstream() table function and
// go-mysql-server do that. Every error it returns is an *Error wrapping one
// of ErrSyntax, ErrPos or ErrNoDatabase; server/sqlerr maps them to MySQL
// error codes.
package planner
