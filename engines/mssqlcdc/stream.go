package mssqlcdc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// Polling: a poll that found changes is followed by another after
// pollBusy; an idle stream waits twice as long each time, up to the URL's
// poll parameter. A lost connection is retried from reconnectFirst,
// backing off to reconnectMax, for the URL's reconnect window.
const (
	pollBusy       = 2 * time.Millisecond
	pollIdleFirst  = 5 * time.Millisecond
	reconnectFirst = 100 * time.Millisecond
	reconnectMax   = 2 * time.Second
	batchEvents    = 512
)

// sendError marks an error returned by the caller's send: it ends the
// stream as is.
type sendError struct{ err error }

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// Stream implements engines.Source: it polls the tables' change functions
// for the transactions committed after from.
//
// Each poll reads, in this order, where the capture job's last finished log
// scan ended (sys.dm_cdc_log_scan_sessions), the highest LSN the change
// tables are complete to (sys.fn_cdc_get_max_lsn()), the end of the log and
// each capture instance's low end (sys.fn_cdc_get_min_lsn). It then reads
// cdc.fn_cdc_get_all_changes_<ci>(next(pos), max, N'all update old')
// ordered by __$start_lsn, __$seqval, __$operation: rows sharing a
// __$start_lsn (the commit LSN) are one transaction, sent whole after a
// Commit at the position right before it and followed by a Commit at its
// commit LSN. Finally the position moves to the greater of the max LSN and
// the scan's end, with a Commit of its own: the capture job has processed
// the log that far, so every change up to there is in the change tables (a
// scan's end read before the max LSN is covered by it). That is how a
// stream reaches positions that are not commits of the streamed tables:
// the end of the log of 'current', and snapshots' positions, which it
// passes with a Commit exactly there (see marks.go).
func (s *Source) Stream(ctx context.Context, from engines.Position, tables []string, send func([]engines.Event) error) error {
	if err := s.preflight(ctx); err != nil {
		return err
	}
	start, err := positionLSN(from)
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		return engines.Errorf(engines.ErrUnsupported, "a stream of no table")
	}
	p := &poller{s: s, pos: start, sent: start, send: send, watchSince: time.Now()}
	for _, name := range tables {
		t, err := s.readTable(ctx, name)
		if err != nil {
			return s.classify(err)
		}
		p.tables = append(p.tables, t)
	}
	return p.run(ctx)
}

// poller is one Stream's state.
type poller struct {
	s           *Source
	tables      []*table
	send        func([]engines.Event) error
	established bool

	pos       lsn // the last transaction boundary put in a batch
	sent      lsn // the last boundary sent
	sentInTxn int // row events of the transaction after sent already sent
	skip      int // row events to drop after a reconnect (sent before it)
	batch     []engines.Event
	txnRows   int // row events of the open transaction in the batch or sent

	// The transaction being read (see apply).
	open     bool
	openLSN  lsn
	openTime time.Time
	before   *change // an update's before image, waiting for its after image

	// marks are the snapshot positions ahead of the stream (see marks.go).
	marks []lsn

	// Capture-job watch: reached is the highest LSN the capture job has
	// been seen to have processed, since watchSince.
	reached    lsn
	watchSince time.Time
}

