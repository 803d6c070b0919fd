package vstream

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// Fanout defaults.
const (
	// DefaultFanoutEvents bounds a shared stream's buffer (see hub): it
	// reads at most this many events ahead of its slowest subscriber, and a
	// subscriber about as far behind the leading one reads on its own.
	DefaultFanoutEvents = 1 << 16
	// DefaultFanoutAhead is how far a shared stream reads ahead of its
	// leading subscriber.
	DefaultFanoutAhead = 4096
)

// Fanout is a source whose change streams of one table share one engine
// stream: many sessions following a table cost one replication connection
// and one decoding of each event. A stream that starts at a position the
// shared stream has passed (and no longer buffers) reads on its own until
// it reaches the shared stream's buffered events, then joins it; one that
// falls too far behind the others (a slow client) leaves it and reads on
// its own again. Either way every stream delivers exactly what a stream of
// its own would: the same events, none lost, none twice.
//
// Everything but Stream is the wrapped source's. Sources that keep their
// history per reader (engines.Holder) must not be wrapped: NewFanout
// returns them as they are.
type Fanout struct {
	engines.Source
	// Events bounds the shared stream's buffer (0: DefaultFanoutEvents);
	// Ahead how far it reads ahead of its leading subscriber (0:
	// DefaultFanoutAhead, at most Events/4).
	Events int
	Ahead  int

	mu   sync.Mutex
	hubs map[string]*hub // by table, lower case
}

// NewFanout wraps src, unless it keeps its history per reader.
func NewFanout(src engines.Source) engines.Source {
	if _, ok := src.(engines.Holder); ok {
		return src
	}
	return &Fanout{Source: src}
}

func (f *Fanout) capacity() int {
	if f.Events > 0 {
		return f.Events
	}
	return DefaultFanoutEvents
}

func (f *Fanout) ahead() int {
	a := DefaultFanoutAhead
	if f.Ahead > 0 {
		a = f.Ahead
	}
	return max(1, min(a, f.capacity()/4))
}

// EstimateRows is the wrapped source's estimate, if it has one.
func (f *Fanout) EstimateRows(ctx context.Context, table string) (int64, error) {
	if e, ok := f.Source.(engines.RowEstimator); ok {
		return e.EstimateRows(ctx, table)
	}
	return 0, engines.ErrUnsupported
}

// ReconnectWindow is the wrapped source's (see Reconnector), 0 without one.
func (f *Fanout) ReconnectWindow() time.Duration {
	if r, ok := f.Source.(Reconnector); ok {
		return r.ReconnectWindow()
	}
	return 0
}

// StableBatches says the batches a Fanout stream sends are never reused:
// when the shared stream serves them they are its buffer's, read-only.
// (When a subscriber reads alone, they are the engine's: see alone.)
func (f *Fanout) StableBatches() bool { return true }

// Hubs reports how many shared engine streams run (tests, benchmarks).
func (f *Fanout) Hubs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.hubs)
}

// Stream implements engines.Source: a stream of one table reads the shared
// stream (see Fanout); any other reads the wrapped source.
func (f *Fanout) Stream(ctx context.Context, from engines.Position, tables []string, send func([]engines.Event) error) error {
	if len(tables) != 1 {
		return f.Source.Stream(ctx, from, tables, send)
	}
	s := &subscriber{f: f, table: tables[0], send: send, pos: from}
	return s.run(ctx)
}

// forget removes a hub that stopped or failed, so the next stream starts a
// new one.
func (f *Fanout) forget(h *hub) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hubs[strings.ToLower(h.table)] == h {
		delete(f.hubs, strings.ToLower(h.table))
	}
}

// hubFor returns the table's hub, starting one at s's position if there is
// none; s is its first subscriber then.
func (f *Fanout) hubFor(s *subscriber) *hub {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := strings.ToLower(s.table)
	if h := f.hubs[key]; h != nil {
		h.mu.Lock()
		gone := h.stopped || h.ended
		h.mu.Unlock()
		if !gone {
			return h
		}
	}
	if f.hubs == nil {
		f.hubs = map[string]*hub{}
	}
	h := newHub(f, s.table, s.pos)
	h.subscribe(s, 0) // before it reads: what it reads is kept for s
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	f.hubs[key] = h
	go h.run(ctx, s.pos)
	return h
}

// errCaughtUp ends a subscriber's own engine stream once it can join the
// shared one.
var errCaughtUp = errors.New("caught up with the shared stream")

// subscriber is one Stream call of a Fanout. It remembers what it
// delivered (pos, the boundary before, and rows, the row changes of the
// transaction after it), so it can switch between the shared stream and
// one of its own without losing or repeating anything.
type subscriber struct {
	f       *Fanout
	table   string
	send    func([]engines.Event) error
	pos     engines.Position
	rows    int  // row changes delivered after pos
	started bool // the first (empty) batch was sent
	evicted atomic.Bool
}

// run alternates between following the shared stream and reading on its
// own until ctx ends, send fails or the source does.
func (s *subscriber) run(ctx context.Context) error {
	for {
		h := s.f.hubFor(s)
		switch err := s.follow(ctx, h); err {
		case errHubGone:
			continue
		case errBehind:
			if err := s.alone(ctx); err != errCaughtUp {
				return err
			}
		default:
			return err
		}
	}
}

var (
	// errBehind: the subscriber cannot (or can no longer) read the shared
	// stream at its position.
	errBehind = errors.New("behind the shared stream")
	// errHubGone: the shared stream stopped or failed before the
	// subscriber joined it; another one starts.
	errHubGone = errors.New("shared stream gone")
)

