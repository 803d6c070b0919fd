package embedded

import (
	"time"

	"github.com/dolthub/go-mysql-server/sql"
)

// DefaultRetainChanges is how many row changes the change log keeps.
const DefaultRetainChanges = 1_000_000

// change is one row change of a committed transaction.
type change struct {
	table   string   // canonical table name
	columns []string // of before and after
	before  sql.Row
	after   sql.Row
}

// entry is one committed transaction (or DDL) in the change log.
type entry struct {
	seq     uint64 // the position right after this entry
	time    time.Time
	changes []change
	ddl     []string // tables whose definition this entry changed
}

// changeLog is the DB's ordered list of entries; the DB's mutex guards it.
type changeLog struct {
	entries []*entry // oldest first
	seq     uint64   // position of the last entry
	size    int      // row changes held
	retain  int
	notify  chan struct{} // closed and replaced on every append
}

func newChangeLog(retain int) *changeLog {
	if retain <= 0 {
		retain = DefaultRetainChanges
	}
	return &changeLog{retain: retain, notify: make(chan struct{})}
}

// append adds an entry at the next position and wakes the readers.
func (l *changeLog) append(e *entry) {
	l.seq++
	e.seq = l.seq
	l.entries = append(l.entries, e)
	l.size += len(e.changes)
	for l.size > l.retain && len(l.entries) > 1 {
		l.size -= len(l.entries[0].changes)
		l.entries[0] = nil
		l.entries = l.entries[1:]
	}
	close(l.notify)
	l.notify = make(chan struct{})
}

// oldest is the oldest position a stream can start after.
func (l *changeLog) oldest() uint64 {
	if len(l.entries) == 0 {
		return l.seq
	}
	return l.entries[0].seq - 1
}

// after returns up to max entries after pos (fewer if they hold more than
// maxChanges row changes), and the channel that is closed on the next
// append.
func (l *changeLog) after(pos uint64, max, maxChanges int) ([]*entry, chan struct{}, bool) {
	if pos < l.oldest() {
		return nil, nil, false
	}
	if len(l.entries) == 0 || pos >= l.seq {
		return nil, l.notify, true
	}
	first := l.entries[0].seq
	i := int(pos + 1 - first)
	var out []*entry
	n := 0
	for ; i < len(l.entries) && len(out) < max; i++ {
		out = append(out, l.entries[i])
		n += len(l.entries[i].changes)
		if n >= maxChanges {
			break
		}
	}
	return out, l.notify, true
}
