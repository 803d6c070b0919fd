package embedded

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/vstreamd/vstreamd/engines"
)

var (
	_ sql.AlterableTable      = (*table)(nil)
	_ sql.IndexAlterableTable = (*table)(nil)
	_ sql.IndexAddressable    = (*table)(nil)
)

// AddColumn implements sql.AlterableTable: every row gets the column's
// default (NULL without one).
func (t *table) AddColumn(ctx *sql.Context, column *sql.Column, order *sql.ColumnOrder) error {
	return t.rewrite(ctx, func(cols sql.Schema) (sql.Schema, func(sql.Row) (sql.Row, error), error) {
		for _, c := range cols {
			if strings.EqualFold(c.Name, column.Name) {
				return nil, nil, sql.ErrColumnExists.New(column.Name)
			}
		}
		at, err := position(cols, len(cols), order)
		if err != nil {
			return nil, nil, err
		}
		var def any
		if column.Default != nil {
			if def, err = column.Default.Eval(ctx, nil); err != nil {
				return nil, nil, err
			}
			if def, _, err = column.Type.Convert(ctx, def); err != nil {
				return nil, nil, err
			}
		}
		if def == nil && !column.Nullable && !column.AutoIncrement {
			if def = column.Type.Zero(); def == nil {
				return nil, nil, fmt.Errorf("column %s: NOT NULL needs a DEFAULT", column.Name)
			}
		}
		out := insertAt(cols, at, column)
		return out, func(r sql.Row) (sql.Row, error) { return insertAt(r, at, def), nil }, nil
	})
}

// DropColumn implements sql.AlterableTable.
func (t *table) DropColumn(ctx *sql.Context, name string) error {
	return t.rewrite(ctx, func(cols sql.Schema) (sql.Schema, func(sql.Row) (sql.Row, error), error) {
		i := cols.IndexOfColName(name)
		if i < 0 {
			return nil, nil, sql.ErrTableColumnNotFound.New(t.def.name, name)
		}
		if cols[i].PrimaryKey {
			return nil, nil, t.db.fail(engines.Errorf(engines.ErrUnsupported, "embedded keyspaces cannot drop primary key column %s", name))
		}
		out := append(append(sql.Schema{}, cols[:i]...), cols[i+1:]...)
		return out, func(r sql.Row) (sql.Row, error) {
			return append(append(sql.Row{}, r[:i]...), r[i+1:]...), nil
		}, nil
	})
}

// ModifyColumn implements sql.AlterableTable: rename, retype (values are
// converted, a value that does not fit fails the statement) or move.
func (t *table) ModifyColumn(ctx *sql.Context, name string, column *sql.Column, order *sql.ColumnOrder) error {
	return t.rewrite(ctx, func(cols sql.Schema) (sql.Schema, func(sql.Row) (sql.Row, error), error) {
		from := cols.IndexOfColName(name)
		if from < 0 {
			return nil, nil, sql.ErrTableColumnNotFound.New(t.def.name, name)
		}
		nc := *column
		nc.PrimaryKey = cols[from].PrimaryKey
		rest := append(append(sql.Schema{}, cols[:from]...), cols[from+1:]...)
		to := from
		if order != nil {
			var err error
			if to, err = position(rest, from, order); err != nil {
				return nil, nil, err
			}
		}
		out := insertAt(rest, to, &nc)
		return out, func(r sql.Row) (sql.Row, error) {
			v := r[from]
			if v != nil {
				var err error
				if v, _, err = nc.Type.Convert(ctx, v); err != nil {
					return nil, fmt.Errorf("column %s: %w", nc.Name, err)
				}
			}
			row := append(append(sql.Row{}, r[:from]...), r[from+1:]...)
			return insertAt(row, to, v), nil
		}, nil
	})
}

