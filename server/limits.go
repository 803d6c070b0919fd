package server

import (
	"sync"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/server/sqlerr"
	"github.com/vstreamd/vstreamd/vstream"
)

// streamSlots counts each user's running streams (max_streams_per_user).
type streamSlots struct {
	mu     sync.Mutex
	byUser map[string]int
}

// take reserves a stream for the session's user; release gives it back.
func (s *Server) takeStream(ctx *sql.Context) (release func(), err error) {
	max := s.cfg.MaxStreamsPerUser
	if max <= 0 {
		return func() {}, nil
	}
	user := ctx.Session.Client().User
	sl := &s.slots
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.byUser == nil {
		sl.byUser = make(map[string]int)
	}
	if sl.byUser[user] >= max {
		return nil, engines.Errorf(sqlerr.ErrUserLimit,
			"User '%s' has exceeded the 'max_streams_per_user' resource (current value: %d): end one of its streams (KILL QUERY) or raise max_streams_per_user", user, max)
	}
	sl.byUser[user]++
	var once sync.Once
	return func() {
		once.Do(func() {
			sl.mu.Lock()
			defer sl.mu.Unlock()
			if sl.byUser[user]--; sl.byUser[user] <= 0 {
				delete(sl.byUser, user)
			}
		})
	}, nil
}

// heldStream is a stream that holds one of its user's stream slots until
// it closes.
type heldStream struct {
	*vstream.Stream
	release func()
}

func (h *heldStream) Close() error {
	defer h.release()
	return h.Stream.Close()
}

// checkStatementSize refuses a statement larger than max_statement_bytes
// before it is parsed.
func (s *Server) checkStatementSize(query string) error {
	if max := s.cfg.MaxStatementBytes; max > 0 && len(query) > max {
		return engines.Errorf(sqlerr.ErrStatementTooLarge,
			"Got a packet bigger than 'max_allowed_packet' bytes: the statement has %d bytes, max_statement_bytes is %d", len(query), max)
	}
	return nil
}
