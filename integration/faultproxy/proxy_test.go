package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// wait is how long a test waits for something that must happen: a generous
// deadline, not a timing assertion.
const wait = 10 * time.Second

// target is a test server: it echoes what it reads, and first sends greet
// bytes if set.
type target struct {
	ln       net.Listener
	greet    []byte
	accepted atomic.Int64
	mu       sync.Mutex
	closed   int // connections whose client side went away
	conns    []net.Conn
}

func startTarget(t *testing.T, greet []byte) *target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{ln: ln, greet: greet}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		tg.mu.Lock()
		for _, c := range tg.conns {
			c.Close()
		}
		tg.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tg.accepted.Add(1)
			tg.mu.Lock()
			tg.conns = append(tg.conns, c)
			tg.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if len(tg.greet) > 0 {
					if _, err := c.Write(tg.greet); err != nil {
						return
					}
				}
				io.Copy(c, c)
				tg.mu.Lock()
				tg.closed++
				tg.mu.Unlock()
			}()
		}
	}()
	return tg
}

func (tg *target) closedConns() int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.closed
}

func dial(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads the echo.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(wait))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(got) != msg {
		t.Fatalf("echo: got %q, want %q", got, msg)
	}
}

// poll waits until cond holds.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ended checks that the connection was closed by the proxy: a read fails
// with EOF or a reset, not a timeout.
func ended(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	_, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection is still open: %v", err)
	}
}

func TestProxyForwards(t *testing.T) {
	tg := startTarget(t, nil)
	p := Start(t, tg.ln.Addr().String())
	if p.Target() != tg.ln.Addr().String() || p.Port() == 0 {
		t.Fatalf("Target %q Port %d", p.Target(), p.Port())
	}
	c := dial(t, p)
	roundTrip(t, c, "hello")
	roundTrip(t, c, "again")
	if p.Accepted() != 1 || p.Active() != 1 || tg.accepted.Load() != 1 {
		t.Fatalf("Accepted %d Active %d target accepted %d, want 1 1 1", p.Accepted(), p.Active(), tg.accepted.Load())
	}
	if p.BytesUp() != 10 || p.BytesDown() != 10 {
		t.Fatalf("BytesUp %d BytesDown %d, want 10 10", p.BytesUp(), p.BytesDown())
	}
	// A client that goes away closes the target side too.
	c.Close()
	poll(t, "the target sees the client go", func() bool { return tg.closedConns() == 1 })
	poll(t, "no active connection", func() bool { return p.Active() == 0 })

	// Large transfers pass unchanged.
	c = dial(t, p)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	go func() { c.Write(big) }()
	got := make([]byte, len(big))
	c.SetReadDeadline(time.Now().Add(wait))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("1 MiB echo: err %v, equal %v", err, bytes.Equal(got, big))
	}
}

func TestProxyCut(t *testing.T) {
	tg := startTarget(t, nil)
	p := Start(t, tg.ln.Addr().String())
	a, b := dial(t, p), dial(t, p)
	roundTrip(t, a, "a")
	roundTrip(t, b, "b")
	if n := p.Cut(); n != 2 {
		t.Fatalf("Cut closed %d connections, want 2", n)
	}
	ended(t, a)
	ended(t, b)
	poll(t, "the target sees both connections closed", func() bool { return tg.closedConns() == 2 })
	if p.Active() != 0 {
		t.Fatalf("Active %d after Cut", p.Active())
	}
	// New connections work.
	c := dial(t, p)
	roundTrip(t, c, "after the cut")
	if p.Accepted() != 3 || p.Active() != 1 {
		t.Fatalf("Accepted %d Active %d, want 3 1", p.Accepted(), p.Active())
	}
	if n := p.Cut(); n != 1 {
		t.Fatalf("second Cut closed %d, want 1", n)
	}
	if n := p.Cut(); n != 0 {
		t.Fatalf("Cut with no connections closed %d", n)
	}
}