// position is where a column goes: first, after a column, or at def.
func position(cols sql.Schema, def int, order *sql.ColumnOrder) (int, error) {
	switch {
	case order == nil:
		return def, nil
	case order.First:
		return 0, nil
	case order.AfterColumn != "":
		i := cols.IndexOfColName(order.AfterColumn)
		if i < 0 {
			return 0, sql.ErrTableColumnNotFound.New("", order.AfterColumn)
		}
		return i + 1, nil
	}
	return def, nil
}

func insertAt[T any](s []T, i int, v T) []T {
	out := make([]T, 0, len(s)+1)
	out = append(out, s[:i]...)
	out = append(out, v)
	return append(out, s[i:]...)
}

// rewrite applies a column change: a new definition, and every committed
// row converted. It is DDL: logged as a schema change of the table.
func (t *table) rewrite(ctx *sql.Context, change func(sql.Schema) (sql.Schema, func(sql.Row) (sql.Row, error), error)) error {
	db := t.db
	return db.ddl(ctx, func() error {
		st := db.state(t.def.name)
		if st == nil {
			return sql.ErrTableNotFound.New(t.def.name)
		}
		old := st.def
		cols, conv, err := change(old.schema.Schema)
		if err != nil {
			return err
		}
		var pk []int
		for i, c := range cols {
			if c.PrimaryKey {
				pk = append(pk, i)
			}
		}
		// Keep the primary key's own column order.
		ordered := make([]int, 0, len(pk))
		for _, o := range old.schema.PkOrdinals {
			name := old.schema.Schema[o].Name
			if i := cols.IndexOfColName(name); i >= 0 {
				ordered = append(ordered, i)
			}
		}
		if len(ordered) == len(pk) {
			pk = ordered
		}
		def := newTableDef(db.name, old.name, sql.NewPrimaryKeySchema(cols, pk...), old.collation, old.comment)
		def.indexes = old.indexes
		tr := def.newTree()
		c := old.newCursor(st.tree, nil)
		for it, ok := c.next(); ok; it, ok = c.next() {
			row, err := conv(it.row)
			if err != nil {
				return err
			}
			tr.ReplaceOrInsert(item{row: row, seq: it.seq})
		}
		st.def, st.tree = def, tr
		return nil
	}, t.def.name)
}

// CreateIndex implements sql.IndexAlterableTable. Secondary indexes are
// kept as metadata (SHOW CREATE TABLE, SHOW INDEX, information_schema);
// they do not speed up queries. UNIQUE secondary keys are refused: the
// engine enforces only the primary key.
func (t *table) CreateIndex(ctx *sql.Context, idx sql.IndexDef) error {
	if idx.IsUnique() {
		return t.db.fail(engines.Errorf(engines.ErrUnsupported,
			"embedded keyspaces enforce only the PRIMARY KEY; UNIQUE key %q on %s is not supported (use a plain KEY)", idx.Name, t.def.name))
	}
	if idx.IsSpatial() || idx.IsFullText() || idx.IsVector() || idx.Predicate != nil {
		return t.db.fail(engines.Errorf(engines.ErrUnsupported, "embedded keyspaces support plain and primary keys only (index %q)", idx.Name))
	}
	return t.redefine(ctx, func(def *tableDef) error {
		for _, x := range def.indexes {
			if strings.EqualFold(x.Name, idx.Name) {
				return sql.ErrDuplicateKey.New(idx.Name)
			}
		}
		def.indexes = append(append([]sql.IndexDef(nil), def.indexes...), idx)
		return nil
	})
}

// DropIndex implements sql.IndexAlterableTable.
func (t *table) DropIndex(ctx *sql.Context, name string) error {
	return t.redefine(ctx, func(def *tableDef) error {
		for i, x := range def.indexes {
			if strings.EqualFold(x.Name, name) {
				def.indexes = append(append([]sql.IndexDef(nil), def.indexes[:i]...), def.indexes[i+1:]...)
				return nil
			}
		}
		return sql.ErrIndexNotFound.New(name)
	})
}

