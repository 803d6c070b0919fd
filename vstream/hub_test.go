package vstream

import "testing"

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
