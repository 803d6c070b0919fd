package pgoutput

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/internal/box"
)

// maxBatch is how many events a batch holds before it is sent inside a
// large transaction.
const maxBatch = 512

// Stream streams the changes after from through the hold's slot. A Stream
// started while another runs on the hold ends that one first.
func (h *hold) Stream(ctx context.Context, from engines.Position, tables []string, send func([]engines.Event) error) error {
	fromLSN, err := lsnOf(from)
	if err != nil {
		return err
	}
	if err := h.src.ensurePublished(ctx, tables); err != nil {
		return err
	}
	if err := h.ensure(ctx); err != nil {
		return err
	}
	h.mu.Lock()
	for h.running != nil {
		r := h.running
		h.mu.Unlock()
		r.cancel()
		<-r.done
		h.mu.Lock()
	}
	if h.closed || h.broken != nil {
		err := h.broken
		h.mu.Unlock()
		if err == nil {
			err = engines.Errorf(engines.ErrSourceUnavailable, "the stream's hold on %s is closed", h.src.cfg.Redacted)
		}
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &run{cancel: cancel, done: make(chan struct{})}
	h.running = r
	h.mu.Unlock()
	defer func() {
		cancel()
		h.mu.Lock()
		h.running = nil
		h.mu.Unlock()
		close(r.done)
	}()
	if h.src.cfg.Slot != "" {
		return h.streamPermanent(rctx, fromLSN, tables, send)
	}
	h.mu.Lock()
	start := h.start
	h.mu.Unlock()
	if fromLSN < start {
		held := start
		return engines.Errorf(engines.ErrPositionUnavailable,
			"PostgreSQL %s: position %s is older than what this session's replication slot holds (changes after %s): a session keeps the changes its own streams may resume from; to resume across sessions, configure a permanent slot (?slot=name in the source URL), or start afresh with pos > ''",
			h.src.cfg.Redacted, from, held)
	}
	return h.feedFrom(fromLSN, tables).stream(rctx, fromLSN, send)
}

// feedFrom returns the hold's feed, starting it (and with it the slot's
// one replication) at from on first use.
func (h *hold) feedFrom(from pglogrepl.LSN, tables []string) *feed {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.feed != nil {
		return h.feed
	}
	h.exportMu.Lock()
	h.exported = false // START_REPLICATION ends the export
	h.exportMu.Unlock()
	f := newFeed(from)
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan struct{})
	rs := &replication{src: h.src, hold: h, conn: h.conn, slot: h.slot, pos: from,
		send: func([]engines.Event) error { return nil }}
	rs.sink = func(es []entry) error { return f.append(ctx, es, func() { rs.status(false) }) }
	h.feed = f
	go func() {
		defer close(f.done)
		err := func() (err error) {
			defer engines.Recover("the replication of a session stream of "+h.src.cfg.Redacted, &err)
			return rs.run(ctx, tables)
		}()
		if ctx.Err() != nil {
			err = engines.Errorf(engines.ErrSourceUnavailable, "the stream's hold on %s is closed", h.src.cfg.Redacted)
		} else {
			var pe *engines.PositionError
			if errors.As(err, &pe) {
				err = pe.Err // the position is named below
			}
			h.src.log.Warn("replication of a session stream failed; its temporary slot is gone", "slot", h.slot, "after", position(rs.pos), "err", err)
			err = engines.AtPosition(position(rs.pos), engines.Errorf(engines.ErrPositionUnavailable,
				"PostgreSQL %s: the replication of this session's stream failed after position %s (%v), and its temporary slot is gone with its connection: the changes after it are no longer held (a permanent slot, ?slot=name, survives a broken connection); start afresh with pos > ''",
				h.src.cfg.Redacted, position(rs.pos), err))
		}
		h.mu.Lock()
		h.broken = err
		h.mu.Unlock()
		f.fail(err)
	}()
	return f
}

// replication is one START_REPLICATION … CopyDone exchange.
type replication struct {
	src  *Source
	hold *hold
	conn *pgconn.PgConn
	slot string
	pos  pglogrepl.LSN // the last transaction boundary passed
	send func([]engines.Event) error
	// sink, if set, takes the events instead of send, with their
	// transactions' commit positions (a hold's feed).
	sink func([]entry) error
	// started, if set, runs once the server accepted START_REPLICATION;
	// an error ends the replication.
	started func(ctx context.Context) error
	entries []entry
	final   pglogrepl.LSN // the commit LSN of the transaction being read
	broken  bool          // the connection cannot be used again

	received  pglogrepl.LSN // the furthest WAL position received
	flushed   pglogrepl.LSN // the flush position last reported
	tables    map[string]*table
	relations map[uint32]*relation
	batch     []engines.Event
	inTxn     bool
	txnTime   time.Time
	xid       uint32
	skipRows  int                      // rows of the first transaction already sent (a reconnect replays it)
	txnRows   int                      // rows of the current transaction seen
	txnSent   int                      // rows of the current transaction flushed
	toastRows map[string]rememberedRow // see remember
	keyBuf    []byte                   // rowKey's buffer
	text      box.Arena                // … their texts
	box       box.Slab                 // … and values
}