// RenameIndex implements sql.IndexAlterableTable.
func (t *table) RenameIndex(ctx *sql.Context, from, to string) error {
	return t.redefine(ctx, func(def *tableDef) error {
		for i, x := range def.indexes {
			if strings.EqualFold(x.Name, from) {
				def.indexes = append([]sql.IndexDef(nil), def.indexes...)
				def.indexes[i].Name = to
				return nil
			}
		}
		return sql.ErrIndexNotFound.New(from)
	})
}

// redefine changes a table's metadata without touching its rows.
func (t *table) redefine(ctx *sql.Context, change func(*tableDef) error) error {
	db := t.db
	return db.ddl(ctx, func() error {
		st := db.state(t.def.name)
		if st == nil {
			return sql.ErrTableNotFound.New(t.def.name)
		}
		def := *st.def
		if err := change(&def); err != nil {
			return err
		}
		st.def = &def
		return nil
	}, t.def.name)
}

// GetIndexes implements sql.IndexAddressable: PRIMARY and the secondary
// keys, none usable for lookups.
func (t *table) GetIndexes(ctx *sql.Context) ([]sql.Index, error) {
	t.db.mu.Lock()
	st := t.db.state(t.def.name)
	t.db.mu.Unlock()
	if st == nil {
		return nil, nil
	}
	def := st.def
	var out []sql.Index
	if !def.keyless {
		cols := make([]string, len(def.key))
		for i, k := range def.key {
			cols[i] = def.schema.Schema[k].Name
		}
		out = append(out, &index{db: t.db.name, table: def.name, name: "PRIMARY", cols: cols, unique: true, schema: def.schema.Schema})
	}
	for _, x := range def.indexes {
		cols := make([]string, len(x.Columns))
		for i, c := range x.Columns {
			cols[i] = c.Name
		}
		out = append(out, &index{db: t.db.name, table: def.name, name: x.Name, cols: cols, comment: x.Comment, schema: def.schema.Schema})
	}
	return out, nil
}

// IndexedAccess implements sql.IndexAddressable: no index serves lookups.
func (t *table) IndexedAccess(*sql.Context, sql.IndexLookup) sql.IndexedTable { return nil }

// PreciseMatch implements sql.IndexAddressable.
func (t *table) PreciseMatch() bool { return false }

// index describes a key for SHOW INDEX and information_schema.
type index struct {
	db, table, name, comment string
	cols                     []string
	unique                   bool
	schema                   sql.Schema
}

func (x *index) ID() string        { return x.name }
func (x *index) Database() string  { return x.db }
func (x *index) Table() string     { return x.table }
func (x *index) IsUnique() bool    { return x.unique }
func (x *index) IsSpatial() bool   { return false }
func (x *index) IsFullText() bool  { return false }
func (x *index) IsVector() bool    { return false }
func (x *index) Comment() string   { return x.comment }
func (x *index) IndexType() string { return "BTREE" }
func (x *index) IsGenerated() bool { return false }

func (x *index) Expressions() []string {
	out := make([]string, len(x.cols))
	for i, c := range x.cols {
		out[i] = x.table + "." + c
	}
	return out
}

func (x *index) ColumnExpressionTypes(*sql.Context) []sql.ColumnExpressionType {
	out := make([]sql.ColumnExpressionType, len(x.cols))
	for i, c := range x.cols {
		var typ sql.Type
		if j := x.schema.IndexOfColName(c); j >= 0 {
			typ = x.schema[j].Type
		}
		out[i] = sql.ColumnExpressionType{Expression: x.table + "." + c, Type: typ}
	}
	return out
}

func (x *index) CanSupport(*sql.Context, ...sql.Range) bool { return false }
func (x *index) CanSupportOrderBy(sql.Expression) bool      { return false }
func (x *index) PrefixLengths() []uint16                    { return nil }
