package vstream

import (
	"context"
	"errors"
	"sort"
	"sync"

	"github.com/vstreamd/vstreamd/engines"
)

// hub is one engine stream of one table whose events many subscribers read
// (see Fanout). It keeps the events its subscribers have yet to read in a
// buffer, each numbered by its sequence number, and the transaction
// boundaries among them, so that a stream can join at any boundary still
// buffered.
//
// Memory is bounded: the hub reads at most ahead events ahead of its
// leading subscriber (no further: reading ahead of every reader is wasted
// work when they stop), and a subscriber that falls more than
// capacity-ahead events behind the leading one is evicted (it goes on
// reading on its own, see subscriber): a slow client slows only itself,
// unless it is alone. The buffer so holds at most capacity events.
//
// An evicted subscriber joins again only once it is within capacity/2
// events of the hub's head (see nearHead): one that joined at the far end
// of the buffer would be evicted again at once. When the machine is short
// of CPU, every session falls behind by turns; without that margin each
// turn cost a replication connection and a decoding of its own, which
// took more CPU still (53 connections for 64 sessions with two CPU hogs
// running, in the fan-out benchmark).
//
// The hub stops when its last subscriber leaves.
type hub struct {
	f        *Fanout
	table    string
	from     engines.Position // where the engine stream started
	capacity int
	ahead    int
	cancel   context.CancelFunc

	mu      sync.Mutex
	entries []hubEntry // buffered batches, oldest first
	tail    uint64     // sequence number of the oldest buffered event
	head    uint64     // sequence number of the next event
	bounds  []hubBound // boundaries still joinable, oldest first
	pos     engines.Position
	subs    map[*subscriber]uint64 // each subscriber's cursor: the next event it reads
	ready   bool                   // the engine stream is established
	err     error                  // why the engine stream ended (set with ended)
	ended   bool
	stopped bool          // it lost its last subscriber: no stream may join it
	wake    chan struct{} // closed when events arrive, or the hub becomes ready or ends
	space   chan struct{} // closed when a subscriber moves on or leaves (the hub may be waiting)
}

// hubEntry is one batch of events, first its first event's number.
type hubEntry struct {
	first uint64
	evs   []engines.Event
}

// hubBound is a transaction boundary: every event before next belongs to
// transactions at or before pos.
type hubBound struct {
	next uint64
	pos  engines.Position
}

// errHubStopped ends the engine stream of a hub that was stopped.
var errHubStopped = errors.New("shared stream stopped")

func newHub(f *Fanout, table string, from engines.Position) *hub {
	return &hub{f: f, table: table, from: from, capacity: f.capacity(), ahead: f.ahead(), pos: from,
		bounds: []hubBound{{next: 0, pos: from}},
		subs:   map[*subscriber]uint64{}, wake: make(chan struct{}), space: make(chan struct{})}
}

// run reads the engine stream until the hub is stopped or the stream fails.
func (h *hub) run(ctx context.Context, from engines.Position) {
	err := h.stream(ctx, from)
	if err == nil {
		err = errStreamEnded
	}
	h.mu.Lock()
	h.err, h.ended = err, true
	h.broadcast()
	h.mu.Unlock()
	h.f.forget(h)
}

// stream reads the engine stream; a panic in it ends the shared stream
// (and its subscribers' statements) with an error.
func (h *hub) stream(ctx context.Context, from engines.Position) (err error) {
	defer engines.Recover("the shared change stream of "+h.table, &err)
	return h.f.Source.Stream(ctx, from, []string{h.table}, h.append)
}

// append buffers one engine batch, waiting first while the leading
// subscriber is ahead events behind.
func (h *hub) append(evs []engines.Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.ready {
		h.ready = true
		h.broadcast()
	}
	if len(evs) == 0 {
		return nil
	}
	for {
		h.evictLaggards()
		lead, ok := h.leading()
		if !ok || h.head-lead < uint64(h.ahead) {
			break
		}
		space := h.space
		h.mu.Unlock()
		<-space
		h.mu.Lock()
		if h.stopped {
			return errHubStopped
		}
	}
	batch := make([]engines.Event, len(evs))
	copy(batch, evs)
	h.entries = append(h.entries, hubEntry{first: h.head, evs: batch})
	for i := range batch {
		if batch[i].Kind == engines.Commit || batch[i].Kind == engines.SchemaChange {
			h.pos = batch[i].Pos
			h.bounds = append(h.bounds, hubBound{next: h.head + uint64(i) + 1, pos: h.pos})
		}
	}
	h.head += uint64(len(batch))
	h.trim()
	h.broadcast()
	return nil
}

// slowest returns the smallest cursor of the subscribers, if any.
func (h *hub) slowest() (uint64, bool) {
	first, ok := uint64(0), false
	for _, c := range h.subs {
		if !ok || c < first {
			first, ok = c, true
		}
	}
	return first, ok
}

