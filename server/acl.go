package server

import (
	"strings"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/server/sqlerr"
)

// grants is what one user may see, query and stream: whole keyspaces, and
// single tables of other keyspaces (lower case).
type grants struct {
	keyspaces map[string]bool
	tables    map[string]map[string]bool // keyspace → tables
}

// newGrants resolves a user's keyspaces and tables ("*": every keyspace
// of the configuration).
func newGrants(u User, all []string) *grants {
	g := &grants{keyspaces: map[string]bool{}, tables: map[string]map[string]bool{}}
	for _, ks := range u.Keyspaces {
		if ks == "*" {
			for _, k := range all {
				g.keyspaces[strings.ToLower(k)] = true
			}
			continue
		}
		g.keyspaces[strings.ToLower(ks)] = true
	}
	for _, qt := range u.Tables {
		ks, t, _ := strings.Cut(qt, ".")
		ks, t = strings.ToLower(ks), strings.ToLower(t)
		if g.keyspaces[ks] {
			continue
		}
		if g.tables[ks] == nil {
			g.tables[ks] = map[string]bool{}
		}
		g.tables[ks][t] = true
	}
	return g
}

// keyspace reports whether the user sees keyspace: all of it, or some of
// its tables.
func (g *grants) keyspace(ks string) bool {
	ks = strings.ToLower(ks)
	return g.keyspaces[ks] || len(g.tables[ks]) > 0
}

// table reports whether the user may read and stream table of keyspace.
func (g *grants) table(ks, table string) bool {
	ks = strings.ToLower(ks)
	return g.keyspaces[ks] || g.tables[ks][strings.ToLower(table)]
}

// grantsOf returns the grants of the session's user; nil when everything
// is allowed: vstreamd has no users, or the context is vstreamd's own (not
// a client session's).
func (s *Server) grantsOf(ctx *sql.Context) *grants {
	if s.users == nil || ctx == nil {
		return nil
	}
	if _, client := ctx.Session.(*Session); !client {
		return nil
	}
	if g := s.users[ctx.Session.Client().User]; g != nil {
		return g
	}
	return &grants{} // no such user: nothing
}

// visible tells whether the session of ctx sees keyspace.table
// (catalog.Options.Visible).
func (s *Server) visible(ctx *sql.Context, keyspace, table string) bool {
	g := s.grantsOf(ctx)
	return g == nil || g.table(keyspace, table)
}

// checkKeyspace tells whether the session's user may use keyspace: error
// 1044 if it sees none of it. An unknown keyspace is not told apart from a
// forbidden one.
func (s *Server) checkKeyspace(ctx *sql.Context, keyspace string) error {
	g := s.grantsOf(ctx)
	if g == nil || g.keyspace(keyspace) {
		return nil
	}
	return engines.Errorf(sqlerr.ErrAccessDenied, "Access denied for user '%s'@'%%' to database '%s'", ctx.Session.Client().User, keyspace)
}

// checkTable tells whether the session's user may read and stream
// keyspace.table: error 1044 if it sees none of the keyspace, 1142 if it
// sees other tables of it. It is checked before the table is resolved, so
// that a forbidden name does not tell whether the table exists.
func (s *Server) checkTable(ctx *sql.Context, keyspace, table string) error {
	if err := s.checkKeyspace(ctx, keyspace); err != nil {
		return err
	}
	g := s.grantsOf(ctx)
	if g == nil || g.table(keyspace, table) {
		return nil
	}
	return engines.Errorf(sqlerr.ErrTableAccessDenied, "Access denied for user '%s'@'%%' to table '%s.%s'", ctx.Session.Client().User, keyspace, table)
}