// run starts replication at r.pos and streams until ctx ends (then ends
// the COPY cleanly so the connection can stream again), send fails, or
// the source does.
func (r *replication) run(ctx context.Context, tables []string) error {
	r.tables = map[string]*table{}
	for _, name := range tables {
		t, err := readTable(ctx, r.src.db, r.src.cfg.Schema, name)
		if err != nil {
			return r.src.classify(err)
		}
		r.tables[name] = t
	}
	r.relations = map[uint32]*relation{}
	err := pglogrepl.StartReplication(ctx, r.conn, r.slot, r.pos, pglogrepl.StartReplicationOptions{
		Mode:       pglogrepl.LogicalReplication,
		PluginArgs: []string{"proto_version '1'", "publication_names '" + r.src.cfg.publication() + "'"},
	})
	if err != nil {
		if ctx.Err() != nil || !r.conn.IsClosed() {
			return r.src.classify(err)
		}
		r.broken = true
		return r.src.classify(err)
	}
	if r.started != nil {
		if err := r.started(ctx); err != nil {
			return r.stop(err)
		}
	}
	r.received, r.flushed = r.pos, r.hold.confirmedLSN()
	// A reply resets the walsender's wait for one to a ping it sent before
	// (on an earlier stream of this connection): it pings again as soon as
	// it has decoded past what we report, which is how an idle stream
	// learns that it reached a position.
	if err := r.status(false); err != nil {
		r.broken = true
		return r.src.classify(err)
	}
	if err := r.send(nil); err != nil {
		return r.stop(err)
	}
	return r.loop(ctx)
}

// rowsSent is how many rows of the transaction after r.pos the stream had
// sent when it ended: the next attempt replays that transaction from its
// start and drops them. An attempt that ended before the transaction's
// commit, even before its Begin, still owes the rows an earlier attempt
// sent (skipRows); a commit clears them.
func (r *replication) rowsSent() int {
	n := r.skipRows
	if r.inTxn {
		n += r.txnSent
	}
	return n
}

// idlePing is how long a stream waits for input before it asks the server
// how far it has decoded (a keepalive): that is how an idle stream learns
// it reached a position.
const idlePing = 50 * time.Millisecond

func (r *replication) loop(ctx context.Context) error {
	for {
		mctx, cancel := context.WithTimeout(ctx, idlePing)
		err := r.receive(mctx)
		cancel()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return r.stop(context.Cause(ctx))
		case pgconn.Timeout(err):
			if err := r.status(true); err != nil {
				r.broken = true
				return engines.AtPosition(position(r.pos), r.src.classify(err))
			}
		case errors.Is(err, errSend):
			return r.stop(errors.Unwrap(err))
		default:
			if r.conn.IsClosed() {
				r.broken = true
			}
			return engines.AtPosition(position(r.pos), r.src.classify(err))
		}
	}
}

// errSend wraps an error of the send callback.
var errSend = errors.New("send")

// receive handles messages until ctx's deadline.
func (r *replication) receive(ctx context.Context) error {
	for {
		msg, err := r.conn.ReceiveMessage(ctx)
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			if err := r.copyData(m.Data); err != nil {
				return err
			}
		case *pgproto3.ErrorResponse:
			return pgconn.ErrorResponseToPgError(m)
		case *pgproto3.CopyDone:
			return fmt.Errorf("the server ended replication")
		}
	}
}

func (r *replication) copyData(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		k, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return err
		}
		// Everything before the walsender's position was decoded and sent:
		// outside a transaction, that is a boundary the reader may reach.
		if !r.inTxn && k.ServerWALEnd > r.pos {
			r.pos = k.ServerWALEnd
			r.add(engines.Event{Kind: engines.Commit, Pos: position(r.pos)}, r.pos, true)
			if err := r.flush(); err != nil {
				return err
			}
		}
		r.received = max(r.received, k.ServerWALEnd)
		if k.ReplyRequested {
			// The stream reports unasked every idlePing, so the server asks
			// when it must hear that what it sent is flushed: at shutdown, a
			// WAL sender waits for that before it exits, and the server for
			// the WAL sender. A confirmation held back by the resume window
			// (confirm.go) would hold the shutdown up, and confirming what
			// clients may not have received would make their tokens
			// unresumable: the stream hangs up and reconnects instead.
			if r.hold.lagsConfirm() && r.hold.confirmTarget() < k.ServerWALEnd {
				r.broken = true
				return engines.Errorf(engines.ErrSourceUnavailable,
					"PostgreSQL %s asks the stream to confirm everything it sent (it is shutting down?): the stream reconnects instead, keeping the positions its clients may resume from",
					r.src.cfg.Redacted)
			}
			return r.status(false)
		}
		return nil
	case pglogrepl.XLogDataByteID:
		x, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return err
		}
		msg, err := parseMessage(x.WALData)
		if err != nil {
			return fmt.Errorf("decoding a pgoutput message at %s: %w", x.WALStart, err)
		}
		return r.message(msg)
	}
	return nil
}

