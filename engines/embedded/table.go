package embedded

import (
	"io"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// table is the go-mysql-server face of one embedded table.
type table struct {
	db  *DB
	def *tableDef
}

var (
	_ sql.Table              = (*table)(nil)
	_ sql.PrimaryKeyTable    = (*table)(nil)
	_ sql.InsertableTable    = (*table)(nil)
	_ sql.UpdatableTable     = (*table)(nil)
	_ sql.DeletableTable     = (*table)(nil)
	_ sql.ReplaceableTable   = (*table)(nil)
	_ sql.TruncateableTable  = (*table)(nil)
	_ sql.AutoIncrementTable = (*table)(nil)
	_ sql.CommentedTable     = (*table)(nil)
)

func (t *table) Name() string                                       { return t.def.name }
func (t *table) String() string                                     { return t.def.name }
func (t *table) Schema(*sql.Context) sql.Schema                     { return t.current().schema.Schema }
func (t *table) Collation() sql.CollationID                         { return t.current().collation }
func (t *table) Comment() string                                    { return t.current().comment }
func (t *table) PrimaryKeySchema(*sql.Context) sql.PrimaryKeySchema { return t.current().schema }

// current is the table's latest definition: an ALTER in the middle of a
// statement (GMS rewrites rows after adding a column) must see the new one.
func (t *table) current() *tableDef {
	t.db.mu.Lock()
	defer t.db.mu.Unlock()
	if st := t.db.state(t.def.name); st != nil {
		return st.def
	}
	return t.def
}

type partition struct{}

func (partition) Key() []byte { return []byte("all") }

// Partitions implements sql.Table: one partition.
func (t *table) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(partition{}), nil
}

// PartitionRows implements sql.Table: the rows in key order as the
// statement's transaction sees them, frozen at the start of the scan (an
// UPDATE that moves keys does not see its own rows again).
func (t *table) PartitionRows(ctx *sql.Context, _ sql.Partition) (sql.RowIter, error) {
	snap, def, err := t.readView(ctx)
	if err != nil {
		return nil, err
	}
	return &rowIter{c: def.newCursor(snap, nil)}, nil
}

// readView returns a private copy of the table as the statement sees it.
func (t *table) readView(ctx *sql.Context) (*tree, *tableDef, error) {
	tx := txnOf(ctx)
	if tx == nil {
		t.db.mu.Lock()
		defer t.db.mu.Unlock()
		st := t.db.state(t.def.name)
		if st == nil {
			return nil, nil, sql.ErrTableNotFound.New(t.def.name)
		}
		return st.tree.Clone(), st.def, nil
	}
	dt := tx.forDB(t.db)
	dt.mu.Lock()
	defer dt.mu.Unlock()
	vt, err := dt.table(t.current())
	if err != nil {
		return nil, nil, err
	}
	return vt.tree.Clone(), vt.def, nil
}

type rowIter struct{ c *cursor }

func (i *rowIter) Next(*sql.Context) (sql.Row, error) {
	it, ok := i.c.next()
	if !ok {
		return nil, io.EOF
	}
	return it.row, nil
}

func (i *rowIter) Close(*sql.Context) error { return nil }

// Inserter implements sql.InsertableTable.
func (t *table) Inserter(ctx *sql.Context) sql.RowInserter { return t.editor(ctx) }

// Updater implements sql.UpdatableTable.
func (t *table) Updater(ctx *sql.Context) sql.RowUpdater { return t.editor(ctx) }

// Deleter implements sql.DeletableTable.
func (t *table) Deleter(ctx *sql.Context) sql.RowDeleter { return t.editor(ctx) }

// Replacer implements sql.ReplaceableTable.
func (t *table) Replacer(ctx *sql.Context) sql.RowReplacer { return t.editor(ctx) }

// editor starts writing: GMS asks for the editor before it reads the rows
// to change, so taking the write lock here (and moving the transaction to
// the latest commit) makes UPDATE … SET x = x + 1 read what it overwrites.
// A failure to get the lock is returned by the first write.
func (t *table) editor(ctx *sql.Context) *editor {
	e := &editor{t: t}
	if tx := txnOf(ctx); tx != nil {
		dt := tx.forDB(t.db)
		dt.mu.Lock()
		e.err = dt.beginWrite(ctx)
		dt.mu.Unlock()
	}
	return e
}

// AutoIncrementSetter implements sql.AutoIncrementTable.
func (t *table) AutoIncrementSetter(*sql.Context) sql.AutoIncrementSetter { return &editor{t: t} }

// PeekNextAutoIncrementValue implements sql.AutoIncrementGetter.
func (t *table) PeekNextAutoIncrementValue(*sql.Context) (uint64, error) {
	t.db.mu.Lock()
	defer t.db.mu.Unlock()
	if st := t.db.state(t.def.name); st != nil {
		return st.autoInc, nil
	}
	return 0, sql.ErrTableNotFound.New(t.def.name)
}

// GetNextAutoIncrementValue implements sql.AutoIncrementTable. As in MySQL
// the counter is not transactional: a rolled-back insert leaves a gap.
func (t *table) GetNextAutoIncrementValue(ctx *sql.Context, insertVal interface{}) (uint64, error) {
	t.db.mu.Lock()
	defer t.db.mu.Unlock()
	st := t.db.state(t.def.name)
	if st == nil {
		return 0, sql.ErrTableNotFound.New(t.def.name)
	}
	if insertVal != nil {
		v, _, err := types.Uint64.Convert(ctx, insertVal)
		if err != nil {
			return 0, err
		}
		if u := v.(uint64); u > st.autoInc {
			st.autoInc = u
		}
	}
	return st.autoInc, nil
}

// Truncate implements sql.TruncateableTable: every row is logged as a
// delete, so a stream folded by key still equals the table.
func (t *table) Truncate(ctx *sql.Context) (int, error) {
	e := &editor{t: t}
	dt, vt, err := e.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer dt.mu.Unlock()
	n := 0
	c := vt.def.newCursor(vt.tree.Clone(), nil)
	for it, ok := c.next(); ok; it, ok = c.next() {
		dt.changes = append(dt.changes, change{table: vt.def.name, columns: vt.def.columns, before: it.row})
		n++
	}
	vt.tree = vt.def.newTree()
	return n, nil
}
