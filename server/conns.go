package server

import (
	"net"
	"sync"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	gmsserver "github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/server/sqlerr"
)

// connHandler wraps the protocol handler for what happens to a connection
// outside its statements: login (TLS required, session limit, the end of
// the handshake deadline) and choosing the database.
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

// ConnectionAuthenticated admits a client that logged in: over TLS if
// require_secure_transport is on (go-mysql-server's own check only writes
// an error and carries on), and as one of at most max_sessions.
func (h *connHandler) ConnectionAuthenticated(c *mysql.Conn) error {
	return h.s.redact.error(h.authenticated(c))
}

func (h *connHandler) authenticated(c *mysql.Conn) error {
	s := h.s
	if s.cfg.RequireSecureTransport && !c.TLSEnabled() {
		return sqlerr.Of(engines.Errorf(sqlerr.ErrInsecureTransport,
			"Connections using insecure transport are prohibited while --require_secure_transport=ON: connect with TLS (mariadb --ssl, go-sql-driver tls=true)"))
	}
	if err := s.sessions.admit(c.ConnectionID, s.cfg.MaxSessions); err != nil {
		return sqlerr.Of(err)
	}
	if err := h.Handler.ConnectionAuthenticated(c); err != nil {
		s.sessions.leave(c.ConnectionID)
		return err
	}
	// Logged in: the handshake deadline no longer applies.
	c.Conn.SetDeadline(time.Time{})
	return nil
}

// ConnectionClosed frees the connection's session slot.
func (h *connHandler) ConnectionClosed(c *mysql.Conn) {
	h.Handler.ConnectionClosed(c)
	h.s.sessions.leave(c.ConnectionID)
}

// ComInitDB gives the errors of choosing a database (at login, or
// COM_INIT_DB) their MySQL code: 1044 for a keyspace the user may not use.
func (h *connHandler) ComInitDB(c *mysql.Conn, schemaName string) error {
	return h.s.redact.error(sqlerr.Refine(h.Handler.ComInitDB(c, schemaName)))
}

// sessionCount counts the logged-in connections.
type sessionCount struct {
	mu  sync.Mutex
	ids map[uint32]bool
}

func (sc *sessionCount) admit(id uint32, max int) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.ids == nil {
		sc.ids = make(map[uint32]bool)
	}
	if max > 0 && len(sc.ids) >= max {
		return engines.Errorf(sqlerr.ErrTooManySessions, "Too many connections: vstreamd serves %d sessions at most (max_sessions)", max)
	}
	sc.ids[id] = true
	return nil
}

func (sc *sessionCount) leave(id uint32) {
	sc.mu.Lock()
	delete(sc.ids, id)
	sc.mu.Unlock()
}

// count is the number of sessions.
func (sc *sessionCount) count() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.ids)
}

// handshakeListener gives every accepted connection a deadline for its
// handshake (connHandler lifts it once the client is logged in), so that a
// client that connects and says nothing does not hold a connection for
// ever.
type handshakeListener struct {
	net.Listener
	timeout time.Duration
}

func (l handshakeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		c.SetDeadline(time.Now().Add(l.timeout))
	}
	return c, err
}
