package embedded

import (
	"errors"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// errNoTxn: a write outside a transaction, which the server never does.
var errNoTxn = errors.New("embedded keyspaces are written inside a transaction")

// editor applies one statement's inserts, updates and deletes to the
// transaction's copy of a table and records them for the change log.
type editor struct {
	t   *table
	err error // the write lock could not be taken
}

var (
	_ sql.RowReplacer         = (*editor)(nil)
	_ sql.RowUpdater          = (*editor)(nil)
	_ sql.AutoIncrementSetter = (*editor)(nil)
)

// begin returns the transaction part and the writable table, with dt.mu
// held.
func (e *editor) begin(ctx *sql.Context) (*dbTxn, *viewTable, error) {
	if e.err != nil {
		return nil, nil, e.err
	}
	tx := txnOf(ctx)
	if tx == nil {
		return nil, nil, errNoTxn
	}
	dt := tx.forDB(e.t.db)
	dt.mu.Lock()
	vt, err := dt.mutable(ctx, e.t.current())
	if err != nil {
		dt.mu.Unlock()
		return nil, nil, err
	}
	return dt, vt, nil
}

func (e *editor) withTxn(ctx *sql.Context, f func(dt *dbTxn)) {
	if tx := txnOf(ctx); tx != nil {
		dt := tx.forDB(e.t.db)
		dt.mu.Lock()
		f(dt)
		dt.mu.Unlock()
	}
}

// StatementBegin implements sql.EditOpenerCloser.
func (e *editor) StatementBegin(ctx *sql.Context) {
	e.withTxn(ctx, (*dbTxn).statementBegin)
}

// DiscardChanges implements sql.EditOpenerCloser: the statement failed.
func (e *editor) DiscardChanges(ctx *sql.Context, _ error) error {
	e.withTxn(ctx, (*dbTxn).statementDiscard)
	return nil
}

// StatementComplete implements sql.EditOpenerCloser.
func (e *editor) StatementComplete(ctx *sql.Context) error {
	e.withTxn(ctx, (*dbTxn).statementComplete)
	return nil
}

// Close implements sql.Closer.
func (e *editor) Close(*sql.Context) error { return nil }

// Insert implements sql.RowInserter.
func (e *editor) Insert(ctx *sql.Context, row sql.Row) error {
	dt, vt, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer dt.mu.Unlock()
	def := vt.def
	it := item{row: row}
	if def.keyless {
		it.seq = e.nextSeq()
	} else if old, found := vt.tree.Get(it); found {
		return sql.NewUniqueKeyErr(def.keyString(row), true, old.row)
	}
	vt.tree.ReplaceOrInsert(it)
	e.bumpAutoInc(ctx, def, row)
	// REPLACE deletes then inserts the same key: log it as the update it is.
	if n := len(dt.changes); !def.keyless && n > dt.statementStart() {
		if last := &dt.changes[n-1]; last.table == def.name && last.after == nil && def.compareRows(last.before, row) == 0 {
			last.after = row
			return nil
		}
	}
	dt.changes = append(dt.changes, change{table: def.name, columns: def.columns, after: row})
	return nil
}

// Delete implements sql.RowDeleter.
func (e *editor) Delete(ctx *sql.Context, row sql.Row) error {
	dt, vt, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer dt.mu.Unlock()
	old, found := vt.def.find(vt.tree, row)
	if !found {
		return sql.ErrDeleteRowNotFound.New()
	}
	vt.tree.Delete(old)
	dt.changes = append(dt.changes, change{table: vt.def.name, columns: vt.def.columns, before: old.row})
	return nil
}

// Update implements sql.RowUpdater. An update that changes nothing is not
// logged (MySQL writes no row event for it either).
func (e *editor) Update(ctx *sql.Context, oldRow, newRow sql.Row) error {
	dt, vt, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer dt.mu.Unlock()
	def := vt.def
	old, found := def.find(vt.tree, oldRow)
	if !found {
		return sql.ErrDeleteRowNotFound.New()
	}
	if def.sameRow(old.row, newRow) {
		return nil
	}
	nu := item{row: newRow, seq: old.seq}
	if !def.keyless && def.compareRows(old.row, newRow) != 0 {
		if dup, exists := vt.tree.Get(nu); exists {
			return sql.NewUniqueKeyErr(def.keyString(newRow), true, dup.row)
		}
	}
	vt.tree.Delete(old)
	vt.tree.ReplaceOrInsert(nu)
	e.bumpAutoInc(ctx, def, newRow)
	dt.changes = append(dt.changes, change{table: def.name, columns: def.columns, before: old.row, after: newRow})
	return nil
}

// SetAutoIncrementValue implements sql.AutoIncrementSetter.
func (e *editor) SetAutoIncrementValue(_ *sql.Context, v uint64) error {
	db := e.t.db
	db.mu.Lock()
	defer db.mu.Unlock()
	if st := db.state(e.t.def.name); st != nil {
		st.autoInc = v
	}
	return nil
}

// AcquireAutoIncrementLock implements sql.AutoIncrementSetter; writers are
// already serialized by the keyspace write lock.
func (e *editor) AcquireAutoIncrementLock(*sql.Context) (func(), error) { return func() {}, nil }

func (e *editor) nextSeq() uint64 {
	db := e.t.db
	db.mu.Lock()
	defer db.mu.Unlock()
	st := db.state(e.t.def.name)
	if st == nil {
		return 0
	}
	st.nextSeq++
	return st.nextSeq
}

// bumpAutoInc moves the AUTO_INCREMENT counter past an explicit value.
func (e *editor) bumpAutoInc(ctx *sql.Context, def *tableDef, row sql.Row) {
	if def.autoCol < 0 || row[def.autoCol] == nil {
		return
	}
	v, _, err := types.Uint64.Convert(ctx, row[def.autoCol])
	if err != nil {
		return
	}
	db := e.t.db
	db.mu.Lock()
	defer db.mu.Unlock()
	if st := db.state(def.name); st != nil && v.(uint64) >= st.autoInc {
		st.autoInc = v.(uint64) + 1
	}
}

// statementStart is the index of the statement's first change.
func (dt *dbTxn) statementStart() int {
	if dt.stmt == nil {
		return len(dt.changes)
	}
	return dt.stmt.changes
}
