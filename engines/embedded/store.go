package embedded

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/google/btree"
)

// cmpCtx is the context used for value comparisons, which need no session.
var cmpCtx = sql.NewEmptyContext()

// item is one stored row; seq tells apart equal rows of tables without a
// primary key (0 for tables with one).
type item struct {
	row sql.Row
	seq uint64
}

type tree = btree.BTreeG[item]

// tableDef is the immutable definition of a table. A DDL replaces it.
type tableDef struct {
	name      string
	schema    sql.PrimaryKeySchema
	collation sql.CollationID
	comment   string
	key       []int // primary key ordinals, or every column
	keyless   bool
	autoCol   int            // -1 if none
	indexes   []sql.IndexDef // secondary keys (metadata only)
	columns   []string       // column names, shared by the events of this definition
}

func newTableDef(dbName, name string, schema sql.PrimaryKeySchema, collation sql.CollationID, comment string) *tableDef {
	d := &tableDef{name: name, collation: collation, comment: comment, autoCol: -1}
	cols := make(sql.Schema, len(schema.Schema))
	for i, c := range schema.Schema {
		cc := *c
		cc.Source = name
		cc.DatabaseSource = dbName
		cols[i] = &cc
		if cc.AutoIncrement {
			d.autoCol = i
		}
	}
	d.schema = sql.NewPrimaryKeySchema(cols, schema.PkOrdinals...)
	for _, c := range cols {
		d.columns = append(d.columns, c.Name)
	}
	d.key = append([]int(nil), d.schema.PkOrdinals...)
	if len(d.key) == 0 {
		d.keyless = true
		for i := range cols {
			d.key = append(d.key, i)
		}
	}
	return d
}

// compareKeys orders two key tuples by the key columns' types (collations
// included), the order of the tree.
func (d *tableDef) compareKeys(a, b []any) (int, error) {
	for i, c := range d.key {
		x, err := d.schema.Schema[c].Type.Compare(cmpCtx, a[i], b[i])
		if err != nil {
			return 0, err
		}
		if x != 0 {
			return x, nil
		}
	}
	return 0, nil
}

// compareRows orders two full rows by their key columns.
func (d *tableDef) compareRows(a, b sql.Row) int {
	for _, c := range d.key {
		x, err := d.schema.Schema[c].Type.Compare(cmpCtx, a[c], b[c])
		if err != nil {
			x = strings.Compare(fmt.Sprint(a[c]), fmt.Sprint(b[c]))
		}
		if x != 0 {
			return x
		}
	}
	return 0
}

// sameRow reports whether two rows are equal in every column.
func (d *tableDef) sameRow(a, b sql.Row) bool {
	for i, c := range d.schema.Schema {
		x, err := c.Type.Compare(cmpCtx, a[i], b[i])
		if err != nil || x != 0 {
			return false
		}
	}
	return true
}

func (d *tableDef) newTree() *tree {
	return btree.NewG(32, func(a, b item) bool {
		if c := d.compareRows(a.row, b.row); c != 0 {
			return c < 0
		}
		return a.seq < b.seq
	})
}

// keyString formats the key of row as MySQL shows it in duplicate-key
// errors.
func (d *tableDef) keyString(row sql.Row) string {
	parts := make([]string, len(d.key))
	for i, c := range d.key {
		parts[i] = fmt.Sprint(row[c])
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// keyRow returns a row that holds key in the key columns, for tree lookups.
func (d *tableDef) keyRow(key []any) sql.Row {
	row := make(sql.Row, len(d.schema.Schema))
	for i, c := range d.key {
		row[c] = key[i]
	}
	return row
}

// cursor walks a tree in order without holding a tree callback between
// calls, so the caller may block or stop at any time. It reads in batches.
type cursor struct {
	def   *tableDef
	t     *tree
	pivot *item // strictly after this item (nil: from the first)
	batch []item
	i     int
	done  bool
}

// newCursor starts after the key tuple after (nil: at the first row).
func (d *tableDef) newCursor(t *tree, after []any) *cursor {
	c := &cursor{def: d, t: t}
	if after != nil {
		c.pivot = &item{row: d.keyRow(after), seq: ^uint64(0)}
	}
	return c
}

func (c *cursor) next() (item, bool) {
	if c.i >= len(c.batch) {
		if c.done {
			return item{}, false
		}
		c.fill()
		if len(c.batch) == 0 {
			c.done = true
			return item{}, false
		}
	}
	it := c.batch[c.i]
	c.i++
	return it, true
}

func (c *cursor) fill() {
	c.batch, c.i = c.batch[:0], 0
	if c.batch == nil {
		c.batch = make([]item, 0, 256)
	}
	d, p := c.def, c.pivot
	collect := func(it item) bool {
		if p != nil && d.compareRows(it.row, p.row) == 0 && (!d.keyless || it.seq <= p.seq) {
			return true // not strictly after the pivot
		}
		c.batch = append(c.batch, it)
		return len(c.batch) < cap(c.batch)
	}
	if p == nil {
		c.t.Ascend(collect)
	} else {
		c.t.AscendGreaterOrEqual(*p, collect)
	}
	if n := len(c.batch); n > 0 {
		last := c.batch[n-1]
		c.pivot = &last
	}
}

// find returns the stored item equal to row: by key, or for a table without
// a primary key the first one equal in every column.
func (d *tableDef) find(t *tree, row sql.Row) (item, bool) {
	if !d.keyless {
		return t.Get(item{row: row})
	}
	var found item
	var ok bool
	t.AscendGreaterOrEqual(item{row: row}, func(it item) bool {
		if d.compareRows(it.row, row) != 0 {
			return false
		}
		if d.sameRow(it.row, row) {
			found, ok = it, true
			return false
		}
		return true
	})
	return found, ok
}

// tableState is a table's committed state, owned by the DB under its mutex.
type tableState struct {
	def     *tableDef
	tree    *tree
	autoInc uint64 // next AUTO_INCREMENT value
	nextSeq uint64 // next hidden row id of a keyless table
}
