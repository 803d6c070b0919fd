package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/vstreamd/vstreamd/engines"
)

// sourceDB presents a keyspace whose source is another database server:
// its tables with their real columns, readable with SELECT (each scan reads
// one consistent snapshot of the source table).
type sourceDB struct {
	name     string
	src      engines.Source
	sqlError func(error) error
	visible  func(ctx *sql.Context, table string) bool // nil: every table
}

// fail returns a source's error in the form the SQL layer shows.
func (d *sourceDB) fail(err error) error {
	if err == nil || d.sqlError == nil {
		return err
	}
	return d.sqlError(err)
}

var (
	_ sql.Database     = (*sourceDB)(nil)
	_ sql.ViewDatabase = (*sourceDB)(nil)
)

func (d *sourceDB) Name() string { return d.name }

func (d *sourceDB) GetTableInsensitive(ctx *sql.Context, name string) (sql.Table, bool, error) {
	if d.visible != nil && !d.visible(ctx, name) {
		return nil, false, nil
	}
	t, err := d.src.Table(ctx, name)
	if errors.Is(err, engines.ErrTableNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, d.fail(err)
	}
	s, err := schemaOf(ctx, d.name, t)
	if err != nil {
		return nil, false, d.fail(err)
	}
	conv := make([]converter, len(s))
	for i, c := range s {
		conv[i] = converterFor(c)
	}
	return &sourceTable{db: d, t: t, schema: s, convert: conv}, true, nil
}

// GetTableNames lists the source's tables. In information_schema a source
// that cannot be reached lists none, with a warning naming why (as MySQL
// warns of a table it cannot open there): one keyspace whose server is down
// must not break the table lists of every other, which BI tools read
// first. Elsewhere (SHOW TABLES) it is an error.
func (d *sourceDB) GetTableNames(ctx *sql.Context) ([]string, error) {
	names, err := d.src.Tables(ctx)
	if errors.Is(err, engines.ErrSourceUnavailable) && ctx.Session != nil && readsInformationSchema(ctx) {
		code, msg := mysql.ERUnknownError, err.Error()
		var se *mysql.SQLError
		if errors.As(d.fail(err), &se) {
			code, msg = se.Number(), se.Message
		}
		ctx.Session.Warn(&sql.Warning{Level: "Warning", Code: code,
			Message: fmt.Sprintf("keyspace %s lists no tables: %s", d.name, msg)})
		return nil, nil
	}
	if err != nil {
		return nil, d.fail(err)
	}
	return visibleNames(ctx, names, d.visible), nil
}

// readsInformationSchema reports whether the statement of ctx reads
// information_schema (whose tables list every keyspace's tables).
func readsInformationSchema(ctx *sql.Context) bool {
	return strings.Contains(strings.ToLower(ctx.Query()), "information_schema")
}

// visibleNames keeps the names visible shows (all when it is nil).
func visibleNames(ctx *sql.Context, names []string, visible func(*sql.Context, string) bool) []string {
	if visible == nil {
		return names
	}
	out := names[:0:0]
	for _, n := range names {
		if visible(ctx, n) {
			out = append(out, n)
		}
	}
	return out
}

func (d *sourceDB) CreateView(*sql.Context, string, string, string) error {
	return fmt.Errorf("keyspace %s is read-only", d.name)
}
func (d *sourceDB) DropView(_ *sql.Context, name string) error {
	return sql.ErrViewDoesNotExist.New(d.name, name)
}
func (d *sourceDB) GetViewDefinition(*sql.Context, string) (sql.ViewDefinition, bool, error) {
	return sql.ViewDefinition{}, false, nil
}
func (d *sourceDB) AllViews(*sql.Context) ([]sql.ViewDefinition, error) { return nil, nil }

// sourceTable is one table of a sourceDB.
type sourceTable struct {
	db      *sourceDB
	t       *engines.Table
	schema  sql.Schema
	convert []converter
}

var (
	_ sql.Table           = (*sourceTable)(nil)
	_ sql.PrimaryKeyTable = (*sourceTable)(nil)
)

func (t *sourceTable) Name() string                   { return t.t.Name }
func (t *sourceTable) String() string                 { return t.t.Name }
func (t *sourceTable) Schema(*sql.Context) sql.Schema { return t.schema }
func (t *sourceTable) Collation() sql.CollationID     { return sql.Collation_Default }

func (t *sourceTable) PrimaryKeySchema(*sql.Context) sql.PrimaryKeySchema {
	var pk []int
	if t.t.KeyKind == engines.PrimaryKey {
		pk = t.t.Key
	}
	return sql.NewPrimaryKeySchema(t.schema, pk...)
}

type onePartition struct{}

func (onePartition) Key() []byte { return []byte("all") }

func (t *sourceTable) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(onePartition{}), nil
}

// PartitionRows reads the table from one snapshot, in key order.
func (t *sourceTable) PartitionRows(ctx *sql.Context, _ sql.Partition) (sql.RowIter, error) {
	snap, err := t.db.src.Snapshot(ctx, t.t.Name)
	if err != nil {
		return nil, t.db.fail(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	rows := make(chan []any, 256)
	errc := make(chan error, 1)
	go func() {
		defer close(rows)
		var err error
		defer func() { errc <- err }()
		defer engines.Recover("reading "+t.db.name+"."+t.t.Name, &err)
		err = snap.Scan(sctx, nil, 0, func(r []any) error {
			select {
			case rows <- r:
				return nil
			case <-sctx.Done():
				return context.Cause(sctx)
			}
		})
	}()
	return &scanIter{t: t, snap: snap, rows: rows, errc: errc, cancel: cancel}, nil
}

type scanIter struct {
	t      *sourceTable
	snap   engines.Snapshot
	rows   chan []any
	errc   chan error
	cancel context.CancelFunc
}

func (i *scanIter) Next(ctx *sql.Context) (sql.Row, error) {
	r, ok := <-i.rows
	if !ok {
		if err := <-i.errc; err != nil {
			i.errc <- err
			return nil, i.t.db.fail(err)
		}
		i.errc <- nil
		return nil, io.EOF
	}
	out := make(sql.Row, len(r))
	for j, v := range r {
		x, err := i.t.convert[j](ctx, v)
		if err != nil {
			return nil, err
		}
		out[j] = x
	}
	return out, nil
}

func (i *scanIter) Close(*sql.Context) error {
	i.cancel()
	for range i.rows {
	}
	return i.snap.Close()
}
