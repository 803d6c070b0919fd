package catalog

import (
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/vstreamd/vstreamd/engines"
)

// WithKeyOrder returns t with CompareKeys set: the engine's own if it has
// one, else the order of the key columns' MySQL types (collations
// included), which is how MySQL and MariaDB order a primary key. The
// engine's Table is not modified.
func WithKeyOrder(ctx *sql.Context, keyspace string, t *engines.Table) (*engines.Table, error) {
	if t.CompareKeys != nil {
		return t, nil
	}
	schema, err := schemaOf(ctx, keyspace, t)
	if err != nil {
		return nil, err
	}
	types := make([]sql.Type, len(t.Key))
	for i, k := range t.Key {
		types[i] = schema[k].Type
	}
	out := *t
	cmp := sql.NewEmptyContext() // the stream outlives the statement that planned it
	out.CompareKeys = func(a, b []any) (int, error) {
		for i, typ := range types {
			c, err := typ.Compare(cmp, a[i], b[i])
			if err != nil || c != 0 {
				return c, err
			}
		}
		return 0, nil
	}
	return &out, nil
}
