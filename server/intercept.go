package server

import (
	"context"
	"regexp"

	gmsserver "github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/vstreamd/vstreamd/planner"
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

func (i *interceptor) Query(ctx context.Context, chain gmsserver.Chain, c *mysql.Conn, query string, cb func(*sqltypes.Result, bool) error) error {
	switch {
	case planner.IsVStream(query):
		return i.s.serveVStream(ctx, c, query, false, cb)
	case callsVStream.MatchString(query):
		return i.s.serveQuery(ctx, c, query, nil, false, cb)
	}
	return chain.ComQuery(ctx, c, query, cb)
}

func (i *interceptor) ParsedQuery(chain gmsserver.Chain, c *mysql.Conn, query string, parsed sqlparser.Statement, cb func(*sqltypes.Result, bool) error) error {
	return chain.ComQuery(context.Background(), c, query, cb)
}

// MultiQuery serves one statement of a multi-statement packet; the client
// library calls it again with the remainder.
func (i *interceptor) MultiQuery(ctx context.Context, chain gmsserver.Chain, c *mysql.Conn, query string, cb func(*sqltypes.Result, bool) error) (string, error) {
	first, rest := planner.SplitFirst(query)
	more := rest != ""
	switch {
	case planner.IsVStream(first):
		return rest, i.s.serveVStream(ctx, c, first, more, cb)
	case callsVStream.MatchString(first):
		return rest, i.s.serveQuery(ctx, c, first, nil, more, cb)
	}
	return chain.ComMultiQuery(ctx, c, query, cb)
}

// Prepare: VSTREAM cannot be prepared (the protocol layer parses prepared
// statements with the MySQL grammar before vstreamd sees them); vstream()
// can.
func (i *interceptor) Prepare(ctx context.Context, chain gmsserver.Chain, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	return chain.ComPrepare(ctx, c, query, prepare)
}

func (i *interceptor) StmtExecute(ctx context.Context, chain gmsserver.Chain, c *mysql.Conn, prepare *mysql.PrepareData, cb func(*sqltypes.Result) error) error {
	if callsVStream.MatchString(prepare.PrepareStmt) {
		return i.s.serveQuery(ctx, c, prepare.PrepareStmt, prepare.BindVars, false, func(r *sqltypes.Result, _ bool) error { return cb(r) })
	}
	return chain.ComStmtExecute(ctx, c, prepare, cb)
}
