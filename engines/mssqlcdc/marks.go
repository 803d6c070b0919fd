package mssqlcdc

import (
	"sort"
	"sync"
	"time"
)

// Snapshot marks. A snapshot's position is the end of the log when it was
// taken: between two transactions, not a commit LSN. A stream that copies a
// table must stop exactly there before it emits the chunk read in that
// snapshot (a transaction after it must not be applied first, and the next
// chunk's snapshot must not be older than where the stream stands), but
// the change tables only show commits. So the source remembers the
// positions of the snapshots it took, and its streams send a Commit at
// each one they pass, between the transactions before and after it.
//
// The mark is taken under the mark lock together with the log end it
// names, and a poll reads its progress and the marks under the same lock:
// a mark the poll does not see was taken after the poll read its progress,
// so it lies at or beyond everything that poll can pass.
type marks struct {
	mu   sync.Mutex
	list []mark // ascending
}

type mark struct {
	pos lsn
	at  time.Time
}

// markKeep is how long a mark is kept: copy chunks are consumed as soon as
// the stream reaches them (and a resumed copy takes new snapshots).
const markKeep = 10 * time.Minute

// add records a snapshot position; the caller holds m.mu.
func (m *marks) add(pos lsn, now time.Time) {
	keep := m.list[:0]
	for _, x := range m.list {
		if now.Sub(x.at) < markKeep && x.pos != pos {
			keep = append(keep, x)
		}
	}
	m.list = append(keep, mark{pos: pos, at: now})
	sort.Slice(m.list, func(i, j int) bool { return m.list[i].pos.compare(m.list[j].pos) < 0 })
}

// after returns the marked positions after pos, ascending; the caller
// holds m.mu.
func (m *marks) after(pos lsn) []lsn {
	var out []lsn
	for _, x := range m.list {
		if x.pos.compare(pos) > 0 {
			out = append(out, x.pos)
		}
	}
	return out
}