// follow reads the shared stream from the subscriber's position.
func (s *subscriber) follow(ctx context.Context, h *hub) error {
	defer h.leave(s)
	h.mu.Lock()
	for !h.ready && !h.ended && !h.stopped {
		wake := h.wake
		h.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		h.mu.Lock()
	}
	switch {
	case h.ended && !h.ready && h.from == s.pos:
		err := h.err
		h.mu.Unlock()
		return err // the engine refused the position before streaming
	case h.stopped || h.ended:
		h.mu.Unlock()
		return errHubGone
	}
	cursor, settled, ok, err := h.joinAt(s.pos)
	if err != nil || !ok {
		h.mu.Unlock()
		if err != nil {
			return engines.AtPosition(s.pos, err)
		}
		return errBehind
	}
	s.evicted.Store(false)
	h.subscribe(s, cursor)
	h.mu.Unlock()

	if !s.started {
		s.started = true
		if err := s.send(nil); err != nil {
			return err
		}
	}
	// Seeking: the events between the last boundary at or before pos and
	// the next boundary after it are after pos only once such a boundary
	// arrives (until then, later boundaries may still be at or before pos).
	seekFrom := cursor
	skip := s.rows
	for {
		h.mu.Lock()
		evs, buffered := h.read(cursor)
		ended, hubErr, wake := h.ended, h.err, h.wake
		h.mu.Unlock()
		if s.evicted.Load() || !buffered {
			return errBehind
		}
		if len(evs) == 0 {
			if ended {
				return s.failed(hubErr)
			}
			select {
			case <-wake:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			continue
		}
		if !settled {
			n := 0
			for ; n < len(evs) && !settled; n++ {
				ev := &evs[n]
				if ev.Kind != engines.Commit && ev.Kind != engines.SchemaChange {
					continue
				}
				c, err := s.f.Source.ComparePositions(ev.Pos, s.pos)
				if err != nil {
					return engines.AtPosition(s.pos, err)
				}
				if c <= 0 {
					seekFrom = cursor + uint64(n) + 1
				} else {
					settled = true
				}
			}
			if !settled {
				// (The hub does not wait for a seeking subscriber: a
				// transaction longer than its buffer would never end. If
				// the events from seekFrom are dropped, it reads alone.)
				cursor += uint64(n)
				s.moveTo(h, cursor)
				continue
			}
			cursor = seekFrom // deliver from the last boundary at or before pos
			continue
		}
		n := len(evs)
		evs, skip = skipRows(evs, skip)
		if err := s.deliver(evs); err != nil {
			return err
		}
		cursor += uint64(n)
		s.moveTo(h, cursor)
	}
}

// moveTo records the subscriber's progress, letting a waiting hub go on.
func (s *subscriber) moveTo(h *hub, cursor uint64) {
	h.mu.Lock()
	if _, ok := h.subs[s]; ok {
		h.subs[s] = cursor
		h.moved()
	}
	h.mu.Unlock()
}

// alone reads the subscriber's own engine stream until it can join the
// shared one (errCaughtUp) or fails.
func (s *subscriber) alone(ctx context.Context) error {
	skip := s.rows
	return s.f.Source.Stream(ctx, s.pos, []string{s.table}, func(evs []engines.Event) error {
		if !s.started {
			s.started = true
			if err := s.send(nil); err != nil {
				return err
			}
		}
		if len(evs) == 0 {
			return nil
		}
		evs, skip = skipRows(evs, skip)
		// The engine's batch is only valid during this call; what a Fanout
		// sends stays valid (see StableBatches).
		if err := s.deliver(slices.Clone(evs)); err != nil {
			return err
		}
		if skip == 0 && s.canJoin() {
			return errCaughtUp
		}
		return nil
	})
}

// canJoin reports whether the table's shared stream buffers the
// subscriber's position, near enough its head to stay (see hub).
func (s *subscriber) canJoin() bool {
	s.f.mu.Lock()
	h := s.f.hubs[strings.ToLower(s.table)]
	s.f.mu.Unlock()
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.ready || h.ended || h.stopped {
		return false
	}
	cursor, _, ok, err := h.joinAt(s.pos)
	return ok && err == nil && h.nearHead(cursor)
}

// deliver sends evs (when there are any) and records how far they go.
func (s *subscriber) deliver(evs []engines.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if err := s.send(evs); err != nil {
		return err
	}
	for i := range evs {
		switch evs[i].Kind {
		case engines.RowChange:
			s.rows++
		case engines.Commit, engines.SchemaChange:
			s.pos, s.rows = evs[i].Pos, 0
		}
	}
	return nil
}

// failed is the shared stream's failure as this subscriber's: after the
// position it delivered last.
func (s *subscriber) failed(err error) error {
	var pe *engines.PositionError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &engines.PositionError{Pos: s.pos, Err: err}
}

// skipRows drops the first n row changes of evs (delivered before a
// switch), returning the rest and how many are still to drop.
func skipRows(evs []engines.Event, n int) ([]engines.Event, int) {
	if n == 0 {
		return evs, 0
	}
	var kept []engines.Event // other events among them, in the rare case
	i := 0
	for ; i < len(evs) && n > 0; i++ {
		if evs[i].Kind == engines.RowChange {
			n--
			continue
		}
		kept = append(kept, evs[i])
	}
	if kept == nil {
		return evs[i:], n
	}
	return append(kept, evs[i:]...), n
}
