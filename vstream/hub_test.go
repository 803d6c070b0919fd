package vstream

import (
	"testing"

	"github.com/vstreamd/vstreamd/engines"
)

// TestHubEvictionMargin: a subscriber is evicted only once it is more
// than capacity-ahead events behind the leading one, and an evicted one
// may join again only within capacity/2 of the head, so that it is not
// evicted again at once.
func TestHubEvictionMargin(t *testing.T) {
	f := &Fanout{Events: 64, Ahead: 16}
	for _, tc := range []struct {
		name    string
		behind  uint64 // the laggard's distance behind the leader, at the head
		evicted bool
	}{
		{"within the margin", 48, false},
		{"past it", 49, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHub(f, "t", "")
			h.head = 1000
			lead, lag := &subscriber{}, &subscriber{}
			h.subscribe(lead, h.head)
			h.subscribe(lag, h.head-tc.behind)
			h.evictLaggards()
			if _, in := h.subs[lag]; in == tc.evicted || lag.evicted.Load() != tc.evicted {
				t.Errorf("%d behind: evicted %v, want %v", tc.behind, lag.evicted.Load(), tc.evicted)
			}
			if _, in := h.subs[lead]; !in {
				t.Error("the leading subscriber was evicted")
			}
		})
	}
	h := newHub(f, "t", "")
	h.head = 1000
	for _, tc := range []struct {
		cursor uint64
		near   bool
	}{{1000, true}, {968, true}, {967, false}, {952, false}} {
		if got := h.nearHead(tc.cursor); got != tc.near {
			t.Errorf("joining at %d with the head at %d: near %v, want %v", tc.cursor, h.head, got, tc.near)
		}
	}
}

// TestHubRetains: once every subscriber has read them, the hub keeps only
// the last capacity/4 events (whole batches) for streams joining at a
// recent position; events a subscriber has yet to read stay, however old.
func TestHubRetains(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cursor uint64 // the only subscriber's cursor, after 100 events in batches of 4
		tail   uint64 // the oldest event kept
	}{
		{"all read", 100, 84},
		{"reader within the retained events", 90, 84},
		{"reader further back", 40, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHub(&Fanout{Events: 64, Ahead: 16}, "t", "")
			s := &subscriber{}
			h.subscribe(s, 0)
			for h.head < 100 {
				h.entries = append(h.entries, hubEntry{first: h.head, evs: make([]engines.Event, 4)})
				h.head += 4
			}
			h.subs[s] = tc.cursor
			h.trim()
			if h.tail != tc.tail {
				t.Errorf("tail %d, want %d", h.tail, tc.tail)
			}
			if _, ok := h.read(tc.cursor); !ok {
				t.Errorf("the subscriber's next event %d is gone", tc.cursor)
			}
		})
	}
}
