package server

import (
	sqle "github.com/dolthub/go-mysql-server"
	gmsserver "github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/vstreamd/vstreamd/server/sqlerr"
)

// connHandler wraps the protocol handler for what happens to a connection
// outside its statements: choosing the database at login.
type connHandler struct {
	mysql.Handler
	s *Server
}

// connOption installs connHandler (after the interceptors).
func (s *Server) connOption() gmsserver.Option {
	return func(e *sqle.Engine, sm *gmsserver.SessionManager, h mysql.Handler) (*sqle.Engine, *gmsserver.SessionManager, mysql.Handler) {
		return e, sm, &connHandler{Handler: h, s: s}
	}
}

// ComInitDB gives the errors of choosing a database (at login, or
// COM_INIT_DB) their MySQL code: 1044 for a keyspace the user may not use.
func (h *connHandler) ComInitDB(c *mysql.Conn, schemaName string) error {
	return sqlerr.Refine(h.Handler.ComInitDB(c, schemaName))
}
