package catalog

import (
	"errors"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/vstreamd/vstreamd/engines"
)

// Entry is a resolved table: everything a stream of it needs.
type Entry struct {
	Keyspace *Keyspace
	Table    *engines.Table
	// Schema is the table's columns as GMS columns, in table order.
	Schema  sql.Schema
	convert []converter // nil for native sources
}

// SplitName splits "ks.table" (or "ks:shard.table") at the first dot.
func SplitName(name string) (keyspace, shard, table string, ok bool) {
	i := strings.IndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return "", "", "", false
	}
	keyspace, table = name[:i], name[i+1:]
	if j := strings.IndexByte(keyspace, ':'); j >= 0 {
		keyspace, shard = keyspace[:j], keyspace[j+1:]
	}
	return keyspace, shard, table, true
}

// Resolve finds keyspace.table. Unknown keyspaces wrap ErrUnknownKeyspace,
// unknown tables engines.ErrTableNotFound, with MySQL's wording.
func (c *Catalog) Resolve(ctx *sql.Context, keyspace, shard, table string) (*Entry, error) {
	ks, err := c.Keyspace(keyspace)
	if err != nil {
		return nil, err
	}
	if shard != "" {
		return nil, engines.Errorf(ErrUnknownKeyspace, "Unknown database '%s:%s': keyspace %s has no shards", keyspace, shard, ks.Name)
	}
	t, err := ks.Source.Table(ctx, table)
	if err != nil {
		if isNotFound(err) {
			return nil, engines.Errorf(engines.ErrTableNotFound, "Table '%s.%s' doesn't exist", ks.Name, table)
		}
		return nil, err
	}
	e := &Entry{Keyspace: ks, Table: t}
	if ks.Native {
		gt, ok, err := ks.DB.GetTableInsensitive(ctx, t.Name)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, engines.Errorf(engines.ErrTableNotFound, "Table '%s.%s' doesn't exist", ks.Name, table)
		}
		e.Schema = gt.Schema(ctx)
		return e, nil
	}
	e.Schema, err = schemaOf(ctx, ks.Name, t)
	if err != nil {
		return nil, err
	}
	if e.Table, err = WithKeyOrder(ctx, ks.Name, t); err != nil {
		return nil, err
	}
	e.convert = make([]converter, len(e.Schema))
	for i, col := range e.Schema {
		e.convert[i] = converterFor(col)
	}
	return e, nil
}

func isNotFound(err error) bool {
	return err != nil && errors.Is(err, engines.ErrTableNotFound)
}

// schemaOf maps an engine table to GMS columns.
func schemaOf(ctx *sql.Context, ks string, t *engines.Table) (sql.Schema, error) {
	key := make(map[int]bool, len(t.Key))
	if t.KeyKind == engines.PrimaryKey {
		for _, k := range t.Key {
			key[k] = true
		}
	}
	s := make(sql.Schema, len(t.Columns))
	for i, c := range t.Columns {
		col, err := columnOf(ctx, ks, t.Name, c, key[i])
		if err != nil {
			return nil, err
		}
		s[i] = col
	}
	return s, nil
}

// Native reports whether the source hands out GMS values already (the
// embedded engine): Value and Values pass them on.
func (e *Entry) Native() bool { return e.convert == nil }

// Value converts the engine value of table column i into the GMS value of
// its type.
func (e *Entry) Value(ctx *sql.Context, i int, v any) (any, error) {
	if e.convert == nil {
		return v, nil
	}
	return e.convert[i](ctx, v)
}

// Values converts one engine row into GMS values, in place when possible.
func (e *Entry) Values(ctx *sql.Context, row []any, dst sql.Row) (sql.Row, error) {
	if e.convert == nil {
		return append(dst, row...), nil
	}
	for i, v := range row {
		x, err := e.convert[i](ctx, v)
		if err != nil {
			return nil, err
		}
		dst = append(dst, x)
	}
	return dst, nil
}

// ColumnNames returns the table's column names in order.
func (e *Entry) ColumnNames() []string {
	names := make([]string, len(e.Schema))
	for i, c := range e.Schema {
		names[i] = c.Name
	}
	return names
}
