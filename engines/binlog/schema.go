package binlog

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/vstreamd/vstreamd/engines"
)

// tableInfo is a table's schema as the engine needs it: the engine
// description plus how to decode each column.
type tableInfo struct {
	desc  *engines.Table
	cols  []column
	names []string
}

// readTable reads a table's columns and streaming key from
// information_schema.
func readTable(ctx context.Context, db *sql.DB, schema, name string) (*tableInfo, error) {
	rows, err := db.QueryContext(ctx, `SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE,
		COALESCE(COLLATION_NAME, ''), COALESCE(CHARACTER_SET_NAME, ''), COLUMN_DEFAULT, EXTRA, COLUMN_COMMENT
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, schema, name)
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s.%s: %w", schema, name, err)
	}
	defer rows.Close()
	t := &tableInfo{desc: &engines.Table{Name: name}}
	for rows.Next() {
		var c column
		var nullable, extra, comment string
		var def sql.NullString
		if err := rows.Scan(&c.name, &c.columnType, &c.dataType, &nullable, &c.collation, &c.charset, &def, &extra, &comment); err != nil {
			return nil, err
		}
		c.init()
		if (c.kind == kEnum || c.kind == kSet) && lossyLabels(c.labels) {
			exactLabels(ctx, db, schema, name, &c)
		}
		ec := engines.Column{
			Name: c.name, Type: c.columnType, Nullable: nullable == "YES",
			AutoIncrement: strings.Contains(strings.ToLower(extra), "auto_increment"), Comment: comment,
		}
		if c.collation != "" && isCharacter(c.kind) {
			ec.Collation = c.collation
		}
		if def.Valid {
			ec.Default = def.String
		}
		t.cols = append(t.cols, c)
		t.names = append(t.names, c.name)
		t.desc.Columns = append(t.desc.Columns, ec)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(t.cols) == 0 {
		return nil, engines.Errorf(engines.ErrTableNotFound, "Table '%s.%s' doesn't exist", schema, name)
	}
	if err := readKey(ctx, db, schema, t); err != nil {
		return nil, err
	}
	return t, nil
}

// lossyLabels reports whether ENUM or SET members may have lost characters:
// MySQL's and MariaDB's metadata (information_schema, SHOW CREATE TABLE)
// hold them in utf8mb3, where a character outside it (an emoji) reads '?'.
func lossyLabels(labels []string) bool {
	for _, l := range labels {
		if strings.Contains(l, "?") {
			return true
		}
	}
	return false
}

// exactLabels reads the members of an ENUM or SET column exactly: MariaDB
// gives a variable the column's type (TYPE OF) in a compound statement,
// which needs no privilege beyond SELECT; setting it to each index (ENUM)
// or bit (SET) yields each member in the column's character set. Servers
// without compound statements outside routines (MySQL) keep the members
// as the metadata shows them.
func exactLabels(ctx context.Context, db *sql.DB, schema, table string, c *column) {
	value := "i"
	if c.kind == kSet {
		value = "1 << (i - 1)"
	}
	q := fmt.Sprintf("BEGIN NOT ATOMIC DECLARE x TYPE OF %s.%s.%s; DECLARE i INT DEFAULT 1; DECLARE o LONGTEXT DEFAULT ''; "+
		"WHILE i <= %d DO SET x = %s; SET o = CONCAT(o, HEX(x), ','); SET i = i + 1; END WHILE; SELECT o; END",
		quoteName(schema), quoteName(table), quoteName(c.name), len(c.labels), value)
	var out string
	if err := db.QueryRowContext(ctx, q).Scan(&out); err != nil {
		return
	}
	parts := strings.Split(strings.TrimSuffix(out, ","), ",")
	if len(parts) != len(c.labels) {
		return
	}
	decode := decoderFor(c.charset)
	labels := make([]string, len(parts))
	for i, h := range parts {
		b, err := hex.DecodeString(h)
		if err != nil {
			return
		}
		labels[i] = string(b)
		if decode != nil {
			labels[i] = decode(b)
		}
	}
	c.labels = labels
	c.columnType = labelsType(c.columnType, labels)
}

// labelsType rewrites the members of "enum(…)" or "set(…)" (and keeps what
// follows the list).
func labelsType(columnType string, labels []string) string {
	i := strings.IndexByte(columnType, '(')
	j := strings.LastIndexByte(columnType, ')')
	if i < 0 || j < i {
		return columnType
	}
	q := make([]string, len(labels))
	for k, l := range labels {
		q[k] = "'" + strings.ReplaceAll(strings.ReplaceAll(l, `\`, `\\`), "'", "''") + "'"
	}
	return columnType[:i+1] + strings.Join(q, ",") + columnType[j:]
}

// readKey picks the streaming key: the primary key, else a unique key over
// NOT NULL columns (the first by name), else every column.
func readKey(ctx context.Context, db *sql.DB, schema string, t *tableInfo) error {
	rows, err := db.QueryContext(ctx, `SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, NULLABLE
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		ORDER BY INDEX_NAME, SEQ_IN_INDEX`, schema, t.desc.Name)
	if err != nil {
		return fmt.Errorf("reading the keys of %s.%s: %w", schema, t.desc.Name, err)
	}
	defer rows.Close()
	type index struct {
		cols     []string
		unique   bool
		nullable bool
	}
	idx := map[string]*index{}
	var names []string
	for rows.Next() {
		var name, col, nullable string
		var nonUnique int
		if err := rows.Scan(&name, &nonUnique, &col, &nullable); err != nil {
			return err
		}
		x := idx[name]
		if x == nil {
			x = &index{unique: nonUnique == 0}
			idx[name] = x
			names = append(names, name)
		}
		x.cols = append(x.cols, col)
		x.nullable = x.nullable || nullable == "YES"
	}
	if err := rows.Err(); err != nil {
		return err
	}
	sort.Strings(names)
	pick := func(cols []string, kind engines.KeyKind) {
		for _, c := range cols {
			for i, n := range t.names {
				if strings.EqualFold(n, c) {
					t.desc.Key = append(t.desc.Key, i)
				}
			}
		}
		t.desc.KeyKind = kind
	}
	if x, ok := idx["PRIMARY"]; ok {
		pick(x.cols, engines.PrimaryKey)
		return nil
	}
	for _, n := range names {
		if x := idx[n]; x.unique && !x.nullable {
			pick(x.cols, engines.UniqueKey)
			return nil
		}
	}
	for i := range t.names {
		t.desc.Key = append(t.desc.Key, i)
	}
	t.desc.KeyKind = engines.AllColumns
	return nil
}

// listTables lists the base tables of schema.
func listTables(ctx context.Context, db *sql.DB, schema string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`, schema)
	if err != nil {
		return nil, fmt.Errorf("listing the tables of %s: %w", schema, err)
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

// quoteName quotes an identifier for MySQL.
func quoteName(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
