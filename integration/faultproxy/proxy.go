// Package faultproxy is a TCP proxy for tests that injects network faults
// between a client and a server: it forwards every connection it accepts
// on a loopback port to a target address, and on demand cuts the current
// connections, stalls or slows the bytes, or refuses new connections.
//
// It knows nothing of the protocol it forwards (MySQL, PostgreSQL …), so a
// test points a client's URL at Addr and keeps talking to the server
// directly for the faults it does not want (writers, purges).
package faultproxy

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// DialTimeout bounds how long the proxy waits to connect to its target.
const DialTimeout = 5 * time.Second

// Proxy is a running fault proxy. Its methods are safe for concurrent use.
type Proxy struct {
	target string
	ln     net.Listener
	wg     sync.WaitGroup
	ctx    context.Context // canceled by Close
	stop   context.CancelFunc

	mu       sync.Mutex
	cond     *sync.Cond // signaled when a stall ends or a connection closes
	conns    map[*pair]struct{}
	refuse   bool
	stalled  bool
	stallGen uint64 // which Stall a timed resume belongs to
	rate     int64  // bytes per second per direction and connection; 0: unlimited
	closed   bool

	accepted  atomic.Int64 // connections forwarded (target dialed)
	refused   atomic.Int64 // connections closed at once by Refuse or a failed dial
	bytesUp   atomic.Int64 // client → target
	bytesDown atomic.Int64 // target → client
}

// New starts a proxy on a free loopback port that forwards to target
// (host:port).
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, ln: ln, conns: make(map[*pair]struct{})}
	p.ctx, p.stop = context.WithCancel(context.Background())
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Start is New for a test: the proxy closes when the test ends.
func Start(tb testing.TB, target string) *Proxy {
	tb.Helper()
	p, err := New(target)
	if err != nil {
		tb.Fatalf("faultproxy: %v", err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Port is the proxy's port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Target is the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Cut closes every current connection, on both sides, and returns how many
// it closed. New connections are forwarded as before.
func (p *Proxy) Cut() int {
	p.mu.Lock()
	all := make([]*pair, 0, len(p.conns))
	for c := range p.conns {
		all = append(all, c)
	}
	p.mu.Unlock()
	for _, c := range all {
		c.close()
	}
	return len(all)
}

// Stall stops forwarding bytes, in both directions of every connection,
// current and new, without closing anything: a network that hangs. With
// d > 0 the bytes flow again after d, else at Resume. Once Stall returns,
// no further byte is counted (see BytesDown) until the stall ends; a write
// already counted may still complete.
func (p *Proxy) Stall(d time.Duration) {
	p.mu.Lock()
	p.stalled = true
	p.stallGen++
	gen := p.stallGen
	p.mu.Unlock()
	if d > 0 {
		time.AfterFunc(d, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.stallGen == gen {
				p.stalled = false
				p.cond.Broadcast()
			}
		})
	}
}

// Resume ends a stall.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = false
	p.stallGen++
	p.cond.Broadcast()
}

// Slow limits every direction of every connection to about bytesPerSec
// (0 or less: unlimited).
func (p *Proxy) Slow(bytesPerSec int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = max(bytesPerSec, 0)
}

// Refuse makes the proxy reset new connections at once (on) or forward
// them again (off). Current connections are not affected: Cut them.
func (p *Proxy) Refuse(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = on
}

// Accepted is how many connections the proxy has forwarded (the target was
// dialed and answered).
func (p *Proxy) Accepted() int64 { return p.accepted.Load() }

// Refused is how many connections the proxy closed at once: refused, or
// the target could not be reached.
func (p *Proxy) Refused() int64 { return p.refused.Load() }

// Active is how many forwarded connections are open now.
func (p *Proxy) Active() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// BytesUp is how many bytes the proxy has forwarded from clients to the
// target; BytesDown from the target to clients. A byte is counted when the
// proxy decides to write it, just before the write.
func (p *Proxy) BytesUp() int64   { return p.bytesUp.Load() }
func (p *Proxy) BytesDown() int64 { return p.bytesDown.Load() }

// Close stops listening, closes every connection and waits for the
// proxy's goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.stop()
	err := p.ln.Close()
	p.Cut()
	p.wg.Wait()
	return err
}

func (p *Proxy) String() string {
	return "faultproxy " + p.Addr() + " -> " + p.target + " (" + strconv.FormatInt(p.Accepted(), 10) + " connections)"
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			time.Sleep(10 * time.Millisecond) // e.g. too many open files: try again
			continue
		}
		p.mu.Lock()
		refuse, closed := p.refuse, p.closed
		p.mu.Unlock()
		if refuse || closed {
			p.refused.Add(1)
			reset(c)
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// reset closes a connection with a RST rather than a FIN, as a host that
// refuses the connection does.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// pair is one forwarded connection.
type pair struct {
	p            *Proxy
	client, upst net.Conn
	once         sync.Once
	done         chan struct{}
	isClosed     bool // under p.mu
}

func (c *pair) close() {
	c.once.Do(func() {
		c.p.mu.Lock()
		c.isClosed = true
		delete(c.p.conns, c)
		c.p.cond.Broadcast()
		c.p.mu.Unlock()
		close(c.done)
		c.client.Close()
		c.upst.Close()
	})
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	ctx, cancel := context.WithTimeout(p.ctx, DialTimeout) // closing the proxy aborts the dial
	var d net.Dialer
	upst, err := d.DialContext(ctx, "tcp", p.target)
	cancel()
	if err != nil {
		p.refused.Add(1)
		reset(client)
		return
	}
	c := &pair{p: p, client: client, upst: upst, done: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		client.Close()
		upst.Close()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	p.accepted.Add(1)
	p.wg.Add(2)
	go p.pipe(c, upst, client, &p.bytesUp)
	go p.pipe(c, client, upst, &p.bytesDown)
}

// pipe copies src to dst until either side fails, honoring stalls and the
// rate limit. The pair closes when either direction ends (the protocols
// this proxies do not half-close).
func (p *Proxy) pipe(c *pair, dst, src net.Conn, counter *atomic.Int64) {
	defer p.wg.Done()
	defer c.close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf[:p.chunk(len(buf))])
		if n > 0 {
			rate, ok := p.gate(c, n, counter)
			if !ok {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			if rate > 0 {
				t := time.NewTimer(time.Duration(int64(n) * int64(time.Second) / rate))
				select {
				case <-t.C:
				case <-c.done:
					t.Stop()
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// chunk is how many bytes one read may take: with a rate limit, a
// twentieth of a second's worth, so the pace is smooth.
func (p *Proxy) chunk(size int) int {
	p.mu.Lock()
	rate := p.rate
	p.mu.Unlock()
	if rate > 0 {
		size = int(min(int64(size), max(rate/20, 1)))
	}
	return size
}

// gate waits while the proxy is stalled, then counts n bytes as forwarded.
// It returns the rate limit to pace by, and false if the connection closed
// meanwhile.
func (p *Proxy) gate(c *pair, n int, counter *atomic.Int64) (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.stalled && !c.isClosed {
		p.cond.Wait()
	}
	if c.isClosed {
		return 0, false
	}
	counter.Add(int64(n))
	return p.rate, true
}
