package mssqlcdc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// captureInstance is one capture instance of a table, as
// sys.sp_cdc_help_change_data_capture describes it.
type captureInstance struct {
	name     string
	schema   string
	table    string
	startLSN lsn // the low end of its validity interval; zero until established
	created  time.Time
	role     string
}

// table is a streamed table as the engine reads it.
type table struct {
	name     string
	schema   string
	objectID int64
	ci       captureInstance
	others   []captureInstance // the table's other capture instance, if any
	columns  []column          // the streamed columns, in table order
	key      []int
	keyKind  engines.KeyKind
	identity []bool
	// uncaptured names columns of the table its capture instance does not
	// capture (added since, or left out of @captured_column_list) and
	// computed columns (always NULL in change rows): they are not streamed.
	uncaptured []string
	colNames   []string
}

func (t *table) qualified() string { return quoteName(t.schema) + "." + quoteName(t.name) }

// names are the streamed columns' names (one slice, shared: read only).
func (t *table) names() []string {
	if t.colNames == nil {
		t.colNames = make([]string, len(t.columns))
		for i := range t.columns {
			t.colNames[i] = t.columns[i].name
		}
	}
	return t.colNames
}

// captureInstances lists the capture instances of the source's schema the
// user may read.
func (s *Source) captureInstances(ctx context.Context) ([]captureInstance, error) {
	var out []captureInstance
	err := procRows(ctx, s.db, qCaptureInstances, nil, func(names []string, vals []any) error {
		var ci captureInstance
		var err error
		for i, n := range names {
			switch strings.ToLower(n) {
			case "source_schema":
				ci.schema = asString(vals[i])
			case "source_table":
				ci.table = asString(vals[i])
			case "capture_instance":
				ci.name = asString(vals[i])
			case "role_name":
				ci.role = asString(vals[i])
			case "create_date":
				ci.created, _ = vals[i].(time.Time)
			case "start_lsn":
				if ci.startLSN, err = lsnValue(vals[i]); err != nil {
					return fmt.Errorf("sp_cdc_help_change_data_capture start_lsn: %w", err)
				}
			}
		}
		if strings.EqualFold(ci.schema, s.cfg.Schema) {
			out = append(out, ci)
		}
		return nil
	})
	return out, err
}

func asString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

