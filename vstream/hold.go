package vstream

import (
	"context"
	"sync"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// holds keeps a stream's engines.Hold for as long as the session keeps the
// stream: a later statement continues from history the source still holds
// for it.
type holds struct {
	mu   sync.Mutex
	hold engines.Hold
}

// Source returns the source a stream of this state reads: src itself, or,
// when src keeps its history only for a holder (engines.Holder), src
// through this stream's hold, taken on first use and kept until the stream
// is reset or the session closes.
func (st *StreamState) Source(ctx context.Context, src Source) (Source, error) {
	h, ok := src.(engines.Holder)
	if !ok {
		return src, nil
	}
	st.holds.mu.Lock()
	defer st.holds.mu.Unlock()
	if st.holds.hold == nil {
		hold, err := h.Hold(ctx, st.key.Table)
		if err != nil {
			return nil, err
		}
		st.holds.hold = hold
	}
	return &heldSource{Source: src, hold: st.holds.hold}, nil
}

// release closes the stream's hold, if any.
func (st *StreamState) release() {
	st.holds.mu.Lock()
	h := st.holds.hold
	st.holds.hold = nil
	st.holds.mu.Unlock()
	if h != nil {
		h.Close()
	}
}

// Close releases what the session's streams hold at their sources (a
// PostgreSQL session's replication slots): the session is over.
func (s *SessionState) Close() {
	for _, st := range s.sorted() {
		st.release()
	}
}

// heldSource reads a source through a hold.
type heldSource struct {
	Source
	hold engines.Hold
}

func (h *heldSource) Current(ctx context.Context) (engines.Position, error) {
	return h.hold.Current(ctx)
}

func (h *heldSource) Snapshot(ctx context.Context, table string) (engines.Snapshot, error) {
	return h.hold.Snapshot(ctx, table)
}

func (h *heldSource) Stream(ctx context.Context, from engines.Position, tables []string, send func([]engines.Event) error) error {
	return h.hold.Stream(ctx, from, tables, send)
}

func (h *heldSource) Confirm(pos engines.Position) { h.hold.Confirm(pos) }

// ReconnectWindow is the source's (see Reconnector), 0 without one: a copy
// through a hold retries its chunks while the source's stream reconnects.
func (h *heldSource) ReconnectWindow() time.Duration {
	if r, ok := h.Source.(Reconnector); ok {
		return r.ReconnectWindow()
	}
	return 0
}

// confirmer is a source that wants to know which positions a reader is
// done with (see engines.Hold.Confirm).
type confirmer interface{ Confirm(engines.Position) }