// leading returns the largest cursor of the subscribers, if any.
func (h *hub) leading() (uint64, bool) {
	lead, ok := uint64(0), false
	for _, c := range h.subs {
		lead, ok = max(lead, c), true
	}
	return lead, ok
}

// evictLaggards drops the subscribers more than capacity-ahead events
// behind the leading one (they read on their own from then on).
func (h *hub) evictLaggards() {
	if len(h.subs) < 2 {
		return
	}
	lead, _ := h.leading()
	for s, c := range h.subs {
		if lead-c > uint64(h.capacity-h.ahead) {
			delete(h.subs, s)
			s.evicted.Store(true)
		}
	}
}

// trim forgets the batches every subscriber has read, except the last
// capacity/4 events (see retain), which a stream starting at a recent
// position joins (sessions starting together rarely start at the same
// instant). Without subscribers the hub keeps nothing: a stream that
// starts later at an older position reads alone, and the source says
// whether it still has that position. (The latest boundary stays joinable
// while nothing follows it.)
func (h *hub) trim() {
	need, ok := h.slowest()
	switch {
	case !ok:
		need = h.head
	case h.head > uint64(h.retain()):
		need = min(need, h.head-uint64(h.retain()))
	default:
		need = 0
	}
	n := 0
	for n < len(h.entries) {
		e := h.entries[n]
		end := e.first + uint64(len(e.evs))
		if end > need {
			break
		}
		h.entries[n] = hubEntry{}
		h.tail = end
		n++
	}
	h.entries = h.entries[n:]
	i := sort.Search(len(h.bounds), func(i int) bool { return h.bounds[i].next >= h.tail })
	h.bounds = h.bounds[i:]
}

// broadcast wakes every subscriber waiting for events. Called with mu held.
func (h *hub) broadcast() {
	close(h.wake)
	h.wake = make(chan struct{})
}

// moved tells a waiting hub that a subscriber read on or left. Called with
// mu held.
func (h *hub) moved() {
	close(h.space)
	h.space = make(chan struct{})
}

// read returns the buffered events from cursor on (within one batch), or
// none when the subscriber has read everything buffered. ok is false when
// the events at cursor are no longer buffered.
func (h *hub) read(cursor uint64) (evs []engines.Event, ok bool) {
	if cursor < h.tail {
		return nil, false
	}
	if cursor >= h.head {
		return nil, true
	}
	i := sort.Search(len(h.entries), func(i int) bool {
		e := h.entries[i]
		return e.first+uint64(len(e.evs)) > cursor
	})
	e := h.entries[i]
	return e.evs[cursor-e.first:], true
}

// joinAt returns the cursor right after the last buffered boundary at or
// before pos, and whether every event from there on is after pos (else the
// subscriber seeks: see subscriber.follow). ok is false when pos is older
// than every buffered boundary.
func (h *hub) joinAt(pos engines.Position) (cursor uint64, settled, ok bool, err error) {
	var cmpErr error
	i := sort.Search(len(h.bounds), func(i int) bool {
		c, err := h.f.Source.ComparePositions(h.bounds[i].pos, pos)
		if err != nil {
			cmpErr = err
		}
		return c > 0
	})
	if cmpErr != nil {
		return 0, false, false, cmpErr
	}
	if i == 0 {
		return 0, false, false, nil
	}
	b := h.bounds[i-1]
	if b.next < h.tail {
		return 0, false, false, nil
	}
	exact := b.pos == pos
	if !exact {
		c, err := h.f.Source.ComparePositions(b.pos, pos)
		if err != nil {
			return 0, false, false, err
		}
		exact = c == 0
	}
	// A boundary before the last one is followed by one after pos: the
	// events in between belong to the transaction that ends there, after
	// pos (engines merge only commits without rows).
	return b.next, exact || i < len(h.bounds), true, nil
}

// retain is how many events the hub keeps behind its head once every
// subscriber has read them. It is a quarter of the capacity, not all of
// it: the garbage collector marks every buffered event at every cycle,
// and a whole buffer of already-read events (about 30 MB at the default
// capacity) was most of a fast stream's live heap. A stream
// starting further back reads alone until it is near the head, as an
// evicted one does.
func (h *hub) retain() int { return h.capacity / 4 }

// nearHead reports whether a subscriber joining at cursor would be within
// capacity/2 events of the head: far enough from eviction to stay.
func (h *hub) nearHead(cursor uint64) bool {
	return h.head-cursor <= uint64(h.capacity/2)
}

// subscribe registers s at cursor. Called with mu held.
func (h *hub) subscribe(s *subscriber, cursor uint64) {
	h.subs[s] = cursor
}

// leave unregisters s; the hub stops with its last subscriber.
func (h *hub) leave(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.trim()
	h.moved()
	last := len(h.subs) == 0 && !h.stopped
	if last {
		h.stopped = true
	}
	h.mu.Unlock()
	if last {
		h.f.forget(h)
		h.cancel()
	}
}
