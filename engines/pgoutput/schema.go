package pgoutput

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vstreamd/vstreamd/engines"
)

// table is a streamed table as the engine reads it.
type table struct {
	name     string
	oid      uint32
	columns  []column
	key      []int
	keyKind  engines.KeyKind
	identity string // replica identity: d default, f full, i index, n nothing
	// toast lists columns whose unchanged values an UPDATE may leave out
	// (TOAST-able types).
	toast bool
}

func (t *table) names() []string {
	n := make([]string, len(t.columns))
	for i := range t.columns {
		n[i] = t.columns[i].name
	}
	return n
}

// querier is a database handle or a connection in a snapshot.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readTable reads one table of schema from the catalog.
func readTable(ctx context.Context, db querier, schema, name string) (*table, error) {
	t := &table{name: name}
	err := db.QueryRowContext(ctx, `
		SELECT c.oid, c.relreplident::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`, schema, name).Scan(&t.oid, &t.identity)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s.%s", engines.ErrTableNotFound, schema, name)
	}
	if err != nil {
		return nil, err
	}
	var defaultC bool
	if err := db.QueryRowContext(ctx, `SELECT datcollate IN ('C', 'POSIX') FROM pg_database WHERE datname = current_database()`).Scan(&defaultC); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `
		SELECT a.attname, t.oid, a.atttypmod, t.typtype::text, t.typcategory::text, t.typstorage::text,
		       COALESCE(e.oid, 0), COALESCE(e.typtype::text, ''), COALESCE(e.typcategory::text, ''),
		       a.attnotnull, COALESCE(co.collname, ''),
		       COALESCE((SELECT json_agg(enumlabel ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid)::text, '[]'),
		       COALESCE((SELECT json_agg(enumlabel ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = e.oid)::text, '[]')
		FROM pg_attribute a
		JOIN pg_type t ON t.oid = CASE WHEN (SELECT typtype FROM pg_type WHERE oid = a.atttypid) = 'd'
		                               THEN (SELECT typbasetype FROM pg_type WHERE oid = a.atttypid) ELSE a.atttypid END
		LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
		LEFT JOIN pg_collation co ON co.oid = a.attcollation
		WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY a.attnum`, t.oid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c column
		var storage, etype, ecat, coll string
		var eoid uint32
		var notNull bool
		var labels, elabels string
		if err := rows.Scan(&c.name, &c.typ.oid, &c.typ.typmod, &c.typ.typtype, &c.typ.category, &storage,
			&eoid, &etype, &ecat, &notNull, &coll, &labels, &elabels); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(labels), &c.typ.labels); err != nil {
			return nil, err
		}
		if eoid != 0 {
			c.typ.elem = &pgType{oid: eoid, typmod: -1, typtype: etype, category: ecat}
			if err := json.Unmarshal([]byte(elabels), &c.typ.elem.labels); err != nil {
				return nil, err
			}
		}
		c.nullable = !notNull
		c.kind, c.mysql = mapType(c.typ)
		if c.kind == kText || c.kind == kEnum {
			c.cText = c.kind == kText && coll != "" && !(coll == "C" || coll == "POSIX" || (coll == "default" && defaultC))
		}
		if storage != "p" {
			t.toast = true
		}
		t.columns = append(t.columns, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return t, readKey(ctx, db, t)
}

// readKey picks the streaming key: the primary key, else the replica
// identity index, else a unique index over NOT NULL columns, else every
// column.
func readKey(ctx context.Context, db querier, t *table) error {
	var colsJSON string
	var primary bool
	err := db.QueryRowContext(ctx, `
		SELECT to_json(i.indkey::int2[])::text, i.indisprimary FROM pg_index i
		WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indisvalid
		  AND (i.indisprimary OR i.indisreplident OR NOT EXISTS (
		        SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) AND NOT a.attnotnull))
		ORDER BY i.indisprimary DESC, i.indisreplident DESC, i.indnkeyatts, i.indexrelid
		LIMIT 1`, t.oid).Scan(&colsJSON, &primary)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		t.keyKind = engines.AllColumns
		for i := range t.columns {
			t.key = append(t.key, i)
		}
		return nil
	case err != nil:
		return err
	}
	var cols, nums []int64
	var numsJSON string
	if err := db.QueryRowContext(ctx, `SELECT json_agg(attnum ORDER BY attnum)::text FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped`, t.oid).Scan(&numsJSON); err != nil {
		return err
	}
	if err := errors.Join(json.Unmarshal([]byte(colsJSON), &cols), json.Unmarshal([]byte(numsJSON), &nums)); err != nil {
		return err
	}
	for _, k := range cols {
		for i, n := range nums {
			if n == k {
				t.key = append(t.key, i)
			}
		}
	}
	t.keyKind = engines.UniqueKey
	if primary {
		t.keyKind = engines.PrimaryKey
	}
	return nil
}

// listTables lists the schema's tables.
func listTables(ctx context.Context, db *sql.DB, schema string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`, schema)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// engineTable describes t in the contract's terms.
func (t *table) engineTable() *engines.Table {
	et := &engines.Table{Name: t.name, Key: t.key, KeyKind: t.keyKind}
	for _, c := range t.columns {
		col := engines.Column{Name: c.name, Type: c.mysql, Nullable: c.nullable}
		if c.kind == kText && strings.Contains(c.mysql, "char") || c.mysql == "longtext" {
			col.Collation = "utf8mb4_bin"
		}
		et.Columns = append(et.Columns, col)
	}
	cols := t.columns
	key := t.key
	et.CompareKeys = func(a, b []any) (int, error) {
		for i, k := range key {
			x, y := a[i], b[i]
			switch {
			case x == nil && y == nil:
				continue
			case x == nil:
				return 1, nil // NULLS LAST, as ORDER BY … ASC
			case y == nil:
				return -1, nil
			}
			c, err := cols[k].compareValues(x, y)
			if err != nil || c != 0 {
				return c, err
			}
		}
		return 0, nil
	}
	return et
}
