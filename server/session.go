package server

import (
	"context"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/vstreamd/vstreamd/engines/embedded"
	"github.com/vstreamd/vstreamd/vstream"
)

// Session is a vstreamd client session: a GMS session with transactions
// over embedded keyspaces and the session's stream state (contract §4).
type Session struct {
	*sql.BaseSession
	embedded.Transactions
	streams *vstream.SessionState

	// planned holds, per statement, the column schemas of the vstream()
	// instances GMS planned, by table and alias name: GMS's planner drops
	// table-function columns' nullability, which the header then restores.
	planned map[string]sql.Schema
	// omitPos is set while a VSTREAM that does not select pos is planned:
	// its vstream() instance then skips encoding a token for every row.
	omitPos bool
}

var (
	_ sql.TransactionSession    = (*Session)(nil)
	_ sql.LifecycleAwareSession = (*Session)(nil)
)

// newSession builds a session for a new connection.
func newSession(ctx context.Context, conn *mysql.Conn, addr string) (sql.Session, error) {
	host, user := "", ""
	if u, ok := conn.UserData.(sql.MysqlConnectionUser); ok {
		host, user = u.Host, u.User
	}
	client := sql.Client{Address: host, User: user, Capabilities: conn.Capabilities}
	return &Session{
		BaseSession: sql.NewBaseSessionWithClientServer(addr, client, conn.ConnectionID),
		streams:     vstream.NewSessionState(),
	}, nil
}

// Streams returns the session's stream state.
func (s *Session) Streams() *vstream.SessionState { return s.streams }

// CommandBegin implements sql.LifecycleAwareSession.
func (s *Session) CommandBegin() error { return nil }

// CommandEnd implements sql.LifecycleAwareSession.
func (s *Session) CommandEnd() {}

// SessionEnd implements sql.LifecycleAwareSession: a connection that goes
// away in the middle of a transaction rolls it back, releasing its write
// locks, and what its streams held at their sources is released.
func (s *Session) SessionEnd() {
	s.streams.Close()
	if tx, ok := s.GetTransaction().(*embedded.Txn); ok {
		tx.Rollback()
		s.SetTransaction(nil)
	}
}

// streamsOf returns the stream state of the session behind ctx.
func streamsOf(ctx *sql.Context) *vstream.SessionState {
	if s, ok := ctx.Session.(*Session); ok {
		return s.streams
	}
	return vstream.NewSessionState()
}

// notePlanned records the schema of a vstream() instance of the current
// statement under the names its columns may carry as source.
func notePlanned(ctx *sql.Context, schema sql.Schema, names ...string) {
	s, ok := ctx.Session.(*Session)
	if !ok {
		return
	}
	if s.planned == nil {
		s.planned = make(map[string]sql.Schema)
	}
	for _, n := range names {
		s.planned[strings.ToLower(n)] = schema
	}
}

// restoreNullability gives the columns of a result that come from a
// vstream() instance of this statement their real nullability, and forgets
// the statement's instances.
func restoreNullability(ctx *sql.Context, result sql.Schema) sql.Schema {
	s, ok := ctx.Session.(*Session)
	if !ok || len(s.planned) == 0 {
		return result
	}
	defer func() { s.planned = nil }()
	out := make(sql.Schema, len(result))
	for i, c := range result {
		out[i] = c
		src, ok := s.planned[strings.ToLower(c.Source)]
		if !ok {
			continue
		}
		if j := src.IndexOfColName(c.Name); j >= 0 && src[j].Nullable != c.Nullable {
			cc := *c
			cc.Nullable = src[j].Nullable
			out[i] = &cc
		}
	}
	return out
}
