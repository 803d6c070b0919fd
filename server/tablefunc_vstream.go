package server

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/planner"
	"github.com/vstreamd/vstreamd/vstream"
)

// vstreamFunc is vstream('ks.t' [, from [, to]]): the change stream of a
// table as a table function. Columns: op, the table's columns, pos.
//
// from: NULL or absent continues this session's stream of the table (or
// starts a fresh copy), ” starts a fresh copy, 'current' starts now, else a
// token (or a source position). to: NULL or absent streams on in the OLAP
// workload and ends at the current position in any other, 'current' ends
// at the position read at the start, else a token.
type vstreamFunc struct {
	tableFunc
	s      *Server
	entry  *catalog.Entry
	key    vstream.StreamKey
	schema sql.Schema
}

var (
	_ sql.TableFunction      = (*vstreamFunc)(nil)
	_ sql.ExecSourceRel      = (*vstreamFunc)(nil)
	_ sql.CollationCoercible = (*vstreamFunc)(nil)
)

func (f *vstreamFunc) Name() string { return "vstream" }

// NewInstance implements sql.TableFunction: it resolves the table (the
// first argument must be a constant) so the schema is known at planning.
// Its errors carry their MySQL code: go-mysql-server passes them on as they
// are when it prepares a statement (others become 1105).
func (f *vstreamFunc) NewInstance(ctx *sql.Context, db sql.Database, args []sql.Expression) (sql.Node, error) {
	n, err := f.newInstance(ctx, db, args)
	return n, planningError(err)
}

func (f *vstreamFunc) newInstance(ctx *sql.Context, db sql.Database, args []sql.Expression) (sql.Node, error) {
	if len(args) < 1 || len(args) > 3 {
		return nil, engines.Errorf(planner.ErrSyntax, "vstream() takes 1 to 3 arguments: vstream('keyspace.table' [, 'start token' [, 'end token']])")
	}
	nf := &vstreamFunc{tableFunc: tableFunc{name: "vstream", db: db, args: args}, s: f.s}
	name, ok, err := nf.stringArg(ctx, 0, nil)
	if err != nil || !ok {
		return nil, engines.Errorf(planner.ErrSyntax, "vstream()'s first argument must be a string constant such as 'keyspace.table'")
	}
	ks, shard, table, qualified := catalog.SplitName(name)
	if !qualified {
		ks, table = ctx.GetCurrentDatabase(), name
		if _, err := f.s.cat.Keyspace(ks); err != nil || table == "" {
			return nil, engines.Errorf(planner.ErrNoDatabase, "No database selected: name the table as vstream('keyspace.table') or USE a keyspace")
		}
	}
	if err := f.s.checkTable(ctx, ks, table); err != nil {
		return nil, err
	}
	entry, err := f.s.cat.Resolve(ctx, ks, shard, table)
	if err != nil {
		return nil, err
	}
	nf.entry = entry
	nf.key = vstream.StreamKey{Keyspace: entry.Keyspace.Name, Shard: shard, Table: entry.Table.Name}
	nf.schema = make(sql.Schema, 0, len(entry.Schema)+2)
	nf.schema = append(nf.schema, &sql.Column{Name: "op", Type: opType, Source: entry.Table.Name, DatabaseSource: entry.Keyspace.Name})
	for _, c := range entry.Schema {
		cc := *c
		cc.Source, cc.DatabaseSource = entry.Table.Name, entry.Keyspace.Name
		nf.schema = append(nf.schema, &cc)
	}
	nf.schema = append(nf.schema, &sql.Column{Name: "pos", Type: types.LongText, Source: entry.Table.Name, DatabaseSource: entry.Keyspace.Name})
	notePlanned(ctx, nf.schema, entry.Table.Name, "vstream")
	return nf, nil
}

func (f *vstreamFunc) Schema(*sql.Context) sql.Schema { return f.schema }

func (f *vstreamFunc) WithChildren(_ *sql.Context, children ...sql.Node) (sql.Node, error) {
	if len(children) != 0 {
		return nil, sql.ErrInvalidChildrenNumber.New(f, len(children), 0)
	}
	return f, nil
}

func (f *vstreamFunc) WithExpressions(_ *sql.Context, exprs ...sql.Expression) (sql.Node, error) {
	nf := *f
	nf.args = exprs
	return &nf, nil
}

func (f *vstreamFunc) WithDatabase(db sql.Database) (sql.Node, error) {
	nf := *f
	nf.db = db
	return &nf, nil
}

// RowIter implements sql.ExecSourceRel: it opens the stream, so a bad
// token, a purged position or an unreachable source is an error before the
// client sees the header.
func (f *vstreamFunc) RowIter(ctx *sql.Context, row sql.Row) (sql.RowIter, error) {
	if f.entry == nil {
		return nil, errors.New("vstream() was not resolved")
	}
	from, hasFrom, err := f.stringArg(ctx, 1, row)
	if err != nil {
		return nil, err
	}
	to, hasTo, err := f.stringArg(ctx, 2, row)
	if err != nil {
		return nil, err
	}
	st, state, err := f.s.openStream(ctx, f.entry, f.key.Shard, bound{hasFrom, from}, bound{hasTo, to})
	if err != nil {
		return nil, err
	}
	it := &streamIter{st: st, entry: f.entry, state: state}
	if sess, ok := ctx.Session.(*Session); ok {
		it.omitPos = sess.omitPos
	}
	return it, nil
}

var opText = map[byte]string{'+': "+", '*': "*", '-': "-"}

// streamIter turns stream rows into GMS rows: op, values, pos.
type streamIter struct {
	st      *heldStream
	entry   *catalog.Entry
	state   *vstream.StreamState
	omitPos bool // the statement does not show pos: skip encoding it
}

func (it *streamIter) Next(ctx *sql.Context) (_ sql.Row, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = it.resumeError(engines.NewPanic("the stream of "+it.entry.Keyspace.Name+"."+it.entry.Table.Name, p))
		}
	}()
	r, err := it.st.Next(ctx)
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, it.resumeError(err)
	}
	row := make(sql.Row, 0, len(r.Values)+2)
	row = append(row, opText[r.Op])
	if row, err = it.entry.Values(ctx, r.Values, row); err != nil {
		return nil, it.resumeError(err)
	}
	if it.omitPos {
		return append(row, nil), nil
	}
	return append(row, r.Token.String()), nil
}

func (it *streamIter) Close(*sql.Context) error { return it.st.Close() }

func (it *streamIter) resumeError(err error) error {
	t, _ := it.state.Resume()
	return &resumeError{err: err, token: t.String()}
}

// resumeError is a stream failure with the place to resume from.
type resumeError struct {
	err   error
	token string
}

func (e *resumeError) Unwrap() error { return e.err }

func (e *resumeError) Error() string {
	hint := fmt.Sprintf("to continue after the last delivered row use WHERE pos > '%s' (the next VSTREAM of this table in this session continues there by itself)", e.token)
	if errors.Is(e.err, context.Canceled) {
		return "stream stopped; " + hint
	}
	return e.err.Error() + "; " + hint
}
