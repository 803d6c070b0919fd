package embedded

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
)

// Txn is one session transaction over the embedded keyspaces it touches. It
// implements sql.Transaction; the server's session creates it in
// StartTransaction and ends it with Commit or Rollback.
type Txn struct {
	readOnly bool
	mu       sync.Mutex
	dbs      map[*DB]*dbTxn
}

var _ sql.Transaction = (*Txn)(nil)

// NewTxn starts a transaction.
func NewTxn(readOnly bool) *Txn {
	return &Txn{readOnly: readOnly, dbs: make(map[*DB]*dbTxn)}
}

// String implements fmt.Stringer.
func (t *Txn) String() string { return "embedded transaction" }

// IsReadOnly implements sql.Transaction.
func (t *Txn) IsReadOnly() bool { return t.readOnly }

// Commit makes the transaction's writes visible and logs them, one change
// log entry per keyspace written.
func (t *Txn) Commit() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, dt := range t.sorted() {
		if err := dt.commit(); err != nil {
			errs = append(errs, err)
		}
	}
	t.dbs = make(map[*DB]*dbTxn)
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// Rollback discards the transaction's writes.
func (t *Txn) Rollback() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, dt := range t.dbs {
		dt.rollback()
	}
	t.dbs = make(map[*DB]*dbTxn)
}

func (t *Txn) sorted() []*dbTxn {
	out := make([]*dbTxn, 0, len(t.dbs))
	for _, dt := range t.dbs {
		out = append(out, dt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].db.name < out[j].db.name })
	return out
}

// forDB returns the transaction's part for one keyspace.
func (t *Txn) forDB(db *DB) *dbTxn {
	t.mu.Lock()
	defer t.mu.Unlock()
	dt, ok := t.dbs[db]
	if !ok {
		dt = &dbTxn{db: db, txn: t}
		t.dbs[db] = dt
	}
	return dt
}

// txnOf returns the embedded transaction of the statement, if any.
func txnOf(ctx *sql.Context) *Txn {
	if ctx == nil {
		return nil
	}
	tx, _ := ctx.GetTransaction().(*Txn)
	return tx
}

// viewTable is a table as a transaction sees it.
type viewTable struct {
	def  *tableDef
	tree *tree
}

// dbTxn is a transaction's state in one keyspace.
type dbTxn struct {
	db  *DB
	txn *Txn

	mu      sync.Mutex
	view    map[string]*viewTable // nil until the first access
	version uint64                // DB version the view was taken at
	writing bool                  // holds db's write lock
	dirty   map[string]bool
	changes []change

	stmtDepth int
	stmt      *statementMark
}

// statementMark is how to undo a failing statement: the trees it modified,
// as they were, and the length of the change list.
type statementMark struct {
	trees   map[string]*tree
	changes int
}

// capture takes the view of every table at the current commit. Callers
// hold dt.mu; capture takes db.mu.
func (dt *dbTxn) capture() {
	db := dt.db
	db.mu.Lock()
	defer db.mu.Unlock()
	dt.view = make(map[string]*viewTable, len(db.tables))
	for k, st := range db.tables {
		dt.view[k] = &viewTable{def: st.def, tree: st.tree.Clone()}
	}
	dt.version = db.version
}

// table returns the transaction's view of a table. Table definitions are
// not transactional: a table created or altered after the view was taken
// is read at its latest commit.
func (dt *dbTxn) table(def *tableDef) (*viewTable, error) {
	if dt.view == nil {
		dt.capture()
	}
	k := strings.ToLower(def.name)
	vt := dt.view[k]
	if vt != nil && vt.def == def {
		return vt, nil
	}
	db := dt.db
	db.mu.Lock()
	st := db.state(def.name)
	if st == nil {
		db.mu.Unlock()
		return nil, sql.ErrTableNotFound.New(def.name)
	}
	vt = &viewTable{def: st.def, tree: st.tree.Clone()}
	db.mu.Unlock()
	if dt.dirty[k] {
		return nil, fmt.Errorf("table %s changed definition during the transaction", def.name)
	}
	dt.view[k] = vt
	return vt, nil
}

// beginWrite takes the keyspace's write lock for the rest of the
// transaction. A transaction that has read an older commit starts writing
// from the latest one, so no committed change is ever overwritten.
func (dt *dbTxn) beginWrite(ctx context.Context) error {
	if dt.writing {
		return nil
	}
	if dt.txn.readOnly {
		return sql.ErrReadOnlyTransaction.New()
	}
	if err := dt.db.lock(ctx); err != nil {
		return err
	}
	dt.writing = true
	dt.db.mu.Lock()
	stale := dt.view == nil || dt.version != dt.db.version
	dt.db.mu.Unlock()
	if stale {
		dt.capture()
	}
	return nil
}

// mutable returns the tree of a table for writing, recording its state at
// the start of the statement.
func (dt *dbTxn) mutable(ctx context.Context, def *tableDef) (*viewTable, error) {
	if err := dt.beginWrite(ctx); err != nil {
		return nil, err
	}
	vt, err := dt.table(def)
	if err != nil {
		return nil, err
	}
	k := strings.ToLower(def.name)
	if dt.stmt != nil {
		if _, ok := dt.stmt.trees[k]; !ok {
			dt.stmt.trees[k] = vt.tree.Clone()
		}
	}
	if dt.dirty == nil {
		dt.dirty = make(map[string]bool)
	}
	dt.dirty[k] = true
	return vt, nil
}

func (dt *dbTxn) statementBegin() {
	if dt.stmtDepth == 0 {
		dt.stmt = &statementMark{trees: make(map[string]*tree), changes: len(dt.changes)}
	}
	dt.stmtDepth++
}

func (dt *dbTxn) statementComplete() {
	if dt.stmtDepth > 0 {
		dt.stmtDepth--
	}
	if dt.stmtDepth == 0 {
		dt.stmt = nil
	}
}

func (dt *dbTxn) statementDiscard() {
	if dt.stmt != nil {
		for k, t := range dt.stmt.trees {
			if vt := dt.view[k]; vt != nil {
				vt.tree = t
			}
		}
		dt.changes = dt.changes[:dt.stmt.changes]
	}
	dt.stmt, dt.stmtDepth = nil, 0
}

// commit publishes the written trees and logs the changes.
func (dt *dbTxn) commit() error {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	if !dt.writing {
		dt.reset()
		return nil
	}
	db := dt.db
	db.mu.Lock()
	for k := range dt.dirty {
		st, vt := db.tables[k], dt.view[k]
		if st != nil && vt != nil && st.def == vt.def {
			st.tree = vt.tree
		}
	}
	if len(dt.changes) > 0 {
		db.version++
		db.log.append(&entry{time: db.now(), changes: dt.changes})
	}
	db.mu.Unlock()
	db.unlock()
	dt.reset()
	return nil
}

func (dt *dbTxn) rollback() {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	if dt.writing {
		dt.db.unlock()
	}
	dt.reset()
}

func (dt *dbTxn) reset() {
	dt.view, dt.version, dt.writing = nil, 0, false
	dt.dirty, dt.changes = nil, nil
	dt.stmt, dt.stmtDepth = nil, 0
}

// flush commits the transaction's part in db now (DDL commits implicitly).
func (t *Txn) flush(db *DB) error {
	t.mu.Lock()
	dt := t.dbs[db]
	delete(t.dbs, db)
	t.mu.Unlock()
	if dt == nil {
		return nil
	}
	return dt.commit()
}