func (p *poller) run(ctx context.Context) error {
	wait := pollIdleFirst
	var downSince time.Time
	down := reconnectFirst
	for {
		busy, err := p.poll(ctx)
		if err != nil {
			var se *sendError
			switch {
			case errors.As(err, &se):
				return se.err
			case ctx.Err() != nil:
				return context.Cause(ctx)
			}
			err = p.s.classify(err)
			if !p.established {
				return err
			}
			if !errors.Is(err, engines.ErrSourceUnavailable) {
				return engines.AtPosition(p.sent.position(), err)
			}
			if downSince.IsZero() {
				downSince = time.Now()
			}
			if window := p.s.cfg.Reconnect; time.Since(downSince) >= window {
				if window > 0 {
					err = fmt.Errorf("%w (retrying for %s did not help)", err, window)
				}
				return engines.AtPosition(p.sent.position(), err)
			}
			p.s.log.Warn("polling the change tables failed; retrying", "pos", p.sent.String(), "err", err)
			p.rewind()
			if err := sleep(ctx, down); err != nil {
				return err
			}
			down = min(2*down, reconnectMax)
			continue
		}
		downSince, down = time.Time{}, reconnectFirst
		if busy {
			wait = pollBusy
		} else {
			wait = min(max(2*wait, pollIdleFirst), p.s.cfg.PollMax)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// rewind drops what was not sent and arranges for the rows of the open
// transaction that were sent to be dropped when they are read again.
func (p *poller) rewind() {
	p.batch = p.batch[:0]
	p.pos = p.sent
	p.skip = p.sentInTxn
	p.txnRows = 0
	p.open, p.before = false, nil
}

// progress is what one poll learns of the capture job.
type progress struct {
	scanned lsn   // end of the last finished log scan session
	max     lsn   // sys.fn_cdc_get_max_lsn()
	end     lsn   // end of the log
	mins    []lsn // each table's capture instance's low end (zero: not established)
}

func (p *poller) readProgress(ctx context.Context) (progress, error) {
	var pr progress
	var v any
	err := p.s.db.QueryRowContext(ctx, qScanned).Scan(&v)
	if err != nil && !isNoRows(err) {
		return pr, err
	}
	if pr.scanned, err = lsnValue(v); err != nil {
		return pr, fmt.Errorf("sys.dm_cdc_log_scan_sessions end_lsn: %w", err)
	}
	q := qProgress
	args := make([]any, len(p.tables))
	for i, t := range p.tables {
		q += ", sys.fn_cdc_get_min_lsn(@p" + strconv.Itoa(i+1) + ")"
		args[i] = t.ci.name
	}
	q += " FROM sys.dm_db_log_stats(DB_ID())"
	vals := make([]any, 2+len(p.tables))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := p.s.db.QueryRowContext(ctx, q, args...).Scan(ptrs...); err != nil {
		return pr, err
	}
	if pr.max, err = lsnValue(vals[0]); err != nil {
		return pr, fmt.Errorf("sys.fn_cdc_get_max_lsn(): %w", err)
	}
	if pr.end, err = lsnValue(vals[1]); err != nil {
		return pr, fmt.Errorf("sys.dm_db_log_stats log_end_lsn: %w", err)
	}
	for i := range p.tables {
		m, err := lsnValue(vals[2+i])
		if err != nil {
			return pr, fmt.Errorf("sys.fn_cdc_get_min_lsn: %w", err)
		}
		pr.mins = append(pr.mins, m)
	}
	return pr, nil
}

// poll reads the changes the capture job has added since the last poll and
// sends them; busy says there were some.
func (p *poller) poll(ctx context.Context) (bool, error) {
	p.s.marks.mu.Lock()
	pr, err := p.readProgress(ctx)
	p.marks = p.s.marks.after(p.pos)
	p.s.marks.mu.Unlock()
	if err != nil {
		return false, err
	}
	ready := true
	for i, t := range p.tables {
		switch m := pr.mins[i]; {
		case m.isZero():
			ready = false // created, not yet processed by the capture job
		case p.pos.next().compare(m) < 0:
			hint := ""
			for _, o := range t.others {
				if !o.startLSN.isZero() && o.startLSN.compare(p.pos.next()) <= 0 {
					hint = fmt.Sprintf("; its other capture instance %s still holds them: name it in the source URL (capture_instance=%s) to continue", o.name, o.name)
				}
			}
			return false, engines.Errorf(engines.ErrPositionUnavailable, "SQL Server %s: the changes of %s after position %s are gone: capture instance %s holds changes from %s on (the cleanup job removes older ones, see sys.sp_cdc_change_job @retention; or the capture instance was created after that position)%s: start afresh with pos > ''",
				p.s.cfg.Redacted, t.qualified(), p.pos, t.ci.name, m, hint)
		}
	}
	if !p.established {
		p.established = true
		if err := p.send(nil); err != nil {
			return false, &sendError{err}
		}
	}
	busy := false
	if ready && pr.max.compare(p.pos) > 0 {
		n, err := p.window(ctx, p.pos.next(), pr.max)
		if err != nil {
			return false, err
		}
		busy = n > 0
	}
	if reached := maxLSN(pr.max, pr.scanned); ready && reached.compare(p.pos) > 0 {
		p.passMarks(reached.next())
		if reached.compare(p.pos) > 0 {
			p.commit(reached, time.Time{})
		}
	}
	if err := p.flush(); err != nil {
		return false, err
	}
	return busy, p.watch(maxLSN(pr.max, pr.scanned), pr.end)
}

// watch fails the stream when the capture job has made no progress for the
// agent timeout while the log holds more than it has processed: SQL Server
// Agent (which runs the capture job) is down, or the job is stopped. Empty
// change functions are then no proof that nothing changed.
func (p *poller) watch(reached, end lsn) error {
	now := time.Now()
	if reached.compare(p.reached) > 0 || end.compare(reached) <= 0 {
		p.reached, p.watchSince = maxLSN(reached, p.reached), now
		return nil
	}
	if idle := now.Sub(p.watchSince); idle >= p.s.cfg.AgentTimeout {
		return engines.Errorf(engines.ErrMisconfigured, "SQL Server %s: the CDC capture job has made no progress for %s while the log moved on (change tables complete to %s, log at %s): SQL Server Agent, which runs the capture job, is not running, or the job is stopped: start SQL Server Agent (and set it to start automatically), or EXEC sys.sp_cdc_start_job @job_type = N'capture' in database %s (the wait is the source URL's agent_timeout)",
			p.s.cfg.Redacted, idle.Round(time.Second), reached, end, quoteName(p.s.cfg.Database))
	}
	return nil
}

// commit ends the open transaction (or marks a position the capture job
// has passed) in the batch.
func (p *poller) commit(at lsn, when time.Time) {
	p.batch = append(p.batch, engines.Event{Kind: engines.Commit, Pos: at.position(), Time: when})
	p.pos, p.txnRows = at, 0
}

// passMarks sends a Commit at each marked position before the LSN upTo
// (which the stream is about to pass), between two transactions.
func (p *poller) passMarks(upTo lsn) {
	for len(p.marks) > 0 && p.marks[0].compare(upTo) < 0 {
		if p.marks[0].compare(p.pos) > 0 {
			p.commit(p.marks[0], time.Time{})
		}
		p.marks = p.marks[1:]
	}
}

// add puts one row event of the open transaction in the batch, unless it
// was sent before a reconnect.
func (p *poller) add(ev engines.Event) error {
	p.txnRows++
	if p.skip > 0 {
		p.skip--
		return nil
	}
	p.batch = append(p.batch, ev)
	if len(p.batch) >= batchEvents {
		return p.flush()
	}
	return nil
}

// flush sends the batch.
func (p *poller) flush() error {
	if len(p.batch) == 0 {
		return nil
	}
	if err := p.send(p.batch); err != nil {
		return &sendError{err}
	}
	p.batch = p.batch[:0]
	p.sent, p.sentInTxn = p.pos, p.txnRows
	return nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
