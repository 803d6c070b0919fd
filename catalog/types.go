package catalog

import (
	"fmt"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/planbuilder"

	"github.com/vstreamd/vstreamd/engines"
)

// columnOf maps an engine column (described in MySQL terms) to a GMS column
// of the same MySQL type.
func columnOf(ctx *sql.Context, ks, table string, c engines.Column, key bool) (*sql.Column, error) {
	typeText := c.Type
	if c.Collation != "" && !strings.Contains(strings.ToLower(typeText), "collate") {
		typeText += " COLLATE " + c.Collation
	}
	typ, err := planbuilder.ParseColumnTypeString(ctx, typeText)
	if err != nil && typeText != c.Type {
		// A collation go-mysql-server does not know (MariaDB's uca1400 …):
		// the column keeps its type with the default collation.
		typ, err = planbuilder.ParseColumnTypeString(ctx, c.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("column %s.%s: type %q: %w", table, c.Name, c.Type, err)
	}
	return &sql.Column{
		Name: c.Name, Type: typ, Nullable: c.Nullable, PrimaryKey: key,
		AutoIncrement: c.AutoIncrement, Comment: c.Comment,
		Source: table, DatabaseSource: ks,
	}, nil
}

// converter turns an engine value into the Go value of a GMS column type.
type converter func(ctx *sql.Context, v any) (any, error)

// converterFor returns the conversion for one column. Engine values are
// strings, numbers, []byte and time.Time (package engines); the column's
// type converts them, exactly as it would a literal of that text.
func converterFor(col *sql.Column) converter {
	typ := col.Type
	return func(ctx *sql.Context, v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		if t, ok := v.(time.Time); ok && t.Location() != time.UTC {
			v = t.UTC()
		}
		out, _, err := typ.Convert(ctx, v)
		if err != nil {
			return nil, fmt.Errorf("column %s: value %v: %w", col.Name, v, err)
		}
		return out, nil
	}
}
