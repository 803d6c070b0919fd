package pgoutput

import (
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
)

// Confirming a permanent slot.
//
// A stream tells its hold which positions its reader is done with
// (engines.Hold.Confirm) as it hands rows to the server, and the hold
// reports them to PostgreSQL as the slot's confirmed_flush_lsn, before
// which PostgreSQL discards the slot's history for good. A temporary slot
// lives and dies with its session, so that is right for it. A permanent
// slot outlives the session: another session, or a new vstreamd, resumes
// from the token of the last row the client received, and vstreamd never
// learns that a client read a row, only that the row went to the client's
// connection. A client killed, or a vstreamd stopped, with rows in flight
// (in socket buffers) resumes from an earlier token than the last one
// handed out; had the slot been confirmed up to that, the resume would be
// refused (or, racing the old stream's last status update, PostgreSQL
// would silently start later: see checkSlot).
//
// So a permanent slot is confirmed only up to
//   - positions handed out at least ResumeWindow ago: a client that comes
//     back within the window resumes from any token it received, and
//   - the position a stream starts from: the client showed that token, so
//     it needs nothing before it.
//
// The cost is WAL: the slot retains about ResumeWindow's worth more. And
// at a server shutdown, when a WAL sender waits for its client to confirm
// everything it sent, the stream hangs up and reconnects rather than
// confirm (see copyData).

// lagged holds positions handed out until they are ResumeWindow old.
type lagged struct {
	mu      sync.Mutex
	window  time.Duration
	pending []handedOut // ascending positions
}

// handedOut is a run of positions handed out within a short time: the
// newest of them, and when it was handed out.
type handedOut struct {
	pos   pglogrepl.LSN
	first time.Time // when the run began
	last  time.Time // when pos was handed out
}

// maxRuns bounds the runs kept: runs are window/maxRuns long.
const maxRuns = 64

// handOut records that pos was handed out at now.
func (l *lagged) handOut(pos pglogrepl.LSN, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.pending)
	if n > 0 && pos <= l.pending[n-1].pos {
		return
	}
	if n > 0 && now.Sub(l.pending[n-1].first) < l.window/maxRuns {
		l.pending[n-1].pos, l.pending[n-1].last = pos, now
		return
	}
	l.pending = append(l.pending, handedOut{pos: pos, first: now, last: now})
}

// due returns the newest position handed out at least the window before
// now (0 if none) and forgets it and the ones before it.
func (l *lagged) due(now time.Time) pglogrepl.LSN {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out pglogrepl.LSN
	i := 0
	for i < len(l.pending) && now.Sub(l.pending[i].last) >= l.window {
		out = l.pending[i].pos
		i++
	}
	if i > 0 {
		n := copy(l.pending, l.pending[i:])
		l.pending = l.pending[:n]
	}
	return out
}

// lagsConfirm reports whether the hold holds confirmations back (a
// permanent slot with a resume window).
func (h *hold) lagsConfirm() bool {
	return h.src.cfg.Slot != "" && h.src.cfg.ResumeWindow > 0
}

// raiseConfirm moves the confirm target up to l.
func (h *hold) raiseConfirm(l pglogrepl.LSN) {
	for {
		cur := h.confirm.Load()
		if uint64(l) <= cur || h.confirm.CompareAndSwap(cur, uint64(l)) {
			return
		}
	}
}

// confirmTarget is the position the server may be told the reader is done
// with: what the reader confirmed, held back by the resume window on a
// permanent slot.
func (h *hold) confirmTarget() pglogrepl.LSN {
	if h.lagsConfirm() {
		if l := h.lag.due(time.Now()); l != 0 {
			h.raiseConfirm(l)
		}
	}
	return pglogrepl.LSN(h.confirm.Load())
}
