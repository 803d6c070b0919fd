package vstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/vstreamd/vstreamd/engines"
)

// changes runs an engine's change stream in a goroutine and hands its
// batches to the stream one at a time. The channel holds at most two
// batches: a client that reads slowly stalls the engine (backpressure), it
// never makes vstreamd buffer more.
type changes struct {
	cancel context.CancelFunc
	ch     chan []engines.Event
	done   chan struct{}
	err    error // set before done is closed
}

// StableBatcher is a source whose Stream batches stay valid after send
// returns and are never modified (so a stream need not copy them).
type StableBatcher interface {
	StableBatches() bool
}

// errStreamEnded: the engine's Stream returned without an error, which it
// must only do when asked to stop.
var errStreamEnded = errors.New("source change stream ended unexpectedly")

// startChanges starts streaming table's changes after from and waits until
// the engine says the stream is established (its first, empty batch) or
// fails, so that a bad or purged position is an error of Open, before any
// row is sent.
func startChanges(ctx context.Context, src Source, from engines.Position, table string) (*changes, error) {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &changes{cancel: cancel, ch: make(chan []engines.Event, 2), done: make(chan struct{})}
	established := make(chan struct{})
	first := true
	// An engine's batch is only valid during send: it is copied, unless the
	// source promises otherwise (a Fanout's batches are never reused).
	sb, ok := src.(StableBatcher)
	stable := ok && sb.StableBatches()
	go func() {
		defer close(c.done)
		var err error
		defer func() {
			if err == nil {
				err = errStreamEnded
			}
			c.err = err
		}()
		defer engines.Recover("the change stream of "+table, &err)
		err = src.Stream(rctx, from, []string{table}, func(evs []engines.Event) error {
			if first {
				first = false
				close(established)
				if len(evs) == 0 {
					return nil
				}
			}
			if len(evs) == 0 {
				return nil
			}
			batch := evs
			if !stable {
				batch = make([]engines.Event, len(evs))
				copy(batch, evs)
			}
			select {
			case c.ch <- batch:
				return nil
			case <-rctx.Done():
				return rctx.Err()
			}
		})
	}()
	select {
	case <-established:
		return c, nil
	case <-c.done:
		cancel()
		return nil, fmt.Errorf("starting change stream after position %q: %w", from, c.err)
	case <-ctx.Done():
		c.stop()
		return nil, context.Cause(ctx)
	}
}

// next returns the next batch, blocking until one arrives, ctx ends, or the
// engine stream fails.
func (c *changes) next(ctx context.Context) ([]engines.Event, error) {
	select {
	case b := <-c.ch:
		return b, nil
	default:
	}
	select {
	case b := <-c.ch:
		return b, nil
	case <-c.done:
		// Drain what the engine sent before it stopped.
		select {
		case b := <-c.ch:
			return b, nil
		default:
		}
		return nil, c.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// stop cancels the engine stream and waits for it to release its
// resources.
func (c *changes) stop() {
	c.cancel()
	<-c.done
}
