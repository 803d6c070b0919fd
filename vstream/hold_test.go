package vstream

import (
	"context"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// holdingSource is a Source that keeps its history for holders and
// reconnects its streams for a while.
type holdingSource struct {
	Source
	window time.Duration
}

func (s *holdingSource) Hold(context.Context, string) (engines.Hold, error) { return nopHold{}, nil }
func (s *holdingSource) ReconnectWindow() time.Duration                     { return s.window }

type nopHold struct{ engines.Hold }

func (nopHold) Close() error { return nil }

// TestHeldSourceReconnects: a stream read through a hold (a PostgreSQL
// session's slot) keeps its source's reconnect window, so a copy retries
// its chunks while the source reconnects, as without a hold.
func TestHeldSourceReconnects(t *testing.T) {
	for _, window := range []time.Duration{0, 2 * time.Minute} {
		ss := NewSessionState()
		src, err := ss.Stream(StreamKey{Keyspace: "ks", Table: "t"}).Source(context.Background(), &holdingSource{window: window})
		if err != nil {
			t.Fatal(err)
		}
		if _, held := src.(*heldSource); !held {
			t.Fatalf("the source is not read through a hold: %T", src)
		}
		r, ok := src.(Reconnector)
		if !ok || r.ReconnectWindow() != window {
			t.Fatalf("window %v: the held source is a Reconnector %v with window %v", window, ok, r)
		}
		ss.Close()
	}
}
