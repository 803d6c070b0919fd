package server

import (
	"context"
	"errors"
	"regexp"
	"strings"

	gmsserver "github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/planner"
	"github.com/vstreamd/vstreamd/server/sqlerr"
)

// callsVStream matches queries that call the vstream() table function;
// they may stream without end, so they take the streaming path too. (A
// false positive, such as the text inside a string, only means an ordinary
// query is served by the streaming path, which serves any query.)
var callsVStream = regexp.MustCompile(`(?i)\bvstream\w*\s*\(`)

// interceptor routes VSTREAM and vstream() queries to the streaming path and
// everything else to GMS's handler.
type interceptor struct{ s *Server }

var _ gmsserver.Interceptor = (*interceptor)(nil)

func (i *interceptor) Priority() int { return 0 }

func (i *interceptor) Query(ctx context.Context, chain gmsserver.Chain, c *mysql.Conn, query string, cb func(*sqltypes.Result, bool) error) (err error) {
	defer func() { err = i.s.failed(c, err) }()
	if err := i.s.checkStatementSize(query); err != nil {
		return sqlerr.Of(err)
	}
	query, err = i.s.guard(c, query, false)
	switch {
	case errors.Is(err, errDone):
		return cb(&sqltypes.Result{}, false)
	case err != nil:
		return sqlerr.Of(err)
	}
	switch {
	case planner.IsVStream(query):
		return i.s.serveVStream(ctx, c, query, false, cb)
	case callsVStream.MatchString(query):
		return i.s.serveQuery(ctx, c, query, nil, false, cb)
	}
	return sqlerr.Refine(chain.ComQuery(ctx, c, query, cb))
}

func (i *interceptor) ParsedQuery(chain gmsserver.Chain, c *mysql.Conn, query string, parsed sqlparser.Statement, cb func(*sqltypes.Result, bool) error) (err error) {
	defer func() { err = i.s.failed(c, err) }()
	if _, err := i.s.guard(c, query, true); err != nil {
		return sqlerr.Of(err)
	}
	return sqlerr.Refine(chain.ComQuery(context.Background(), c, query, cb))
}

// MultiQuery serves one statement of a multi-statement packet; the client
// library calls it again with the remainder.
//
// A failed statement ends the packet, as in MySQL: the client reads its
// error and nothing after it. (The protocol layer runs whatever remainder
// is returned, even after an error, and go-mysql-server returns it; the
// client would then find the next statements' results in front of its
// next query's: go-sql-driver's "busy buffer".)
func (i *interceptor) MultiQuery(ctx context.Context, chain gmsserver.Chain, c *mysql.Conn, query string, cb func(*sqltypes.Result, bool) error) (_ string, err error) {
	defer func() { err = i.s.failed(c, err) }()
	if err := i.s.checkStatementSize(query); err != nil {
		return "", sqlerr.Of(err)
	}
	first, rest := planner.SplitFirst(query)
	more := rest != ""
	guarded, err := i.s.guard(c, first, false)
	switch {
	case errors.Is(err, errDone):
		return rest, cb(&sqltypes.Result{}, more)
	case err != nil:
		return "", sqlerr.Of(err)
	}
	if guarded != first {
		first = guarded
		query = guarded
		if more {
			query += ";" + rest
		}
	}
	switch {
	case planner.IsVStream(first):
		err = i.s.serveVStream(ctx, c, first, more, cb)
	case callsVStream.MatchString(first):
		err = i.s.serveQuery(ctx, c, first, nil, more, cb)
	default:
		rest, err = chain.ComMultiQuery(ctx, c, query, cb)
		err = sqlerr.Refine(err)
	}
	if err != nil {
		return "", err
	}
	return rest, nil
}

