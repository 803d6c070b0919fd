package server

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/planner"
	"github.com/vstreamd/vstreamd/server/sqlerr"
)

// With users configured, no user administers vstreamd: go-mysql-server
// lets any user KILL any connection, SET GLOBAL variables, and (not)
// see the other sessions in SHOW PROCESSLIST as MySQL does. The guard
// gives these statements MySQL's rules for a user without administrative
// privileges: KILL only one's own connections (else 1095), no SET GLOBAL
// or PERSIST (1227), SHOW PROCESSLIST and information_schema.processlist
// list only one's own sessions.

// guarded matches statements the guard looks at (after comments), and
// killStatement a KILL, which it runs itself also without users (see
// kill).
var (
	guarded       = regexp.MustCompile(`(?is)^\s*(?:/\*.*?\*/\s*)*(kill|set|show)\b`)
	killStatement = regexp.MustCompile(`(?is)^\s*(?:/\*.*?\*/\s*)*kill\b`)
)

// errDone: the guard ran the statement itself (a KILL); the client gets
// an OK.
var errDone = errors.New("statement done")

// guard checks a statement of the session on c before it runs. It returns
// the statement to run instead (SHOW PROCESSLIST becomes a SELECT), or
// the statement itself, or errDone. A statement being prepared is only
// checked (a KILL is refused: it would run at PREPARE).
func (s *Server) guard(c *mysql.Conn, query string, preparing bool) (string, error) {
	if s.users == nil && !killStatement.MatchString(query) || !guarded.MatchString(query) {
		return query, nil
	}
	stmt, err := sqlparser.Parse(query)
	if err != nil {
		return query, nil // go-mysql-server reports it
	}
	switch st := stmt.(type) {
	case *sqlparser.Kill:
		if preparing {
			return query, engines.Errorf(sqlerr.ErrNotPreparable, "KILL cannot be prepared")
		}
		return query, s.kill(c, st)
	case *sqlparser.Set:
		for _, e := range st.Exprs {
			switch e.Scope {
			case sqlparser.SetScope_Global, sqlparser.SetScope_Persist, sqlparser.SetScope_PersistOnly:
				return query, engines.Errorf(sqlerr.ErrSpecificAccessDenied,
					"Access denied; you need (at least one of) the SUPER or SYSTEM_VARIABLES_ADMIN privilege(s) for this operation: SET %s %s changes every session's (vstreamd's users administer nothing)",
					strings.ToUpper(string(e.Scope)), e.Name.Name.String())
			}
		}
	case *sqlparser.Show:
		if strings.EqualFold(st.Type, "processlist") {
			info := "LEFT(info, 100)"
			if st.Full {
				info = "info"
			}
			return "SELECT id AS Id, user AS User, host AS Host, db, command AS Command, time AS Time, state AS State, " +
				info + " AS Info FROM information_schema.processlist ORDER BY id", nil
		}
	}
	return query, nil
}

// kill runs KILL [QUERY | CONNECTION] id; a user may KILL its own
// connections only (go-mysql-server lets only administrators KILL, and
// then any connection; the mariadb client's Ctrl-C is a KILL QUERY from a
// second connection of the same user).
func (s *Server) kill(c *mysql.Conn, k *sqlparser.Kill) error {
	v, ok := k.ConnID.(*sqlparser.SQLVal)
	if !ok || v.Type != sqlparser.IntVal {
		return engines.Errorf(planner.ErrSyntax, "KILL takes a connection id (a number)")
	}
	id, err := strconv.ParseUint(string(v.Val), 10, 32)
	if err != nil {
		return engines.Errorf(planner.ErrSyntax, "KILL %s: not a connection id", v.Val)
	}
	for _, p := range s.engine.ProcessList.Processes() {
		if uint64(p.Connection) != id {
			continue
		}
		if s.users != nil && p.User != c.User {
			return engines.Errorf(sqlerr.ErrKillDenied, "You are not owner of thread %d", id)
		}
		if k.Connection {
			// The connection closes before its statement ends: a stream
			// that ends first ends its result set cleanly, as for KILL
			// QUERY, and its client could read that end before the
			// connection's, taking the statement for complete.
			s.gms.SessionManager().KillConnection(uint32(id))
		}
		s.engine.ProcessList.Kill(uint32(id))
		return errDone
	}
	return engines.Errorf(sqlerr.ErrUnknownThread, "Unknown thread id: %d", id)
}

// newContext is the server's sql.ContextFactory: with users configured, a
// client session's process list shows only its user's sessions.
func (s *Server) newContext(ctx context.Context, opts ...sql.ContextOption) *sql.Context {
	c := sql.NewContext(ctx, opts...)
	if s.users != nil && c.ProcessList != nil {
		if sess, ok := c.Session.(*Session); ok {
			c.ProcessList = ownProcesses{ProcessList: c.ProcessList, user: sess.Client().User}
		}
	}
	return c
}

// ownProcesses is a process list that lists one user's processes.
type ownProcesses struct {
	sql.ProcessList
	user string
}

func (o ownProcesses) Processes() []sql.Process {
	all := o.ProcessList.Processes()
	out := all[:0:0]
	for _, p := range all {
		if p.User == o.user {
			out = append(out, p)
		}
	}
	return out
}
