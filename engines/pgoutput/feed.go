package pgoutput

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/vstreamd/vstreamd/engines"
)

// A temporary slot streams once: PostgreSQL ends a second
// START_REPLICATION on the same connection at once, and the slot cannot be
// read from another. So a hold's slot is read by one feed for the hold's
// whole life, and the feed keeps every event after the position its
// reader confirmed: a later statement of the session resumes from there.
type feed struct {
	mu     sync.Mutex
	wake   chan struct{} // closed and replaced when entries arrive or the feed fails
	log    []entry       // events after the confirmed position
	first  int64         // sequence number of log[0]
	base   pglogrepl.LSN // the position before log[0]: streams start at or after it
	cursor int64         // the sequence number the current (or last) stream read up to
	err    error         // the reader failed: the slot is gone
	// paused holds the stream back while a snapshot is taken, marks are
	// the positions of those snapshots (see pause).
	paused int
	marks  []pglogrepl.LSN
	cancel context.CancelFunc
	done   chan struct{}
}

// entry is one event with the commit LSN (start of the commit record) of
// its transaction: a stream from a position skips the transactions that
// committed before it, as START_REPLICATION does.
type entry struct {
	ev     engines.Event
	commit pglogrepl.LSN
	idle   bool // a commit that only says the walsender decoded up to Pos
}

// maxUnread is how many entries the feed reads ahead of the stream before
// it stops reading (the walsender then waits: backpressure).
const maxUnread = 4 * maxBatch

func newFeed(base pglogrepl.LSN) *feed { return &feed{wake: make(chan struct{}), base: base} }

// append adds a batch (the reader), merging runs of row-less commits, and
// waits while the stream is too far behind.
func (f *feed) append(ctx context.Context, evs []entry, keepalive func()) error {
	f.mu.Lock()
	for _, e := range evs {
		if n := len(f.log); n > 1 && e.ev.Kind == engines.Commit && f.log[n-1].ev.Kind == engines.Commit &&
			f.log[n-2].ev.Kind == engines.Commit && f.first+int64(n-1) >= f.cursor {
			f.log[n-1] = e // an unread row-less commit is passed by the next one
			continue
		}
		f.log = append(f.log, e)
	}
	close(f.wake)
	f.wake = make(chan struct{})
	for f.first+int64(len(f.log))-f.cursor > maxUnread {
		w := f.wake
		f.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
			keepalive() // the walsender wants replies even while we do not read
		}
		f.mu.Lock()
	}
	f.mu.Unlock()
	return nil
}

// fail records the reader's end.
func (f *feed) fail(err error) {
	f.mu.Lock()
	f.err = err
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
}

// maxRetained is how many events a feed keeps for resumes from older
// tokens of the session before it lets go of the confirmed ones.
const maxRetained = 100000

// trim drops the entries up to the last commit at or before pos, once the
// feed holds more than maxRetained: a session may resume from any token it
// was shown while they are kept.
func (f *feed) trim(pos pglogrepl.LSN) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.log) <= maxRetained {
		return
	}
	cut := -1
	for i, e := range f.log {
		if f.first+int64(i) >= f.cursor {
			break // never drop what a stream has not read
		}
		if e.ev.Kind == engines.Commit {
			l, err := lsnOf(e.ev.Pos)
			if err != nil || l > pos {
				break
			}
			cut = i
		}
	}
	if cut >= 0 {
		f.base, _ = lsnOf(f.log[cut].ev.Pos)
		n := copy(f.log, f.log[cut+1:])
		clear(f.log[n:])
		f.log = f.log[:n]
		f.first += int64(cut + 1)
	}
}

// pause holds the stream back while a copy snapshot is taken: everything
// it sent before committed before the snapshot's slot was created, so
// before the snapshot's position. resume registers that position: the
// stream sends it as a boundary before the first transaction after it, so
// a reader waiting for the snapshot's position stops exactly there.
func (f *feed) pause() {
	f.mu.Lock()
	f.paused++
	f.mu.Unlock()
}

func (f *feed) resume(mark pglogrepl.LSN) {
	f.mu.Lock()
	f.paused--
	if mark != 0 {
		f.addMark(mark)
	}
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
}

// mark registers the position of a snapshot taken before the feed's
// stream reached it (see resume).
func (f *feed) mark(pos pglogrepl.LSN) {
	f.mu.Lock()
	f.addMark(pos)
	f.mu.Unlock()
}

func (f *feed) addMark(pos pglogrepl.LSN) {
	i := 0
	for i < len(f.marks) && f.marks[i] < pos {
		i++
	}
	f.marks = slices.Insert(f.marks, i, pos)
}

// stream sends the entries after from, then new ones as they come, until
// ctx ends, send fails or the reader does.
func (f *feed) stream(ctx context.Context, from pglogrepl.LSN, send func([]engines.Event) error) error {
	f.mu.Lock()
	base := f.base
	f.mu.Unlock()
	if from < base {
		return engines.Errorf(engines.ErrPositionUnavailable,
			"position %s is older than the changes this session's stream still keeps (after %s): to resume from older tokens across long streams, configure a permanent slot (?slot=name in the source URL), or start afresh with pos > ''",
			position(from), position(base))
	}
	if err := send(nil); err != nil {
		return err
	}
	f.mu.Lock()
	next := f.first
	f.cursor = next
	f.mu.Unlock()
	at := from // the last boundary sent
	var batch []engines.Event
	for {
		f.mu.Lock()
		batch = batch[:0]
		for f.paused == 0 && next < f.first+int64(len(f.log)) && len(batch) < maxBatch {
			e := f.log[next-f.first]
			next++
			if (e.idle && e.commit <= from) || (!e.idle && e.commit < from) {
				continue // committed before from
			}
			for len(f.marks) > 0 && f.marks[0] <= at {
				f.marks = f.marks[1:]
			}
			// A boundary at each mark the entry passes, first: a stream
			// waiting for a snapshot's position stops exactly there, also
			// when the walsender reports a later position with nothing of
			// the stream's tables in between (an idle entry).
			for len(f.marks) > 0 && f.marks[0] <= e.commit && (!e.idle || f.marks[0] < e.commit) {
				at, f.marks = f.marks[0], f.marks[1:]
				batch = append(batch, engines.Event{Kind: engines.Commit, Pos: position(at)})
			}
			if e.ev.Kind == engines.Commit {
				if l, err := lsnOf(e.ev.Pos); err == nil {
					at = l
				}
			}
			batch = append(batch, e.ev)
		}
		f.cursor = next
		err, wake := f.err, f.wake
		if len(batch) > 0 {
			close(f.wake) // the reader may go on
			f.wake = make(chan struct{})
		}
		f.mu.Unlock()
		if len(batch) > 0 {
			if err := send(batch); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}
