package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	gmsserver "github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/planner"
	"github.com/vstreamd/vstreamd/server/sqlerr"
)

// errClientGone is the cancel cause when the client disconnects mid-stream.
var errClientGone = errors.New("client disconnected")

// rowsPerWrite caps how many rows one write to the socket carries when rows
// arrive faster than the client reads.
const rowsPerWrite = 128

type resultFn = func(*sqltypes.Result, bool) error

// serveVStream runs a VSTREAM statement: checks the workload, plans it into
// a SELECT over vstream(), and streams the result.
func (s *Server) serveVStream(ctx context.Context, c *mysql.Conn, query string, more bool, cb resultFn) error {
	return s.stream(ctx, c, query, func(sqlCtx *sql.Context, currentDB string) (*prepared, error) {
		if w := workload(sqlCtx); w != workloadOLAP {
			return nil, engines.Errorf(sqlerr.ErrWorkload, "VSTREAM runs only in the OLAP workload and this session is %s: run SET WORKLOAD=OLAP first", w)
		}
		plan, err := planner.Parse(query, currentDB, s.cfg.DefaultLimit)
		if err != nil {
			return nil, err
		}
		if err := s.checkTable(sqlCtx, plan.Keyspace, plan.Table); err != nil {
			return nil, err
		}
		entry, err := s.cat.Resolve(sqlCtx, plan.Keyspace, plan.Shard, plan.Table)
		if err != nil {
			return nil, err
		}
		if plan.Where == nil {
			return s.direct(sqlCtx, plan, entry)
		}
		stmt := plan.Statement(entry.ColumnNames())
		if sess, ok := sqlCtx.Session.(*Session); ok {
			sess.omitPos = !selectsPos(plan)
		}
		return &prepared{text: sqlparser.String(stmt), parsed: stmt}, nil
	}, nil, more, cb)
}

// serveQuery runs an ordinary query (one that calls vstream()) on the
// streaming path.
func (s *Server) serveQuery(ctx context.Context, c *mysql.Conn, query string, bindings map[string]*querypb.BindVariable, more bool, cb resultFn) error {
	return s.stream(ctx, c, query, func(*sql.Context, string) (*prepared, error) {
		return &prepared{text: query}, nil
	}, bindings, more, cb)
}

// stream runs one statement and writes its rows to the client as they come:
// the column headers at once, then every row flushed as soon as no further
// row is ready (or every rowsPerWrite rows).
func (s *Server) stream(ctx context.Context, c *mysql.Conn, query string,
	prepare func(ctx *sql.Context, currentDB string) (*prepared, error),
	bindings map[string]*querypb.BindVariable, more bool, cb resultFn) (err error) {

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sqlCtx, err := s.gms.SessionManager().NewContextWithQuery(ctx, c, query)
	if err != nil {
		return sqlerr.Of(err)
	}
	sqlCtx, err = sqlCtx.ProcessList.BeginQuery(sqlCtx, query)
	if err != nil {
		return sqlerr.Of(err)
	}
	defer sqlCtx.ProcessList.EndQuery(sqlCtx)
	if err := sql.SessionCommandBegin(sqlCtx.Session); err != nil {
		return sqlerr.Of(err)
	}
	defer sql.SessionCommandEnd(sqlCtx.Session)

	// Table functions need a current database; without one, lend
	// information_schema for the statement.
	currentDB := sqlCtx.GetCurrentDatabase()
	if currentDB == "" {
		sqlCtx.SetCurrentDatabase("information_schema")
		defer sqlCtx.SetCurrentDatabase("")
	}

	if sess, ok := sqlCtx.Session.(*Session); ok {
		sess.planned = nil
	}
	// A panic before the header (planning, opening the stream) is the
	// statement's error; after it, spool ends the result set with a
	// warning.
	defer func() {
		if p := recover(); p != nil {
			perr := engines.NewPanic("starting the statement", p)
			s.logPanic(sqlCtx, perr)
			err = sqlerr.Of(perr)
		}
	}()
	p, err := prepare(sqlCtx, currentDB)
	if err != nil {
		s.logPanic(sqlCtx, err)
		return sqlerr.Of(err)
	}
	if p.rows != nil {
		return s.spool(sqlCtx, c, p.schema, p.rows, cancel, more, cb)
	}
	exprs, err := bindingExprs(bindings)
	if err != nil {
		return sqlerr.Of(err)
	}
	schema, iter, _, err := s.engine.QueryWithBindings(sqlCtx, p.text, p.parsed, exprs, nil)
	if sess, ok := sqlCtx.Session.(*Session); ok {
		sess.omitPos = false
	}
	if err != nil {
		s.logPanic(sqlCtx, err)
		return sqlerr.Of(err)
	}
	if types.IsOkResultSchema(schema) || len(schema) == 0 {
		return s.okResult(sqlCtx, iter, more, cb)
	}
	schema = restoreNullability(sqlCtx, schema)
	return s.spool(sqlCtx, c, schema, &gmsRows{schema: schema, iter: iter}, cancel, more, cb)
}

