package binlog

import (
	"context"
	"errors"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// TestWatchedConnSilence: a replication connection on which nothing
// arrives for the idle time fails its read with a timeout (as go-mysql's
// ReadTimeout did), one that keeps receiving does not, and one whose
// context ends stops at once.
func TestWatchedConnSilence(t *testing.T) {
	const idle = 200 * time.Millisecond
	for _, tc := range []struct {
		name    string
		feed    time.Duration // a byte every feed (0: none)
		cancel  bool
		timeout bool
	}{
		{name: "silent", timeout: true},
		{name: "receiving", feed: idle / 10},
		{name: "context ends", cancel: true, timeout: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				for tc.feed > 0 {
					if _, err := c.Write([]byte{1}); err != nil {
						return
					}
					time.Sleep(tc.feed)
				}
				time.Sleep(10 * idle)
			}()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var closing atomic.Bool
			c, err := dialUntil(ctx, time.Second, idle, &closing)(context.Background(), "tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tc.cancel {
				time.AfterFunc(idle/4, cancel)
			}
			start := time.Now()
			var readErr error
			for time.Since(start) < 3*idle && readErr == nil {
				_, readErr = c.Read(make([]byte, 1))
			}
			took := time.Since(start)
			switch {
			case !tc.timeout && readErr != nil:
				t.Fatalf("read failed after %v: %v", took, readErr)
			case tc.timeout && !errors.Is(readErr, os.ErrDeadlineExceeded):
				t.Fatalf("read ended after %v with %v, want a timeout", took, readErr)
			case tc.cancel && took >= idle:
				t.Fatalf("the read ended %v after the context, want at once", took)
			}
		})
	}
}