func TestProxyStall(t *testing.T) {
	tg := startTarget(t, nil)
	p := Start(t, tg.ln.Addr().String())
	c := dial(t, p)
	roundTrip(t, c, "before")
	up, down := p.BytesUp(), p.BytesDown()

	p.Stall(0)
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	// Nothing comes back while stalled, and the connection stays open.
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 4)
	n, err := c.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read while stalled: %d bytes, %v; want a timeout", n, err)
	}
	// A connection made while stalled is forwarded but gets no bytes.
	c2 := dial(t, p)
	poll(t, "the new connection is forwarded", func() bool { return p.Accepted() == 2 })
	c2.Write([]byte("two"))
	if p.BytesUp() != up || p.BytesDown() != down || p.Active() != 2 {
		t.Fatalf("while stalled: BytesUp %d (was %d) BytesDown %d (was %d) Active %d", p.BytesUp(), up, p.BytesDown(), down, p.Active())
	}

	p.Resume()
	c.SetReadDeadline(time.Now().Add(wait))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "held" {
		t.Fatalf("after Resume: %q, %v", buf, err)
	}
	got := make([]byte, 3)
	c2.SetReadDeadline(time.Now().Add(wait))
	if _, err := io.ReadFull(c2, got); err != nil || string(got) != "two" {
		t.Fatalf("second connection after Resume: %q, %v", got, err)
	}

	// A timed stall ends by itself; a Resume of an earlier stall does not
	// end a later one early.
	p.Stall(200 * time.Millisecond)
	roundTrip(t, c, "timed")
	p.Stall(time.Hour)
	p.Resume()
	roundTrip(t, c, "resumed")

	// Cut works while stalled (a writer held at the gate lets go).
	p.Stall(0)
	c.Write([]byte("x"))
	if n := p.Cut(); n != 2 {
		t.Fatalf("Cut while stalled closed %d, want 2", n)
	}
	ended(t, c)
	p.Resume()
}

func TestProxySlow(t *testing.T) {
	const size = 32 << 10
	tg := startTarget(t, bytes.Repeat([]byte{'z'}, size))
	p := Start(t, tg.ln.Addr().String())
	const rate = 64 << 10
	p.Slow(rate)
	start := time.Now()
	c := dial(t, p)
	got := make([]byte, size)
	c.SetReadDeadline(time.Now().Add(wait))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	// The pace is a lower bound: 32 KiB at 64 KiB/s takes half a second;
	// allow for the first chunk going at once.
	if el := time.Since(start); el < 350*time.Millisecond {
		t.Fatalf("%d bytes at %d B/s took %s", size, rate, el)
	}
	// Unlimited again.
	p.Slow(0)
	c2 := dial(t, p)
	c2.SetReadDeadline(time.Now().Add(wait))
	if _, err := io.ReadFull(c2, got); err != nil {
		t.Fatal(err)
	}
	if p.BytesDown() != 2*size {
		t.Fatalf("BytesDown %d, want %d", p.BytesDown(), 2*size)
	}
}

func TestProxyRefuse(t *testing.T) {
	tg := startTarget(t, nil)
	p := Start(t, tg.ln.Addr().String())
	kept := dial(t, p)
	roundTrip(t, kept, "kept")
	p.Refuse(true)
	for i := 0; i < 3; i++ {
		c, err := net.DialTimeout("tcp", p.Addr(), wait)
		if err == nil {
			ended(t, c)
			c.Close()
		}
	}
	if p.Refused() != 3 || p.Accepted() != 1 || tg.accepted.Load() != 1 {
		t.Fatalf("Refused %d Accepted %d target accepted %d, want 3 1 1", p.Refused(), p.Accepted(), tg.accepted.Load())
	}
	// Current connections are not affected.
	roundTrip(t, kept, "still")
	p.Refuse(false)
	roundTrip(t, dial(t, p), "welcome back")
	if p.Accepted() != 2 {
		t.Fatalf("Accepted %d, want 2", p.Accepted())
	}
}

func TestProxyTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := Start(t, addr)
	// The client's connect may already see the reset.
	if c, err := net.DialTimeout("tcp", p.Addr(), wait); err == nil {
		ended(t, c)
		c.Close()
	}
	poll(t, "counted as refused", func() bool { return p.Refused() == 1 })
	if p.Accepted() != 0 || p.Active() != 0 {
		t.Fatalf("Accepted %d Active %d", p.Accepted(), p.Active())
	}
}

func TestProxyClose(t *testing.T) {
	tg := startTarget(t, nil)
	p, err := New(tg.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p)
	roundTrip(t, c, "x")
	p.Stall(0) // Close must not wait for a stall to end
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	ended(t, c)
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Fatal("the proxy still accepts connections after Close")
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
