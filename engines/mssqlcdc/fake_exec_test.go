package mssqlcdc

// The fake SQL Server's statement execution.

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"strings"
)

// relation is rows with named columns: a table, a view, a function's
// result or a query's.
type relation struct {
	cols  []string
	types []*ftype // nil where the values' Go types say enough
	rows  [][]any
	table *ftable
}

func (r *relation) index(name string) int {
	for i, c := range r.cols {
		if strings.EqualFold(c, name) {
			return i
		}
	}
	return -1
}

// result is what a statement returns.
type result struct {
	rel      *relation // nil for a statement without rows
	affected int64
}

// run executes one statement in tx.
func (c *fconn) run(ctx context.Context, tx *ftxn, q string, args map[string]any) (*result, error) {
	st, err := parseStatement(q)
	if err != nil {
		return nil, fmt.Errorf("fake SQL Server cannot run %q: %w", q, err)
	}
	e := &env{c: c, tx: tx, args: args, ctx: ctx}
	switch st := st.(type) {
	case *stSelect:
		rel, err := e.query(st)
		if err != nil {
			return nil, err
		}
		return &result{rel: rel}, nil
	case *stInsert, *stUpdate, *stDelete:
		return e.dml(st)
	case *stCreate:
		return &result{}, c.srv.create(st)
	case *stAlterAdd:
		return &result{}, c.srv.alterAdd(st)
	case *stDrop:
		return &result{}, c.srv.drop(st)
	case *stExec:
		rel, err := e.exec(st)
		return &result{rel: rel}, err
	}
	return nil, fmt.Errorf("fake SQL Server: statement %T", st)
}

// env evaluates expressions: a statement's parameters and the current row.
type env struct {
	ctx  context.Context
	c    *fconn
	tx   *ftxn
	args map[string]any
	rel  *relation
	row  []any
}