// parseMessage is pglogrepl.Parse, for which a damaged message is an
// error: it reads some messages without checking their length and panics
// on one that is cut short (an empty one, found by FuzzPgStream).
func parseMessage(data []byte) (msg pglogrepl.Message, err error) {
	if len(data) == 0 {
		return nil, errors.New("an empty message")
	}
	if err := checkTuples(data); err != nil {
		return nil, fmt.Errorf("a damaged message of %d bytes (type %q): %w", len(data), data[0], err)
	}
	defer func() {
		if p := recover(); p != nil {
			msg, err = nil, fmt.Errorf("a damaged message of %d bytes (type %q): %v", len(data), data[0], p)
		}
	}()
	return pglogrepl.Parse(data)
}

// checkTuples checks the lengths of the column values of an insert,
// update or delete message against the message's size before pglogrepl
// allocates what they claim (a value of up to 4 GiB: a fatal out of
// memory that FuzzPgStream found). It reads as pglogrepl does: after the
// relation id, at most two row images, each after one byte (which image it
// is, not checked here). A message cut short is left to pglogrepl.Parse.
func checkTuples(data []byte) error {
	if len(data) < 5 || (data[0] != 'I' && data[0] != 'U' && data[0] != 'D') {
		return nil
	}
	p := 5 // type, relation id
	for image := 0; image < 2 && len(data)-p >= 3; image++ {
		p++ // which image follows
		cols := int(binary.BigEndian.Uint16(data[p:]))
		p += 2
		for i := 0; i < cols && p < len(data); i++ {
			kind := data[p]
			p++
			if kind != 't' && kind != 'b' {
				continue
			}
			if len(data)-p < 4 {
				return nil
			}
			n := uint64(binary.BigEndian.Uint32(data[p:]))
			p += 4
			if n > uint64(len(data)-p) {
				return fmt.Errorf("column %d of %d claims %d bytes, %d are left", i+1, cols, n, len(data)-p)
			}
			p += int(n)
		}
	}
	return nil
}

// add queues an event of the transaction that commits at commit.
func (r *replication) add(ev engines.Event, commit pglogrepl.LSN, idle bool) {
	r.batch = append(r.batch, ev)
	if r.sink != nil {
		r.entries = append(r.entries, entry{ev: ev, commit: commit, idle: idle})
	}
}

// flush sends the batch.
func (r *replication) flush() error {
	if len(r.batch) == 0 {
		return nil
	}
	var err error
	for _, e := range r.entries {
		if e.ev.Kind == engines.RowChange {
			r.txnSent++
		}
	}
	if r.sink != nil {
		err = r.sink(r.entries)
		r.entries = r.entries[:0]
	} else {
		err = r.send(r.batch)
	}
	r.batch = r.batch[:0]
	if err != nil {
		return fmt.Errorf("%w: %w", errSend, err)
	}
	return nil
}

// status reports the positions: written = received, flushed = what the
// reader confirmed (the slot keeps everything after it).
func (r *replication) status(reply bool) error {
	flush := min(r.hold.confirmTarget(), r.received)
	if flush < r.flushed {
		flush = r.flushed
	}
	err := pglogrepl.SendStandbyStatusUpdate(context.Background(), r.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: max(r.received, flush), WALFlushPosition: flush, WALApplyPosition: flush,
		ReplyRequested: reply,
	})
	if err == nil && flush > r.flushed {
		r.flushed = flush
		r.hold.setConfirmed(flush)
	}
	return err
}

// stop ends the COPY so the connection can stream again; a connection that
// does not answer in time is closed.
func (r *replication) stop(cause error) error {
	r.status(false)
	done := make(chan error, 1)
	go func() {
		_, err := pglogrepl.SendStandbyCopyDone(context.Background(), r.conn)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			r.broken = true
		}
	case <-time.After(5 * time.Second):
		r.broken = true
		r.conn.Close(context.Background())
		<-done
	}
	return cause
}

func (h *hold) confirmedLSN() pglogrepl.LSN {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.confirmed
}

func (h *hold) setConfirmed(l pglogrepl.LSN) {
	h.mu.Lock()
	if l > h.confirmed {
		h.confirmed = l
	}
	h.mu.Unlock()
}
