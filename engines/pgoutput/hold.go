package pgoutput

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vstreamd/vstreamd/engines"
)

// hold is one session stream's hold on the source's WAL: a temporary slot
// on a replication connection of its own, created on first use (or, with
// a configured slot, that permanent slot).
type hold struct {
	src *Source

	mu       sync.Mutex
	conn     *pgconn.PgConn // the temporary slot's connection; nil before first use
	slot     string
	start    pglogrepl.LSN // the slot's consistent point
	broken   error         // the connection failed: the temporary slot is gone
	running  *run          // the stream reading the slot
	feed     *feed         // the slot's replication, once started
	closed   bool
	snapName string  // the exported snapshot, importable while exported
	exp      *export // the export copy chunks share, once snapName is gone (see export.go)
	// marks are the positions of snapshots taken on a configured slot while
	// no feed ran: the next feed marks them (see feed.pause).
	marks []pglogrepl.LSN

	// exportMu guards the exported snapshot: imports hold it for reading,
	// the first START_REPLICATION (which ends the export) for writing.
	exportMu sync.RWMutex
	exported bool

	confirm   atomic.Uint64 // the position the server may be told the reader is done with
	confirmed pglogrepl.LSN // what the server was told (under mu)
	lag       lagged        // a permanent slot's positions handed out, not yet confirmed (see confirm.go)
}

// run is a Stream call in progress.
type run struct {
	cancel context.CancelFunc
	done   chan struct{}
}

var _ engines.Hold = (*hold)(nil)

// ensure creates the temporary slot on first use, exporting a snapshot.
func (h *hold) ensure(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return engines.Errorf(engines.ErrSourceUnavailable, "the stream's hold on %s is closed", h.src.cfg.Redacted)
	case h.broken != nil:
		return h.broken
	case h.conn != nil || h.src.cfg.Slot != "":
		return nil
	}
	conn, err := h.src.dialReplication(ctx)
	if err != nil {
		return err
	}
	name := slotName()
	lsn, snap, err := createSlot(ctx, conn, name, true, true)
	if err != nil {
		conn.Close(context.Background())
		return h.src.classify(err)
	}
	h.conn, h.slot, h.start, h.snapName, h.confirmed = conn, name, lsn, snap, lsn
	h.exportMu.Lock()
	h.exported = true
	h.exportMu.Unlock()
	h.src.log.Debug("temporary replication slot created", "slot", name, "consistent_point", lsn.String())
	return nil
}

// Current is the server's position, read once the slot exists: the slot
// holds everything after it.
func (h *hold) Current(ctx context.Context) (engines.Position, error) {
	if err := h.ensure(ctx); err != nil {
		return "", err
	}
	cur, err := h.src.insertPosition(ctx)
	if err != nil {
		return "", err
	}
	return position(cur), nil
}