// listTables lists the CDC-enabled tables of the schema the user may read.
func (s *Source) listTables(ctx context.Context) ([]string, error) {
	cis, err := s.captureInstances(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, ci := range cis {
		if !seen[strings.ToLower(ci.table)] {
			seen[strings.ToLower(ci.table)] = true
			out = append(out, ci.table)
		}
	}
	sort.Strings(out)
	return out, nil
}

// sourceColumn is a column of the table as sys.columns has it.
type sourceColumn struct {
	column
	computed bool
	identity bool
}

// readTable describes one table: its capture instance (see
// chooseInstance), the columns it captures, and the streaming key.
func (s *Source) readTable(ctx context.Context, name string) (*table, error) {
	cis, err := s.captureInstances(ctx)
	if err != nil {
		return nil, err
	}
	var mine []captureInstance
	for _, ci := range cis {
		if strings.EqualFold(ci.table, name) {
			mine = append(mine, ci)
		}
	}
	t := &table{schema: s.cfg.Schema, name: name}
	var tracked bool
	err = s.db.QueryRowContext(ctx, qTable, t.qualified()).Scan(&t.objectID, &tracked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s.%s (or %s may not see it: GRANT SELECT ON %s TO %s)", engines.ErrTableNotFound, s.cfg.Schema, name, s.cfg.User, t.qualified(), quoteName(s.cfg.User))
	}
	if err != nil {
		return nil, err
	}
	if len(mine) == 0 {
		if !tracked {
			return nil, engines.Errorf(engines.ErrMisconfigured, "SQL Server %s: change data capture is not enabled for table %s: as a db_owner, EXEC sys.sp_cdc_enable_table @source_schema = %s, @source_name = %s, @role_name = NULL (or a gating role %s is a member of)",
				s.cfg.Redacted, t.qualified(), quoteString(s.cfg.Schema), quoteString(name), s.cfg.User)
		}
		return nil, engines.Errorf(engines.ErrMisconfigured, "SQL Server %s: table %s is captured, but %s may not read its changes: it needs SELECT on every captured column and membership in the capture instance's gating role (cdc.change_tables.role_name): GRANT SELECT ON %s TO %s; ALTER ROLE <role_name> ADD MEMBER %s",
			s.cfg.Redacted, t.qualified(), s.cfg.User, t.qualified(), quoteName(s.cfg.User), quoteName(s.cfg.User))
	}
	src, err := s.sourceColumns(ctx, t.objectID)
	if err != nil {
		return nil, err
	}
	captured := map[string][]int{} // capture instance → captured column ids
	for _, ci := range mine {
		if captured[ci.name], err = s.capturedColumns(ctx, ci.name); err != nil {
			return nil, err
		}
	}
	ci, err := s.chooseInstance(t, mine, captured, src)
	if err != nil {
		return nil, err
	}
	t.ci = ci
	for _, o := range mine {
		if o.name != ci.name {
			t.others = append(t.others, o)
		}
	}
	take := map[int]bool{}
	for _, id := range captured[ci.name] {
		take[id] = true
	}
	for _, c := range src {
		if !take[c.id] || c.computed {
			t.uncaptured = append(t.uncaptured, c.name)
			continue
		}
		t.columns = append(t.columns, c.column)
		t.identity = append(t.identity, c.identity)
	}
	if len(t.uncaptured) > 0 {
		s.warnOnce(t.name+"\x00"+ci.name, "columns of the table are not streamed: its capture instance does not capture them (or they are computed); create a capture instance that does (sys.sp_cdc_enable_table with a new @capture_instance)",
			"table", t.qualified(), "capture_instance", ci.name, "columns", strings.Join(t.uncaptured, ","))
	}
	if err := s.readKey(ctx, t); err != nil {
		return nil, err
	}
	if len(t.key) == 0 {
		return nil, engines.Errorf(engines.ErrUnsupported, "SQL Server %s: table %s has no key and no column SQL Server can order (text, ntext, image, xml and spatial columns cannot be): give it a primary key", s.cfg.Redacted, t.qualified())
	}
	return t, nil
}

// chooseInstance picks the capture instance a table is streamed from: one
// named by the URL's capture_instance parameter, else the newest whose
// captured columns all still exist in the table. A table has two capture
// instances while a schema change is rolled out (the old one, created
// before an ALTER TABLE, and a new one created after it); the newest one
// that matches the table is the one made for its current shape, and while
// it is still being created, the older one keeps serving.
func (s *Source) chooseInstance(t *table, cis []captureInstance, captured map[string][]int, src []sourceColumn) (captureInstance, error) {
	have := map[int]bool{}
	for _, c := range src {
		have[c.id] = true
	}
	matches := func(ci captureInstance) bool {
		for _, id := range captured[ci.name] {
			if !have[id] {
				return false
			}
		}
		return len(captured[ci.name]) > 0
	}
	for _, ci := range cis {
		if s.cfg.pinned(ci.name) {
			if !matches(ci) {
				return ci, engines.Errorf(engines.ErrMisconfigured, "SQL Server %s: capture instance %s (URL parameter capture_instance) captures columns table %s no longer has: name a capture instance made after the change, or drop the parameter", s.cfg.Redacted, ci.name, t.qualified())
			}
			return ci, nil
		}
	}
	sort.SliceStable(cis, func(i, j int) bool {
		if !cis[i].created.Equal(cis[j].created) {
			return cis[i].created.After(cis[j].created)
		}
		return cis[i].startLSN.compare(cis[j].startLSN) > 0
	})
	for _, ci := range cis {
		if matches(ci) {
			return ci, nil
		}
	}
	return captureInstance{}, engines.Errorf(engines.ErrMisconfigured, "SQL Server %s: no capture instance of table %s matches its columns (a captured column was dropped or recreated): create one for the current table with EXEC sys.sp_cdc_enable_table @source_schema = %s, @source_name = %s, @role_name = NULL, @capture_instance = N'<new name>'",
		s.cfg.Redacted, t.qualified(), quoteString(t.schema), quoteString(t.name))
}

// capturedColumns lists the column ids a capture instance captures.
func (s *Source) capturedColumns(ctx context.Context, ci string) ([]int, error) {
	var ids []int
	err := procRows(ctx, s.db, qCapturedColumns, []any{ci}, func(names []string, vals []any) error {
		for i, n := range names {
			if strings.EqualFold(n, "column_id") {
				id, ok := vals[i].(int64)
				if !ok {
					return fmt.Errorf("sp_cdc_get_captured_columns: column_id %v (%T)", vals[i], vals[i])
				}
				ids = append(ids, int(id))
			}
		}
		return nil
	})
	return ids, err
}

// procRows runs a query whose result columns are known by name only (a
// system procedure's) and calls f with the names and each row's values.
func procRows(ctx context.Context, db *sql.DB, query string, args []any, f func(names []string, vals []any) error) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		clear(vals)
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := f(names, vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

// sourceColumns reads the table's columns from sys.columns.
func (s *Source) sourceColumns(ctx context.Context, objectID int64) ([]sourceColumn, error) {
	rows, err := s.db.QueryContext(ctx, qColumns, objectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sourceColumn
	for rows.Next() {
		var c sourceColumn
		var maxLen, prec, scale int64
		var coll sql.NullString
		if err := rows.Scan(&c.id, &c.name, &c.typ.name, &maxLen, &prec, &scale, &c.nullable, &coll, &c.computed, &c.identity); err != nil {
			return nil, err
		}
		c.typ.name = strings.ToLower(c.typ.name)
		c.typ.maxLength, c.typ.precision, c.typ.scale, c.typ.collation = int(maxLen), int(prec), int(scale), coll.String
		c.kind, c.mysql = mapType(c.typ)
		out = append(out, c)
	}
	return out, rows.Err()
}

// readKey picks the streaming key among the streamed columns: the primary
// key, else a unique index over NOT NULL columns, else every column that
// can be ordered.
func (s *Source) readKey(ctx context.Context, t *table) error {
	pos := map[int]int{} // column_id → index in t.columns
	for i, c := range t.columns {
		pos[c.id] = i
	}
	type index struct {
		id      int64
		primary bool
		cols    []int
	}
	var idx []*index
	byID := map[int64]*index{}
	rows, err := s.db.QueryContext(ctx, qUniqueIndexes, t.objectID)
	if err != nil {
		return err
	}
	for rows.Next() {
		x := &index{}
		if err := rows.Scan(&x.id, &x.primary); err != nil {
			rows.Close()
			return err
		}
		idx = append(idx, x)
		byID[x.id] = x
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = s.db.QueryContext(ctx, qIndexColumns, t.objectID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, col int64
		if err := rows.Scan(&id, &col); err != nil {
			rows.Close()
			return err
		}
		if x := byID[id]; x != nil {
			x.cols = append(x.cols, int(col))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, x := range idx {
		usable := len(x.cols) > 0
		var key []int
		for _, id := range x.cols {
			i, ok := pos[id]
			if !ok || (!x.primary && t.columns[i].nullable) || !t.columns[i].comparable() {
				usable = false
				break
			}
			key = append(key, i)
		}
		if usable {
			t.key, t.keyKind = key, engines.UniqueKey
			if x.primary {
				t.keyKind = engines.PrimaryKey
			}
			break
		}
	}
	if t.key == nil {
		t.keyKind = engines.AllColumns
		for i := range t.columns {
			if t.columns[i].comparable() {
				t.key = append(t.key, i)
			}
		}
	}
	for _, k := range t.key {
		t.columns[k].key = true
	}
	return nil
}

// engineTable describes t in the contract's terms.
func (t *table) engineTable() *engines.Table {
	et := &engines.Table{Name: t.name, Key: t.key, KeyKind: t.keyKind, CompareKeys: t.compareKeys}
	for i, c := range t.columns {
		col := engines.Column{Name: c.name, Type: c.mysql, Nullable: c.nullable, AutoIncrement: t.identity[i]}
		if c.kind == kString {
			col.Collation = mysqlCollation(c.typ.collation)
		}
		et.Columns = append(et.Columns, col)
	}
	return et
}

// mysqlCollation names the MySQL collation closest to a SQL Server one in
// what a filter on the column compares: case-insensitive or not.
func mysqlCollation(c string) string {
	u := strings.ToUpper(c)
	if strings.Contains(u, "_BIN") || strings.Contains(u, "_CS") {
		return "utf8mb4_0900_bin"
	}
	return "utf8mb4_0900_ai_ci"
}
