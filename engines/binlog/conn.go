package binlog

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// dialUntil returns the replication connection's dialer. Its connections
// stop reading and writing as soon as ctx ends, so that a stream that is
// stopped while it connects, or while the network hangs, returns at once
// instead of after the connect or read timeout; and once nothing arrived
// for idle (the server sends a heartbeat every Heartbeat, so silence that
// long means a dead connection or server). Connections dialed once closing
// is set (the one BinlogSyncer.Close opens to KILL the dump thread, which
// must outlive the stream) are left alone.
func dialUntil(ctx context.Context, timeout, idle time.Duration, closing *atomic.Bool) func(context.Context, string, string) (net.Conn, error) {
	return func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: timeout}
		if closing.Load() || ctx.Err() != nil {
			return d.DialContext(dctx, network, addr)
		}
		dctx, cancel := context.WithCancel(dctx)
		defer cancel()
		stopDial := context.AfterFunc(ctx, cancel)
		c, err := d.DialContext(dctx, network, addr)
		stopDial()
		if err != nil {
			return nil, err
		}
		wc := &watchedConn{Conn: c, done: make(chan struct{})}
		// A deadline in the past, not Close: it unblocks the reader just as
		// well, and leaves closing the connection to go-mysql, which would
		// race with its reader if the connection were already closed.
		wc.stop = context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
		go wc.watch(idle)
		return wc, nil
	}
}

// watchedConn is a connection that dialUntil stops when its context ends
// or it stays silent. (go-mysql's ReadTimeout would also notice silence,
// but sets a deadline before every packet: about a tenth of the CPU of a
// fast stream. Counting reads costs nothing.)
type watchedConn struct {
	net.Conn
	stop      func() bool
	reads     atomic.Int64
	done      chan struct{}
	closeOnce sync.Once
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.reads.Add(1)
	return n, err
}

func (c *watchedConn) Close() error {
	c.stop()
	c.closeOnce.Do(func() { close(c.done) })
	return c.Conn.Close()
}

// watch ends the connection's reads once no read returned for idle.
func (c *watchedConn) watch(idle time.Duration) {
	tick := max(idle/4, time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	last, quiet := c.reads.Load(), time.Duration(0)
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		if n := c.reads.Load(); n != last {
			last, quiet = n, 0
			continue
		}
		if quiet += tick; quiet >= idle {
			c.Conn.SetReadDeadline(time.Unix(1, 0))
			return
		}
	}
}