// Snapshot reads the hold's exported snapshot while it lasts (the first
// copy chunks: exactly at the slot's consistent point), then snapshots
// exported by short-lived slots, each shared by the chunks of the next
// SnapshotReuse. Positions never go back: a later export replaces an older
// one, and the stream stops exactly at each export's position (a mark), so
// the chunks that share it are never older than the stream.
func (h *hold) Snapshot(ctx context.Context, table string) (engines.Snapshot, error) {
	if err := h.src.ensurePublished(ctx, []string{table}); err != nil {
		return nil, err
	}
	if err := h.ensure(ctx); err != nil {
		return nil, err
	}
	h.exportMu.RLock()
	if h.exported {
		sn, err := h.src.importSnapshot(ctx, h.snapName, h.start, table)
		h.exportMu.RUnlock()
		if err == nil {
			return sn, nil
		}
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
	} else {
		h.exportMu.RUnlock()
	}
	h.mu.Lock()
	f, e := h.feed, h.exp
	h.mu.Unlock()
	if e != nil && e.fresh(h.src.cfg.SnapshotReuse) {
		sn, err := e.snapshot(ctx, h.src, table)
		if err == nil {
			return sn, nil
		}
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	if f != nil {
		// The stream must stop exactly at the new snapshot's position: it
		// waits while the position is taken, then marks it.
		f.pause()
	}
	e, err := h.src.newExport(ctx)
	if f != nil {
		if err != nil {
			f.resume(0)
		} else {
			f.resume(e.pos)
		}
	}
	if err != nil {
		return nil, err
	}
	if f == nil && h.src.cfg.Slot != "" {
		// A stream of the configured slot that starts behind this snapshot
		// must stop exactly at its position: the next feed marks it (a
		// stream resumed in the copy phase reads its chunk before it starts
		// streaming).
		h.mu.Lock()
		if h.feed != nil {
			h.feed.mark(e.pos)
		} else {
			h.marks = append(h.marks, e.pos)
		}
		h.mu.Unlock()
	}
	if !h.keep(e) {
		defer e.close()
	}
	sn, err := e.snapshot(ctx, h.src, table)
	if err != nil {
		return nil, err
	}
	return sn, nil
}

// keep makes e the export the next chunks share, for SnapshotReuse, and
// releases it then. It reports false, keeping nothing, when sharing is off
// or the hold closed.
func (h *hold) keep(e *export) bool {
	reuse := h.src.cfg.SnapshotReuse
	h.mu.Lock()
	defer h.mu.Unlock()
	if reuse == 0 || h.closed {
		return false
	}
	if h.exp == nil || h.exp.pos <= e.pos {
		h.exp = e
	}
	time.AfterFunc(reuse, func() {
		h.mu.Lock()
		if h.exp == e {
			h.exp = nil
		}
		h.mu.Unlock()
		e.close()
	})
	return true
}

// Confirm records that the reader is done with the changes up to pos. On
// a permanent slot the server is told only once the resume window has
// passed (see confirm.go).
func (h *hold) Confirm(pos engines.Position) {
	l, err := lsnOf(pos)
	if err != nil {
		return
	}
	if h.lagsConfirm() {
		h.lag.handOut(l, time.Now())
	} else {
		h.raiseConfirm(l)
	}
	h.mu.Lock()
	f := h.feed
	h.mu.Unlock()
	if f != nil {
		f.trim(l)
	}
}

// Close ends the running stream and drops the temporary slot (closing its
// connection drops it).
func (h *hold) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	r := h.running
	h.mu.Unlock()
	if r != nil {
		r.cancel()
		<-r.done
	}
	h.mu.Lock()
	conn, f, e := h.conn, h.feed, h.exp
	h.conn, h.exp = nil, nil
	h.mu.Unlock()
	if e != nil {
		e.close()
	}
	if f != nil {
		f.cancel()
		<-f.done
	}
	if conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn.Close(ctx)
		cancel()
	}
	h.src.forget(h)
	return nil
}

// insertPosition is the end of the last WAL record inserted: everything
// committed so far is before it. When that record ends a WAL page, the
// server reports the position after the next page's header, where no
// record ends until more WAL is written; the header is taken off, so the
// position is one a stream reaches.
func (s *Source) insertPosition(ctx context.Context) (pglogrepl.LSN, error) {
	var lsn string
	var block, segment int64
	err := s.db.QueryRowContext(ctx, `SELECT pg_current_wal_insert_lsn()::text, current_setting('wal_block_size')::int8,
		(SELECT setting::int8 FROM pg_settings WHERE name = 'wal_segment_size')`).Scan(&lsn, &block, &segment)
	if err != nil {
		return 0, s.classify(err)
	}
	l, err := pglogrepl.ParseLSN(lsn)
	if err != nil {
		return 0, err
	}
	return pageStart(l, block, segment), nil
}

// Sizes of WAL page headers: the first page of a segment has the long one.
const (
	shortPageHeader = 24
	longPageHeader  = 40
)

// pageStart moves a position just past a page header back to the page's
// start (the end of the record before it).
func pageStart(l pglogrepl.LSN, block, segment int64) pglogrepl.LSN {
	switch {
	case segment > 0 && int64(l)%segment == longPageHeader:
		return l - longPageHeader
	case block > 0 && int64(l)%block == shortPageHeader && int64(l)%segment != shortPageHeader:
		return l - shortPageHeader
	}
	return l
}