// Prepare: VSTREAM cannot be prepared (the protocol layer parses prepared
// statements with the MySQL grammar before vstreamd sees them); vstream()
// can.
func (i *interceptor) Prepare(ctx context.Context, chain gmsserver.Chain, c *mysql.Conn, query string, prepare *mysql.PrepareData) (_ []*querypb.Field, err error) {
	defer func() { err = i.s.failed(c, err) }()
	if err := i.s.checkStatementSize(query); err != nil {
		return nil, sqlerr.Of(err)
	}
	if _, err := i.s.guard(c, query, true); err != nil {
		return nil, sqlerr.Of(err)
	}
	if callsVStream.MatchString(query) {
		if err := checkVStreamArgs(query); err != nil {
			return nil, sqlerr.Of(err)
		}
		// Table functions need a current database, at PREPARE as when
		// the statement runs (see stream).
		sqlCtx, err := i.s.gms.SessionManager().NewContextWithQuery(ctx, c, query)
		if err != nil {
			return nil, sqlerr.Of(err)
		}
		if sqlCtx.GetCurrentDatabase() == "" {
			sqlCtx.SetCurrentDatabase("information_schema")
			defer sqlCtx.SetCurrentDatabase("")
		}
	}
	fields, err := chain.ComPrepare(ctx, c, query, prepare)
	return fields, sqlerr.Refine(err)
}

// checkVStreamArgs rejects a vstream() whose table argument is not a
// string constant before GMS plans it (GMS would report its own error as
// 1105): the table decides the result's columns at PREPARE time.
func checkVStreamArgs(query string) error {
	stmt, err := sqlparser.Parse(query)
	if err != nil {
		return nil // GMS reports syntax errors itself
	}
	var bad error
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		f, ok := n.(*sqlparser.TableFuncExpr)
		if !ok || !strings.EqualFold(f.Name, "vstream") || len(f.Exprs) == 0 {
			return true, nil
		}
		ae, ok := f.Exprs[0].(*sqlparser.AliasedExpr)
		if lit, isLit := aliasedLiteral(ae, ok); !isLit || lit.Type != sqlparser.StrVal {
			bad = engines.Errorf(planner.ErrSyntax, "vstream()'s first argument must be a string constant such as 'keyspace.table', also in prepared statements (it decides the columns); parameters may give the positions")
		}
		return true, nil
	}, stmt)
	return bad
}

func aliasedLiteral(ae *sqlparser.AliasedExpr, ok bool) (*sqlparser.SQLVal, bool) {
	if !ok {
		return nil, false
	}
	v, isVal := ae.Expr.(*sqlparser.SQLVal)
	return v, isVal
}

func (i *interceptor) StmtExecute(ctx context.Context, chain gmsserver.Chain, c *mysql.Conn, prepare *mysql.PrepareData, cb func(*sqltypes.Result) error) (err error) {
	defer func() { err = i.s.failed(c, err) }()
	if callsVStream.MatchString(prepare.PrepareStmt) {
		return i.s.serveQuery(ctx, c, prepare.PrepareStmt, prepare.BindVars, false, func(r *sqltypes.Result, _ bool) error { return cb(r) })
	}
	return sqlerr.Refine(chain.ComStmtExecute(ctx, c, prepare, cb))
}

// failed is the error a statement ends with, redacted; it is also what
// SHOW WARNINGS shows next, as in MySQL (an error at level Error, in place
// of the warnings of the statement before).
func (s *Server) failed(c *mysql.Conn, err error) error {
	err = s.redact.error(err)
	if err == nil {
		return nil
	}
	sqlCtx, cerr := s.gms.SessionManager().NewContextWithQuery(context.Background(), c, "")
	if cerr != nil {
		return err
	}
	code, msg := sqlerr.Code(err), err.Error()
	var se *mysql.SQLError
	if errors.As(err, &se) {
		msg = se.Message
	}
	sqlCtx.ClearWarnings()
	sqlCtx.Session.Warn(&sql.Warning{Level: "Error", Code: code, Message: msg})
	return err
}