// prepared is a statement ready to run: a SELECT for go-mysql-server, or
// (schema and rows set) a VSTREAM served directly.
type prepared struct {
	text   string
	parsed sqlparser.Statement
	schema sql.Schema
	rows   rowSource
}

// rowSource produces the rows of a result set: next from one goroutine,
// encode from another (the writer), close once next is done.
type rowSource interface {
	next(ctx *sql.Context) (any, error)
	encode(ctx *sql.Context, row any, buf *sql.ByteBuffer) ([]sqltypes.Value, error)
	close(ctx *sql.Context) error
}

// recycler is a rowSource whose encoded rows may be reused once they are
// written: spool calls recycle after every write.
type recycler interface {
	recycle()
}

// readier is a rowSource that can tell when next would return at once.
type readier interface {
	ready() bool
}

// gmsRows are the rows of a statement go-mysql-server runs.
type gmsRows struct {
	schema sql.Schema
	iter   sql.RowIter
}

func (g *gmsRows) next(ctx *sql.Context) (any, error) { return g.iter.Next(ctx) }

func (g *gmsRows) encode(ctx *sql.Context, row any, buf *sql.ByteBuffer) ([]sqltypes.Value, error) {
	return gmsserver.RowToSQL(ctx, g.schema, row.(sql.Row), nil, buf)
}

func (g *gmsRows) close(ctx *sql.Context) error { return g.iter.Close(ctx) }

// okResult answers a statement without a result set.
func (s *Server) okResult(ctx *sql.Context, iter sql.RowIter, more bool, cb resultFn) error {
	res := &sqltypes.Result{}
	for {
		row, err := iter.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			iter.Close(ctx)
			return sqlerr.Of(err)
		}
		if len(row) == 1 {
			if ok, isOK := row[0].(types.OkResult); isOK {
				res.RowsAffected, res.InsertID = ok.RowsAffected, ok.InsertID
			}
		}
	}
	if err := iter.Close(ctx); err != nil {
		return sqlerr.Of(err)
	}
	return cb(res, more)
}

