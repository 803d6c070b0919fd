package vstream

import (
	"sort"
	"sync"
	"time"
)

// StreamKey names one stream of a session.
type StreamKey struct {
	Keyspace string
	Shard    string
	Table    string
}

// SessionState is what one client session remembers of its streams: the
// resume token of each, and its copy progress. It lives as long as the
// session; it is safe for concurrent use (a KILL from another session may
// end a stream while the table functions read it).
type SessionState struct {
	mu      sync.Mutex
	streams map[StreamKey]*StreamState
}

// NewSessionState returns an empty session state.
func NewSessionState() *SessionState {
	return &SessionState{streams: make(map[StreamKey]*StreamState)}
}

// Stream returns the state of one stream, creating it if needed.
func (s *SessionState) Stream(k StreamKey) *StreamState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.streams[k]
	if !ok {
		st = &StreamState{key: k}
		s.streams[k] = st
	}
	return st
}

// Resume returns the token a stream should continue from, if the session
// has streamed it before.
func (s *SessionState) Resume(k StreamKey) (Token, bool) {
	s.mu.Lock()
	st, ok := s.streams[k]
	s.mu.Unlock()
	if !ok {
		return Token{}, false
	}
	return st.Resume()
}

// Positions reports every stream of the session, ordered by key.
func (s *SessionState) Positions() []PositionInfo {
	var out []PositionInfo
	for _, st := range s.sorted() {
		out = append(out, st.Position())
	}
	return out
}

// CopyStates reports the copy phase of every stream that has one.
func (s *SessionState) CopyStates() []CopyInfo {
	var out []CopyInfo
	for _, st := range s.sorted() {
		if c, ok := st.Copy(); ok {
			out = append(out, c)
		}
	}
	return out
}

func (s *SessionState) sorted() []*StreamState {
	s.mu.Lock()
	all := make([]*StreamState, 0, len(s.streams))
	for _, st := range s.streams {
		all = append(all, st)
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i].key, all[j].key
		if a.Keyspace != b.Keyspace {
			return a.Keyspace < b.Keyspace
		}
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		return a.Shard < b.Shard
	})
	return all
}

// CopyState is the state of a table's copy phase.
type CopyState string

// Copy states shown by vstream_copy_state().
const (
	CopyPending CopyState = "pending"
	CopyCopying CopyState = "copying"
	CopyDone    CopyState = "done"
)

// CopyInfo is one row of vstream_copy_state().
type CopyInfo struct {
	StreamKey
	State         CopyState
	LastKey       []any // last copied key; nil before the first row
	RowsCopied    int64
	EstimatedRows int64 // -1 when unknown
	Started       time.Time
	Ended         time.Time // zero until done
}

// PositionInfo is one row of vstream_positions().
type PositionInfo struct {
	StreamKey
	Phase         string
	Token         string
	CommitTime    time.Time // source commit time of the last delivered row's transaction; zero for copy rows
	RowsDelivered int64
	// Lag is how long after its commit the last delivered change reached
	// the client; negative when unknown (copy rows, nothing delivered yet).
	Lag time.Duration
}

// StreamState is one stream's entry in a SessionState.
type StreamState struct {
	mu         sync.Mutex
	key        StreamKey
	token      lastToken
	hasToken   bool
	delivered  int64
	commitTime time.Time
	lag        time.Duration
	copy       *CopyInfo
	holds      holds
}

// Resume returns the stream's resume token, if any.
func (st *StreamState) Resume() (Token, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.token.get(), st.hasToken
}

// Reset forgets the stream (pos > ” starts over with a fresh copy) and
// releases what the source held for it.
func (st *StreamState) Reset() {
	st.release()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.token, st.hasToken = lastToken{}, false
	st.delivered, st.commitTime, st.lag = 0, time.Time{}, 0
	st.copy = nil
}

// setToken records the resume point without a delivered row (a stream that
// advanced over transactions without rows for it, or finished its copy).
func (st *StreamState) setToken(t Token) {
	st.mu.Lock()
	st.token.set(t)
	st.hasToken = true
	st.mu.Unlock()
}

// settle keeps the last delivered row's token instead of the row, which
// would keep its neighbours' memory alive while the session idles.
func (st *StreamState) settle() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.token.settle()
}

// deliver records a row handed to the client; key is a copy row's key.
func (st *StreamState) deliver(r *Row, key []any, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.token.setRow(r)
	st.hasToken = true
	st.delivered++
	st.commitTime = r.CommitTime
	if r.CommitTime.IsZero() {
		st.lag = -1
	} else {
		st.lag = now.Sub(r.CommitTime)
	}
	if r.copyRow && st.copy != nil {
		st.copy.LastKey = key
		st.copy.RowsCopied++
		if r.copyEnd {
			st.copy.State = CopyDone
			st.copy.Ended = now
		}
	}
}

// copyStarted marks the start (or resumption) of the copy phase.
func (st *StreamState) copyStarted(now time.Time, estimate int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.copy == nil || st.copy.State == CopyDone {
		st.copy = &CopyInfo{StreamKey: st.key, State: CopyPending, EstimatedRows: estimate, Started: now}
	}
	st.copy.State = CopyCopying
	if estimate >= 0 {
		st.copy.EstimatedRows = estimate
	}
}

// copyDone marks the copy phase complete.
func (st *StreamState) copyDone(now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.copy != nil && st.copy.State != CopyDone {
		st.copy.State = CopyDone
		st.copy.Ended = now
	}
}

// Copy returns the copy-phase info, if the stream ever copied.
func (st *StreamState) Copy() (CopyInfo, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.copy == nil {
		return CopyInfo{}, false
	}
	return *st.copy, true
}

// Position returns the vstream_positions() row of the stream.
func (st *StreamState) Position() PositionInfo {
	st.mu.Lock()
	defer st.mu.Unlock()
	p := PositionInfo{StreamKey: st.key, RowsDelivered: st.delivered, CommitTime: st.commitTime, Lag: -1}
	if st.hasToken {
		t := st.token.get()
		p.Phase = t.Phase()
		p.Token = t.String()
		if st.delivered > 0 {
			p.Lag = st.lag
		}
	} else {
		p.Phase = "copy"
	}
	return p
}