func (e *env) query(st *stSelect) (*relation, error) {
	src := &relation{rows: [][]any{{}}}
	if st.from != nil {
		var err error
		if src, err = e.source(st.from); err != nil {
			return nil, err
		}
	}
	var rows [][]any
	for _, r := range src.rows {
		if st.where != nil {
			ok, err := (&env{ctx: e.ctx, c: e.c, tx: e.tx, args: e.args, rel: src, row: r}).truth(st.where)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		rows = append(rows, r)
	}
	if len(st.order) > 0 {
		keys := make([][]any, len(rows))
		for i, r := range rows {
			re := &env{ctx: e.ctx, c: e.c, tx: e.tx, args: e.args, rel: src, row: r}
			for _, o := range st.order {
				v, err := re.eval(o.e)
				if err != nil {
					return nil, err
				}
				keys[i] = append(keys[i], v)
			}
		}
		idx := make([]int, len(rows))
		for i := range idx {
			idx[i] = i
		}
		var sortErr error
		sort.SliceStable(idx, func(a, b int) bool {
			for k, o := range st.order {
				var c int
				var err error
				if x, y := keys[idx[a]][k], keys[idx[b]][k]; x == nil || y == nil {
					c, err = nullsFirst(x, y), nil
				} else {
					c, err = compareVals(x, y)
				}
				if err != nil {
					sortErr = err
				}
				if o.desc {
					c = -c
				}
				if c != 0 {
					return c < 0
				}
			}
			return false
		})
		if sortErr != nil {
			return nil, sortErr
		}
		sorted := make([][]any, len(rows))
		for i, j := range idx {
			sorted[i] = rows[j]
		}
		rows = sorted
	}
	if st.top != nil {
		v, err := e.eval(st.top)
		if err != nil {
			return nil, err
		}
		n, ok := v.(int64)
		if !ok || n < 0 {
			return nil, fmt.Errorf("fake SQL Server: TOP %v", v)
		}
		if int(n) < len(rows) {
			rows = rows[:n]
		}
	}
	out := &relation{}
	if st.star {
		out.cols, out.types, out.rows = src.cols, src.types, rows
		return out, nil
	}
	if aggregate(st.items) {
		sum := map[int]*big.Rat{}
		for _, r := range rows {
			re := &env{ctx: e.ctx, c: e.c, tx: e.tx, args: e.args, rel: src, row: r}
			for i, it := range st.items {
				v, err := re.eval(it.e.(*eFunc).args[0])
				if err != nil {
					return nil, err
				}
				if rv, ok := ratOf(v); ok && v != nil {
					if sum[i] == nil {
						sum[i] = new(big.Rat)
					}
					sum[i].Add(sum[i], rv)
				}
			}
		}
		row := make([]any, len(st.items))
		for i := range st.items {
			out.cols = append(out.cols, "")
			out.types = append(out.types, nil)
			if sum[i] != nil {
				row[i] = sum[i].Num().Int64()
			}
		}
		out.rows = [][]any{row}
		return out, nil
	}
	for _, it := range st.items {
		name, typ := it.alias, (*ftype)(nil)
		switch x := it.e.(type) {
		case *eCol:
			if i := src.index(x.name); i >= 0 {
				if name == "" {
					name = src.cols[i]
				}
				if src.types != nil {
					typ = src.types[i]
				}
			}
		case *eCast:
			t, _ := typeOf(x.typ, true)
			typ = &t
		}
		out.cols = append(out.cols, name)
		out.types = append(out.types, typ)
	}
	for _, r := range rows {
		re := &env{ctx: e.ctx, c: e.c, tx: e.tx, args: e.args, rel: src, row: r}
		vals := make([]any, len(st.items))
		for i, it := range st.items {
			v, err := re.eval(it.e)
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
		out.rows = append(out.rows, vals)
	}
	return out, nil
}

func nullsFirst(x, y any) int {
	switch {
	case x == nil && y == nil:
		return 0
	case x == nil:
		return -1
	}
	return 1
}

func aggregate(items []selItem) bool {
	for _, it := range items {
		if f, ok := it.e.(*eFunc); ok && f.name == "sum" && len(f.args) == 1 {
			return true
		}
	}
	return false
}

// source resolves a FROM item: a user table (with its locking hints), a
// system view or a table-valued function.
func (e *env) source(f *fromItem) (*relation, error) {
	name := strings.ToLower(strings.Join(f.name, "."))
	if f.isFunc {
		return e.tvf(name, f.name, f.args)
	}
	if rel, ok, err := e.systemView(name); ok || err != nil {
		return rel, err
	}
	s := e.c.srv
	s.mu.Lock()
	t, ok := s.table(f.name)
	s.mu.Unlock()
	if !ok {
		return nil, sqlErr(errInvalidObject, "Invalid object name '%s'.", strings.Join(f.name, "."))
	}
	if !e.tx.user.canSelect(t) {
		return nil, sqlErr(errPermission, "The SELECT permission was denied on the object '%s', database '%s', schema '%s'.", t.name, s.opts.database, t.schema)
	}
	hints := strings.Join(f.hints, ",")
	if strings.Contains(hints, "TABLOCK") && (strings.Contains(hints, "HOLDLOCK") || strings.Contains(hints, "SERIALIZABLE")) {
		if err := s.lock(e.ctx, e.tx, t, false); err != nil {
			return nil, err
		}
	}
	rows, err := e.tx.rows(t)
	if err != nil {
		return nil, err
	}
	rel := &relation{table: t, rows: padded(rows, len(t.cols))}
	for i := range t.cols {
		rel.cols = append(rel.cols, t.cols[i].name)
		rel.types = append(rel.types, &t.cols[i].typ)
	}
	return rel, nil
}

// padded gives rows written before an ALTER TABLE ADD their NULLs.
func padded(rows rowsOf, n int) [][]any {
	out := make([][]any, len(rows))
	for i, r := range rows {
		if len(r) < n {
			r = append(append([]any(nil), r...), make([]any, n-len(r))...)
		}
		out[i] = r
	}
	return out
}

// dml runs INSERT, UPDATE or DELETE atomically: a failure leaves no trace.
func (e *env) dml(st any) (*result, error) {
	var parts []string
	switch x := st.(type) {
	case *stInsert:
		parts = x.table
	case *stUpdate:
		parts = x.table
	case *stDelete:
		parts = x.table
	}
	s := e.c.srv
	s.mu.Lock()
	t, ok := s.table(parts)
	s.mu.Unlock()
	if !ok {
		return nil, sqlErr(errInvalidObject, "Invalid object name '%s'.", strings.Join(parts, "."))
	}
	if !e.tx.user.dbOwner {
		return nil, sqlErr(errPermission, "The INSERT, UPDATE or DELETE permission was denied on the object '%s'.", t.name)
	}
	rows, err := e.tx.write(e.ctx, t)
	if err != nil {
		return nil, err
	}
	rows = padded(rows, len(t.cols))
	nops := len(e.tx.ops)
	next, n, err := e.apply(st, t, rows)
	if err == nil {
		err = uniqueKey(t, next)
	}
	if err != nil {
		e.tx.ops = e.tx.ops[:nops] // their log records stay, as a rolled back statement's do
		return nil, err
	}
	e.tx.working[t] = next
	return &result{affected: n}, nil
}

func (e *env) apply(st any, t *ftable, rows [][]any) (rowsOf, int64, error) {
	rel := &relation{table: t}
	for i := range t.cols {
		rel.cols = append(rel.cols, t.cols[i].name)
		rel.types = append(rel.types, &t.cols[i].typ)
	}
	match := func(r []any, where expr) (bool, error) {
		if where == nil {
			return true, nil
		}
		return (&env{ctx: e.ctx, c: e.c, tx: e.tx, args: e.args, rel: rel, row: r}).truth(where)
	}
	var out rowsOf
	var n int64
	switch st := st.(type) {
	case *stInsert:
		out = append(out, rows...)
		cols := st.cols
		if cols == nil {
			cols = rel.cols
		}
		for _, vals := range st.rows {
			if len(vals) != len(cols) {
				return nil, 0, sqlErr(110, "There are fewer columns in the INSERT statement than values specified in the VALUES clause.")
			}
			row := make([]any, len(t.cols))
			given := make([]bool, len(t.cols))
			for j, c := range cols {
				i := t.col(c)
				if i < 0 {
					return nil, 0, sqlErr(207, "Invalid column name '%s'.", c)
				}
				v, err := e.eval(vals[j])
				if err != nil {
					return nil, 0, err
				}
				if row[i], err = convert(v, t.cols[i].typ); err != nil {
					return nil, 0, err
				}
				given[i] = true
			}
			for i, c := range t.cols {
				if c.identity && !given[i] {
					row[i] = nextIdentity(out, i)
				}
				if c.notNull && row[i] == nil {
					return nil, 0, sqlErr(515, "Cannot insert the value NULL into column '%s', table '%s'; column does not allow nulls. INSERT fails.", c.name, t.name)
				}
			}
			out = append(out, row)
			e.tx.logOp(rowOp{t: t, kind: 'I', after: row})
			n++
		}
	case *stUpdate:
		for _, r := range rows {
			ok, err := match(r, st.where)
			if err != nil {
				return nil, 0, err
			}
			if !ok {
				out = append(out, r)
				continue
			}
			re := &env{ctx: e.ctx, c: e.c, tx: e.tx, args: e.args, rel: rel, row: r}
			nr := append([]any(nil), r...)
			for _, set := range st.sets {
				i := t.col(set.col)
				if i < 0 {
					return nil, 0, sqlErr(207, "Invalid column name '%s'.", set.col)
				}
				v, err := re.eval(set.e)
				if err != nil {
					return nil, 0, err
				}
				if nr[i], err = convert(v, t.cols[i].typ); err != nil {
					return nil, 0, err
				}
				if t.cols[i].notNull && nr[i] == nil {
					return nil, 0, sqlErr(515, "Cannot insert the value NULL into column '%s'.", t.cols[i].name)
				}
			}
			out = append(out, nr)
			e.tx.logOp(rowOp{t: t, kind: 'U', before: r, after: nr})
			n++
		}
	case *stDelete:
		for _, r := range rows {
			ok, err := match(r, st.where)
			if err != nil {
				return nil, 0, err
			}
			if !ok {
				out = append(out, r)
				continue
			}
			e.tx.logOp(rowOp{t: t, kind: 'D', before: r})
			n++
		}
	}
	return out, n, nil
}

func nextIdentity(rows rowsOf, i int) int64 {
	var m int64
	for _, r := range rows {
		if v, ok := r[i].(int64); ok && v > m {
			m = v
		}
	}
	return m + 1
}

// uniqueKey checks the primary key (compared as the columns' collation
// does: the fake's default is case-insensitive).
func uniqueKey(t *ftable, rows rowsOf) error {
	if len(t.pk) == 0 {
		return nil
	}
	seen := map[string]bool{}
	for _, r := range rows {
		var b strings.Builder
		for _, k := range t.pk {
			v := r[k]
			if s, ok := v.(string); ok {
				v = strings.ToLower(strings.TrimRight(s, " "))
			}
			fmt.Fprintf(&b, "%v\x00", driverValue(v, &t.cols[k].typ))
		}
		if seen[b.String()] {
			return sqlErr(2627, "Violation of PRIMARY KEY constraint 'PK_%s'. Cannot insert duplicate key in object '%s.%s'.", t.name, t.schema, t.name)
		}
		seen[b.String()] = true
	}
	return nil
}

// create is CREATE TABLE.
func (s *fakeServer) create(st *stCreate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	schema, name := "dbo", st.table[len(st.table)-1]
	if len(st.table) >= 2 {
		schema = st.table[len(st.table)-2]
	}
	if _, ok := s.tables[strings.ToLower(schema+"."+name)]; ok {
		return sqlErr(2714, "There is already an object named '%s' in the database.", name)
	}
	s.objectSeq++
	t := &ftable{id: s.objectSeq, schema: schema, name: name}
	for i, cd := range st.cols {
		typ, err := typeOf(cd.typ, false)
		if err != nil {
			return err
		}
		t.cols = append(t.cols, fcol{id: i + 1, name: cd.name, typ: typ, notNull: cd.notNull, identity: cd.identity})
		if cd.primary {
			t.pk = append(t.pk, i)
		}
	}
	for _, k := range st.pk {
		i := t.col(k)
		if i < 0 {
			return sqlErr(1911, "Column name '%s' does not exist in the target table or view.", k)
		}
		t.pk = append(t.pk, i)
		t.cols[i].notNull = true
	}
	s.tables[t.key()] = t
	s.appendLog(logRec{kind: recDDL, table: t})
	return nil
}

// alterAdd is ALTER TABLE … ADD column (existing rows get NULL).
func (s *fakeServer) alterAdd(st *stAlterAdd) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.table(st.table)
	if !ok {
		return sqlErr(4902, "Cannot find the object \"%s\".", strings.Join(st.table, "."))
	}
	typ, err := typeOf(st.col.typ, false)
	if err != nil {
		return err
	}
	last := 0
	for _, c := range t.cols {
		last = max(last, c.id)
	}
	t.cols = append(t.cols, fcol{id: last + 1, name: st.col.name, typ: typ, notNull: st.col.notNull})
	s.appendLog(logRec{kind: recDDL, table: t})
	return nil
}

func (s *fakeServer) drop(st *stDrop) error {
	s.mu.Lock()
	t, ok := s.table(st.table)
	s.mu.Unlock()
	if !ok {
		return sqlErr(3701, "Cannot drop the table '%s', because it does not exist or you do not have permission.", strings.Join(st.table, "."))
	}
	s.disableTable(t, "all")
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tables, t.key())
	s.appendLog(logRec{kind: recDDL, table: t})
	return nil
}