// spool writes the result set. Every row the iterator hands out reaches the
// client unless the client is gone: the stream state counts it as
// delivered.
func (s *Server) spool(ctx *sql.Context, c *mysql.Conn, schema sql.Schema, src rowSource,
	cancel context.CancelCauseFunc, more bool, cb resultFn) error {

	fields := fieldsOf(ctx, schema)
	sendErr := cb(&sqltypes.Result{Fields: fields}, more)
	if sendErr == nil {
		sendErr = c.FlushBuffer()
	}
	if sendErr != nil {
		cancel(errClientGone)
	}

	stopWatch := watchClient(c, cancel)
	defer stopWatch()

	// The producer hands rows over in batches: every row the source has
	// ready at once (see readier), up to rowsPerWrite; the writer flushes
	// whenever no batch is waiting, so a lone row is on the wire at once.
	batches := make(chan []any, 2)
	var iterErr error
	go func() {
		defer close(batches)
		defer engines.Recover("the rows of the statement", &iterErr)
		r, _ := src.(readier)
		for {
			row, err := src.next(ctx)
			if err != nil {
				if err != io.EOF {
					iterErr = err
				}
				return
			}
			size := 1
			if r != nil && r.ready() {
				size = rowsPerWrite
			}
			batch := make([]any, 1, size)
			batch[0] = row
			for r != nil && len(batch) < rowsPerWrite && r.ready() {
				row, err := src.next(ctx)
				if err != nil {
					batches <- batch
					if err != io.EOF {
						iterErr = err
					}
					return
				}
				batch = append(batch, row)
			}
			batches <- batch // the writer drains until close, even after a failure
		}
	}()

	buf := sql.ByteBufPool.Get().(*sql.ByteBuffer)
	defer func() {
		buf.Reset()
		sql.ByteBufPool.Put(buf)
	}()
	// Every batch carries the fields: the binary protocol (a prepared
	// vstream()) sizes each row's NULL bitmap by them. (The fields are sent
	// to the client once, with the header.)
	res := &sqltypes.Result{Fields: fields, Rows: make([][]sqltypes.Value, 0, rowsPerWrite)}
	rc, _ := src.(recycler)
	var convErr error
	flush := func() {
		if len(res.Rows) > 0 && sendErr == nil {
			if sendErr = cb(res, more); sendErr == nil {
				sendErr = c.FlushBuffer()
			}
			if sendErr != nil {
				cancel(errClientGone)
			}
		}
		res.Rows = res.Rows[:0]
		buf.Reset()
		if rc != nil {
			rc.recycle()
		}
	}
	for {
		var batch []any
		var ok bool
		select {
		case batch, ok = <-batches:
		default:
			flush()
			batch, ok = <-batches
		}
		if !ok {
			break
		}
		for _, row := range batch {
			if sendErr != nil || convErr != nil {
				break
			}
			out, err := encodeRecovered(ctx, src, row, buf)
			if err != nil {
				convErr = err
				cancel(err)
				break
			}
			res.Rows = append(res.Rows, out)
			if len(res.Rows) >= rowsPerWrite {
				flush()
			}
		}
	}
	flush()
	closeErr := src.close(ctx)

	switch {
	case sendErr != nil || errors.Is(context.Cause(ctx), errClientGone):
		return fmt.Errorf("client gone: %w", errors.Join(sendErr, iterErr))
	case convErr != nil:
		s.warn(ctx, convErr)
	case iterErr != nil:
		s.warn(ctx, iterErr)
	case closeErr != nil:
		s.warn(ctx, closeErr)
	}
	return nil
}

// encodeRecovered is src.encode, for which a panic is an error: the
// result set ends with it as a warning.
func encodeRecovered(ctx *sql.Context, src rowSource, row any, buf *sql.ByteBuffer) (out []sqltypes.Value, err error) {
	defer engines.Recover("writing a row", &err)
	return src.encode(ctx, row, buf)
}

// logPanic logs, with its stack, a panic that ended a statement.
func (s *Server) logPanic(ctx *sql.Context, err error) {
	var pe *engines.PanicError
	if errors.As(err, &pe) {
		s.log.Error("a panic ended a statement; the server goes on", "conn_id", ctx.ID(), "where", pe.Where,
			"panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
	}
}

// warn leaves a failure that happened after the header as a warning: the
// result set ends cleanly and SHOW WARNINGS tells why and where to resume.
func (s *Server) warn(ctx *sql.Context, err error) {
	s.logPanic(ctx, err)
	code, msg := sqlerr.Warning(err)
	msg = s.redact.text(msg)
	ctx.Session.Warn(&sql.Warning{Level: "Warning", Code: code, Message: msg})
	s.log.Debug("stream ended with a warning", "conn_id", ctx.ID(), "code", code, "err", msg)
}

// watchClient cancels the statement as soon as the client disconnects (or
// writes while it should be reading). The returned func stops the watch and
// waits for it.
func watchClient(c *mysql.Conn, cancel context.CancelCauseFunc) func() {
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			err := c.WaitForClientActivity(wctx)
			if wctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			cancel(errClientGone)
			return
		}
	}()
	return func() {
		stop()
		<-done
	}
}

// bindingExprs turns prepared-statement parameters into expressions, as
// GMS's handler does.
func bindingExprs(bindings map[string]*querypb.BindVariable) (map[string]sqlparser.Expr, error) {
	if len(bindings) == 0 {
		return nil, nil
	}
	res := make(map[string]sqlparser.Expr, len(bindings))
	for name, bv := range bindings {
		val, err := sqltypes.BindVariableToValue(bv)
		if err != nil {
			return nil, err
		}
		expr, err := sqlparser.ExprFromValue(val)
		if err != nil {
			return nil, err
		}
		res[name] = expr
	}
	return res, nil
}

// selectsPos reports whether a VSTREAM lists the pos pseudo-column.
func selectsPos(p *planner.Plan) bool {
	for _, c := range p.Select {
		if strings.EqualFold(c, "pos") {
			return true
		}
	}
	return false
}
