package pgoutput

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/vstreamd/vstreamd/engines"
)

// streamPermanent streams from the configured slot, on a replication
// connection of its own; a broken connection is re-established (the slot
// survives it) for up to the Reconnect window.
func (h *hold) streamPermanent(ctx context.Context, from pglogrepl.LSN, tables []string, send func([]engines.Event) error) error {
	s := h.src
	if err := s.ensureSlot(ctx); err != nil {
		return err
	}
	held, retained, err := s.slotState(ctx)
	if err != nil {
		return err
	}
	if from < held {
		return engines.Errorf(engines.ErrPositionUnavailable,
			"PostgreSQL %s: position %s is older than what slot %s still holds (its confirmed_flush_lsn is %s): those changes are gone; start afresh with pos > ''",
			s.cfg.Redacted, position(from), s.cfg.Slot, position(held))
	}
	s.log.Info("streaming from the configured slot", "slot", s.cfg.Slot, "from", position(from), "retained_wal_bytes", retained)
	h.setConfirmed(held)
	// The reader resumes from here: it needs nothing before (see confirm.go).
	h.raiseConfirm(from)
	f := newFeed(from)
	rctx, cancel := context.WithCancel(ctx)
	f.cancel, f.done = cancel, make(chan struct{})
	h.mu.Lock()
	h.feed = f // copy snapshots taken meanwhile mark this stream
	for _, m := range h.marks {
		if m > from {
			f.mark(m) // and those taken before it started
		}
	}
	h.marks = nil
	h.mu.Unlock()
	go func() {
		defer close(f.done)
		var err error
		defer func() { f.fail(err) }()
		defer engines.Recover("the replication of slot "+s.cfg.Slot, &err)
		err = h.readPermanent(rctx, f, from, tables)
	}()
	err = f.stream(ctx, from, send)
	cancel()
	<-f.done
	h.mu.Lock()
	if h.feed == f {
		h.feed = nil
	}
	h.mu.Unlock()
	return err
}

// readPermanent reads the configured slot into f from from, each attempt
// on a new replication connection (a connection streams once); a broken
// one is replaced for up to the Reconnect window, replaying from the last
// commit and dropping the rows of the interrupted transaction f already
// has.
func (h *hold) readPermanent(ctx context.Context, f *feed, from pglogrepl.LSN, tables []string) error {
	s := h.src
	pos, sentRows := from, 0
	var downSince time.Time
	for {
		conn, err := s.dialReplication(ctx)
		if err == nil {
			rs := &replication{src: s, hold: h, conn: conn, slot: s.cfg.Slot, pos: pos, skipRows: sentRows,
				send:    func([]engines.Event) error { return nil },
				started: func(ctx context.Context) error { return s.checkSlot(ctx, pos) }}
			rs.sink = func(es []entry) error { return f.append(ctx, es, func() { rs.status(false) }) }
			err = rs.run(ctx, tables)
			conn.Close(context.Background())
			if rs.pos > pos {
				downSince = time.Time{}
			}
			pos = rs.pos
			sentRows = rs.rowsSent()
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
		}
		if !errors.Is(err, engines.ErrSourceUnavailable) {
			return err
		}
		if downSince.IsZero() {
			downSince = time.Now()
			s.log.Warn("replication connection lost; reconnecting", "slot", s.cfg.Slot, "after", position(pos), "err", err)
		}
		if time.Since(downSince) > s.cfg.Reconnect {
			return engines.AtPosition(position(pos), err)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// checkSlot checks, once this stream has the configured slot (no other
// stream can move it any more), that the slot still holds the changes
// after pos. PostgreSQL starts a slot's replication at its
// confirmed_flush_lsn when asked for an earlier position, silently: the
// changes in between would be lost. The slot may have moved since the
// stream checked it before starting (slotState): another stream of the
// slot ending, or an administrator.
func (s *Source) checkSlot(ctx context.Context, pos pglogrepl.LSN) error {
	held, _, err := s.slotState(ctx)
	if err != nil {
		return err
	}
	if held > pos {
		return engines.AtPosition(position(pos), engines.Errorf(engines.ErrPositionUnavailable,
			"PostgreSQL %s: slot %s was confirmed up to %s, past position %s where this stream continues (another stream of the slot, or an administrator, moved it): the changes in between are gone; start afresh with pos > ''",
			s.cfg.Redacted, s.cfg.Slot, position(held), position(pos)))
	}
	return nil
}

// ensureSlot creates the configured slot if it does not exist.
func (s *Source) ensureSlot(ctx context.Context) error {
	var exists bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`, s.cfg.Slot).Scan(&exists); err != nil {
		return s.classify(err)
	}
	if exists {
		return nil
	}
	conn, err := s.dialReplication(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	lsn, _, err := createSlot(ctx, conn, s.cfg.Slot, false, false)
	if err != nil && sqlState(err) != "42710" {
		return s.classify(err)
	}
	s.log.Info("created the configured replication slot", "slot", s.cfg.Slot, "consistent_point", position(lsn))
	return nil
}

// slotState reads the configured slot's confirmed position and the WAL it
// retains, in bytes.
func (s *Source) slotState(ctx context.Context) (pglogrepl.LSN, int64, error) {
	var confirmed sql.NullString
	var retained sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT confirmed_flush_lsn::text, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint
		FROM pg_replication_slots WHERE slot_name = $1`, s.cfg.Slot).Scan(&confirmed, &retained)
	if err != nil {
		return 0, 0, s.classify(err)
	}
	l, err := pglogrepl.ParseLSN(confirmed.String)
	if err != nil {
		return 0, 0, err
	}
	return l, retained.Int64, nil
}

// ReconnectWindow is how long a stream on a configured slot re-establishes
// a broken connection (vstream retries copy chunks for as long).
func (s *Source) ReconnectWindow() time.Duration {
	if s.cfg.Slot == "" {
		return 0
	}
	return s.cfg.Reconnect
}
