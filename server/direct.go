package server

import (
	"io"
	"slices"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/planner"
	"github.com/vstreamd/vstreamd/vstream"
)

// direct prepares a VSTREAM without a WHERE filter: the stream's rows go
// straight to the wire, each value encoded once from the engine's value,
// with no SELECT for go-mysql-server to plan and run. The result is the
// one the equivalent SELECT over vstream() gives (same columns, values
// and errors: integration/direct_test.go compares them).
func (s *Server) direct(ctx *sql.Context, plan *planner.Plan, entry *catalog.Entry) (*prepared, error) {
	schema, cols, err := directSchema(entry, plan.Select)
	if err != nil {
		return nil, err
	}
	d := &directRows{limit: plan.Limit, skip: plan.Offset, entry: entry, cols: cols}
	d.enc = make([]encoder, len(cols))
	for i, c := range cols {
		if c >= 0 {
			d.enc[i] = encoderFor(ctx, entry, c)
		}
	}
	if plan.Limit != 0 { // LIMIT 0 opens no stream, as a SELECT reads no row
		d.st, d.state, err = s.openStream(ctx, entry, plan.Shard, startBound(plan), stopBound(plan))
		if err != nil {
			return nil, err
		}
		// Only a shared source stream hands sessions the same row images.
		if _, shared := s.streams[strings.ToLower(entry.Keyspace.Name)].(*vstream.Fanout); shared && !slices.Contains(cols, posColumn) {
			d.table = entry.Keyspace.Name + "." + plan.Shard + "." + entry.Table.Name
			d.encs, d.cache = &s.encodings, s.encodings.join(d.table, cols)
		}
	}
	return &prepared{schema: schema, rows: d}, nil
}

// posColumn marks the pos pseudo-column in directRows.cols.
const posColumn = -1

// directSchema is the result schema of a VSTREAM's select list: op, then
// the listed columns ("*" is every column, "pos" the position), and the
// table column index of each listed column (posColumn for pos).
func directSchema(entry *catalog.Entry, list []string) (sql.Schema, []int, error) {
	ks, table := entry.Keyspace.Name, entry.Table.Name
	schema := sql.Schema{{Name: "op", Type: opType, Source: table, DatabaseSource: ks}}
	var cols []int
	add := func(i int, name string) {
		c := *entry.Schema[i]
		c.Name, c.Source, c.DatabaseSource = name, table, ks
		schema = append(schema, &c)
		cols = append(cols, i)
	}
	for _, name := range list {
		switch {
		case name == "*":
			for i, c := range entry.Schema {
				add(i, c.Name)
			}
		case strings.EqualFold(name, "pos"):
			schema = append(schema, &sql.Column{Name: name, Type: types.LongText, Source: table, DatabaseSource: ks})
			cols = append(cols, posColumn)
		default:
			i := entry.Schema.IndexOfColName(name)
			if i < 0 {
				return nil, nil, sql.ErrColumnNotFound.New(name)
			}
			add(i, name)
		}
	}
	return schema, cols, nil
}

func startBound(p *planner.Plan) bound {
	switch p.Start {
	case planner.StartFresh:
		return bound{set: true}
	case planner.StartCurrent:
		return bound{set: true, text: "current"}
	case planner.StartToken:
		return bound{set: true, text: p.From}
	}
	return bound{}
}

func stopBound(p *planner.Plan) bound {
	switch p.Stop {
	case planner.StopCurrent:
		return bound{set: true, text: "current"}
	case planner.StopToken:
		return bound{set: true, text: p.To}
	}
	return bound{}
}

// directRows serves the rows of a stream, honouring LIMIT and OFFSET.
type directRows struct {
	st    *heldStream // nil for LIMIT 0
	state *vstream.StreamState
	entry *catalog.Entry
	cols  []int     // per result column after op: table column, or posColumn
	enc   []encoder // per result column after op; nil for pos
	limit int64     // rows still to send; -1 = no limit
	skip  int64     // rows still to skip (OFFSET)
	// slab is what is left of whole, the values slab rows are encoded
	// into; once they are written it is reused (see recycle), unless a row
	// went to the shared cache (kept).
	slab, whole []sqltypes.Value
	kept        bool
	// The wire values of change rows, shared with the other sessions that
	// stream the table (see encodings); nil with a pos column.
	encs  *encodings
	cache *encodingCache
	table string
}

func (d *directRows) next(ctx *sql.Context) (_ any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = d.resumeError(engines.NewPanic("the stream of "+d.entry.Keyspace.Name+"."+d.entry.Table.Name, p))
		}
	}()
	for {
		if d.limit == 0 || d.st == nil {
			return nil, io.EOF
		}
		r, err := d.st.Next(ctx)
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			return nil, d.resumeError(err)
		}
		if d.skip > 0 {
			d.skip--
			continue
		}
		if d.limit > 0 {
			d.limit--
		}
		return r, nil
	}
}

// ready reports whether next has a row at hand (it does not wait).
func (d *directRows) ready() bool {
	return d.st != nil && d.limit != 0 && d.skip == 0 && d.st.Ready()
}

// resumeError is err with the place to resume: after the last row
// delivered.
func (d *directRows) resumeError(err error) error {
	t, _ := d.state.Resume()
	return &resumeError{err: err, token: t.String()}
}

func (d *directRows) encode(ctx *sql.Context, row any, buf *sql.ByteBuffer) ([]sqltypes.Value, error) {
	r := row.(*vstream.Row)
	share := d.cache != nil && !r.Copied() && d.cache.shared()
	if share {
		// Another session's wire row of this image, op included (an image
		// belongs to one change, so to one op): read-only, not copied.
		if vals := d.cache.get(r.Values); vals != nil && vals[0].Raw()[0] == r.Op {
			return vals, nil
		}
	}
	n := len(d.cols) + 1
	if len(d.slab) < n {
		d.whole, d.kept = make([]sqltypes.Value, n*rowsPerWrite), false // one allocation for a write of rows
		d.slab = d.whole
	}
	out := d.slab[:n:n]
	d.slab = d.slab[n:]
	out[0] = opValue[r.Op]
	for i, c := range d.cols {
		if c == posColumn {
			b := r.Token.AppendTo(buf.Get())
			buf.Grow(len(b))
			out[i+1] = sqltypes.MakeTrusted(sqltypes.Text, b)
			continue
		}
		v, err := d.enc[i](ctx, r.Values[c], buf)
		if err != nil {
			return nil, err
		}
		out[i+1] = v
	}
	if share {
		d.cache.put(r.Values, out)
		d.kept = true
	}
	return out, nil
}

// recycle reuses the values slab for the next rows: the rows encoded into
// it are written, and none is kept by the shared cache.
func (d *directRows) recycle() {
	if d.kept {
		d.whole, d.slab = nil, nil
		return
	}
	d.slab = d.whole
}

func (d *directRows) close(*sql.Context) error {
	if d.cache != nil {
		d.encs.leave(d.table, d.cols, d.cache)
		d.cache = nil
	}
	if d.st == nil {
		return nil
	}
	return d.st.Close()
}

// opValue is the op column's value per op (indexed by the op byte: a row
// lookup must not cost a map access).
var opValue = func() (v [256]sqltypes.Value) {
	for _, op := range []byte("+*-") {
		v[op] = sqltypes.MakeTrusted(sqltypes.VarChar, []byte{op})
	}
	return v
}()
