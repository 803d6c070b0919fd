package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/planner"
	"github.com/vstreamd/vstreamd/vstream"
)

// stateFunc is the shared shape of vstream_positions() and
// vstream_copy_state(): this session's streams, optionally only those of
// one 'keyspace' or 'keyspace.table'.
type stateFunc struct {
	tableFunc
	s      *Server
	schema sql.Schema
	rows   func(ctx *sql.Context, match func(vstream.StreamKey) bool) []sql.Row
}

func (f *stateFunc) newInstance(db sql.Database, args []sql.Expression) (*stateFunc, error) {
	if len(args) > 1 {
		return nil, engines.Errorf(planner.ErrSyntax, "%s() takes at most one argument: 'keyspace' or 'keyspace.table'", f.name)
	}
	nf := *f
	nf.db, nf.args = db, args
	return &nf, nil
}

func (f *stateFunc) Schema(*sql.Context) sql.Schema { return f.schema }

func (f *stateFunc) WithChildren(_ *sql.Context, children ...sql.Node) (sql.Node, error) {
	return f, nil
}

func (f *stateFunc) WithExpressions(_ *sql.Context, exprs ...sql.Expression) (sql.Node, error) {
	nf := *f
	nf.args = exprs
	return &nf, nil
}

func (f *stateFunc) WithDatabase(db sql.Database) (sql.Node, error) {
	nf := *f
	nf.db = db
	return &nf, nil
}

func (f *stateFunc) RowIter(ctx *sql.Context, row sql.Row) (sql.RowIter, error) {
	filter, has, err := f.stringArg(ctx, 0, row)
	if err != nil {
		return nil, err
	}
	g := f.s.grantsOf(ctx)
	match := func(k vstream.StreamKey) bool { return g == nil || g.table(k.Keyspace, k.Table) }
	if has {
		ks, table, _ := strings.Cut(filter, ".")
		access := f.s.checkKeyspace(ctx, ks)
		if table != "" {
			access = f.s.checkTable(ctx, ks, table)
		}
		if access != nil {
			return nil, access
		}
		all := match
		match = func(k vstream.StreamKey) bool {
			return all(k) && strings.EqualFold(k.Keyspace, ks) && (table == "" || strings.EqualFold(k.Table, table))
		}
	}
	return sql.RowsToRowIter(f.rows(ctx, match)...), nil
}

// positionsFunc is vstream_positions().
type positionsFunc struct{ stateFunc }

// copyStateFunc is vstream_copy_state().
type copyStateFunc struct{ stateFunc }

func newPositionsFunc(s *Server) *positionsFunc {
	return &positionsFunc{stateFunc{
		tableFunc: tableFunc{name: "vstream_positions"}, s: s,
		schema: sql.Schema{
			col("keyspace", varchar64, false), col("table_name", varchar64, false), col("shard", varchar64, false),
			col("phase", varchar16, false), col("pos", types.LongText, true), col("commit_time", datetime6, true),
			col("rows_delivered", types.Int64, false), col("lag_seconds", types.Float64, true),
		},
		rows: positionRows,
	}}
}

func newCopyStateFunc(s *Server) *copyStateFunc {
	return &copyStateFunc{stateFunc{
		tableFunc: tableFunc{name: "vstream_copy_state"}, s: s,
		schema: sql.Schema{
			col("keyspace", varchar64, false), col("table_name", varchar64, false), col("shard", varchar64, false),
			col("state", varchar16, false), col("last_pk", types.LongText, true), col("rows_copied", types.Int64, false),
			col("rows_estimated", types.Int64, true), col("started_at", datetime6, true), col("ended_at", datetime6, true),
		},
		rows: copyStateRows,
	}}
}

func (f *positionsFunc) NewInstance(_ *sql.Context, db sql.Database, args []sql.Expression) (sql.Node, error) {
	nf, err := f.newInstance(db, args)
	if err != nil {
		return nil, planningError(err)
	}
	return &positionsFunc{*nf}, nil
}

func (f *copyStateFunc) NewInstance(_ *sql.Context, db sql.Database, args []sql.Expression) (sql.Node, error) {
	nf, err := f.newInstance(db, args)
	if err != nil {
		return nil, planningError(err)
	}
	return &copyStateFunc{*nf}, nil
}

func positionRows(ctx *sql.Context, match func(vstream.StreamKey) bool) []sql.Row {
	var rows []sql.Row
	for _, p := range streamsOf(ctx).Positions() {
		if !match(p.StreamKey) {
			continue
		}
		var token, commit, lag any
		if p.Token != "" {
			token = p.Token
		}
		if !p.CommitTime.IsZero() {
			commit = p.CommitTime.UTC()
		}
		if p.Lag >= 0 {
			lag = p.Lag.Seconds()
		}
		rows = append(rows, sql.Row{p.Keyspace, p.Table, p.Shard, p.Phase, token, commit, p.RowsDelivered, lag})
	}
	return rows
}

func copyStateRows(ctx *sql.Context, match func(vstream.StreamKey) bool) []sql.Row {
	var rows []sql.Row
	for _, c := range streamsOf(ctx).CopyStates() {
		if !match(c.StreamKey) {
			continue
		}
		var lastPK, est, started, ended any
		if c.LastKey != nil {
			lastPK = formatKey(c.LastKey)
		}
		if c.EstimatedRows >= 0 {
			est = c.EstimatedRows
		}
		if !c.Started.IsZero() {
			started = c.Started.UTC()
		}
		if !c.Ended.IsZero() {
			ended = c.Ended.UTC()
		}
		rows = append(rows, sql.Row{c.Keyspace, c.Table, c.Shard, string(c.State), lastPK, c.RowsCopied, est, started, ended})
	}
	return rows
}

// formatKey shows a key tuple as SQL literals: 42 or 7,'abc'.
func formatKey(key []any) string {
	parts := make([]string, len(key))
	for i, v := range key {
		switch x := v.(type) {
		case nil:
			parts[i] = "NULL"
		case string:
			parts[i] = "'" + strings.ReplaceAll(x, "'", "''") + "'"
		case []byte:
			parts[i] = fmt.Sprintf("0x%X", x)
		case time.Time:
			parts[i] = "'" + x.UTC().Format("2006-01-02 15:04:05.999999") + "'"
		case fmt.Stringer:
			parts[i] = "'" + strings.ReplaceAll(x.String(), "'", "''") + "'"
		default:
			parts[i] = fmt.Sprint(x)
		}
	}
	return strings.Join(parts, ",")
}
