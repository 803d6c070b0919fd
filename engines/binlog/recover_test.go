package binlog_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/binlog"
	"github.com/vstreamd/vstreamd/integration/faultproxy"
	"github.com/vstreamd/vstreamd/integration/testdb"
	"github.com/vstreamd/vstreamd/vstream"
)

// The engine's side of recovery: a broken replication connection is
// re-established from the last transaction sent, and the rows of a
// transaction already sent are not sent again; when that is impossible the
// stream fails with the position it last sent.

func TestRecoverReconnectParameter(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  time.Duration
		bad   bool
	}{
		{"", binlog.DefaultReconnect, false},
		{"reconnect=2s", 2 * time.Second, false},
		{"reconnect=0", 0, false},
		{"reconnect=1m30s&heartbeat=500ms", 90 * time.Second, false},
		{"reconnect=-1s", 0, true},
		{"reconnect=soon", 0, true},
	} {
		u, _ := url.Parse("mysql://u:secret@h:3306/db?" + tc.query)
		cfg, err := binlog.ParseURL(u)
		switch {
		case tc.bad && err == nil:
			t.Errorf("%q: no error", tc.query)
		case tc.bad && (!errors.Is(err, engines.ErrMisconfigured) || !strings.Contains(err.Error(), "reconnect=") || strings.Contains(err.Error(), "secret")):
			t.Errorf("%q: error %v", tc.query, err)
		case !tc.bad && err != nil:
			t.Errorf("%q: %v", tc.query, err)
		case !tc.bad && cfg.Reconnect != tc.want:
			t.Errorf("%q: Reconnect %s, want %s", tc.query, cfg.Reconnect, tc.want)
		}
	}
}

// recoverEnv is a MariaDB and a source that reaches it through a fault
// proxy.
type recoverEnv struct {
	m     *testdb.MariaDB
	db    *sql.DB
	proxy *faultproxy.Proxy
	src   *binlog.Source
}

func startRecoverEnv(t *testing.T, params string) *recoverEnv {
	t.Helper()
	m := testdb.StartMariaDB(t, testdb.MariaDBOptions{Extra: []string{"--binlog-row-metadata=FULL"}})
	e := &recoverEnv{m: m, db: m.Admin(t, "ks")}
	if _, err := e.db.Exec("CREATE TABLE t (id BIGINT PRIMARY KEY, s VARCHAR(64))"); err != nil {
		t.Fatal(err)
	}
	e.proxy = faultproxy.Start(t, m.Addr())
	u := &url.URL{Scheme: "mysql", User: url.UserPassword(testdb.ReplUser, testdb.ReplPass), Host: e.proxy.Addr(), Path: "/ks", RawQuery: params}
	src, err := binlog.Open(context.Background(), "ks", u, binlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	e.src = src
	return e
}

func (e *recoverEnv) exec(t *testing.T, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := e.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// collector runs a Stream and keeps what it sends.
type collector struct {
	mu      sync.Mutex
	events  []engines.Event
	batches int
	empties int
	done    chan struct{}
	err     error
	cancel  context.CancelFunc
}

func (e *recoverEnv) stream(t *testing.T, from engines.Position) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(c.done)
		c.err = e.src.Stream(ctx, from, []string{"t"}, func(evs []engines.Event) error {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.batches++
			if len(evs) == 0 {
				c.empties++
			}
			c.events = append(c.events, evs...)
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-c.done
	})
	return c
}

func (c *collector) snapshot() []engines.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]engines.Event(nil), c.events...)
}

// waitFor polls until cond holds for the events so far.
func (c *collector) waitFor(t *testing.T, what string, cond func([]engines.Event) bool) []engines.Event {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs := c.snapshot()
		if cond(evs) {
			return evs
		}
		select {
		case <-c.done:
			t.Fatalf("%s: the stream ended: %v", what, c.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 30 s (%d events)", what, len(evs))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func rowsOf(evs []engines.Event) int {
	n := 0
	for _, ev := range evs {
		if ev.Kind == engines.RowChange {
			n++
		}
	}
	return n
}

// lastCommit is the position of the last Commit event.
func lastCommit(evs []engines.Event) engines.Position {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind == engines.Commit {
			return evs[i].Pos
		}
	}
	return ""
}

// TestRecoverStreamCutMidTransaction: the proxy cuts the replication
// connection while a large transaction's rows flow (after at least 500 of
// them were sent, before its commit passed the proxy): the stream sends
// the transaction's rows each once, in order, then its Commit; the empty
// batch that says the stream is established comes once only.
func TestRecoverStreamCutMidTransaction(t *testing.T) {
	t.Parallel()
	e := startRecoverEnv(t, "")
	from, err := e.src.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := e.stream(t, from)
	e.exec(t, "INSERT INTO t VALUES (0, 'before')")
	c.waitFor(t, "the first transaction", func(evs []engines.Event) bool { return lastCommit(evs) != "" })

	const n = 5000
	e.proxy.Slow(32 << 10)
	down0 := e.proxy.BytesDown()
	var vals []string
	for i := 1; i <= n; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 'row %06d of a large transaction')", i, i))
	}
	var size int64
	{
		var f0, f1 string
		var p0, p1 int64
		var ig [2]sql.NullString
		e.db.QueryRow("SHOW MASTER STATUS").Scan(&f0, &p0, &ig[0], &ig[1])
		e.exec(t, "INSERT INTO t VALUES "+strings.Join(vals, ", "))
		e.db.QueryRow("SHOW MASTER STATUS").Scan(&f1, &p1, &ig[0], &ig[1])
		if f0 != f1 || p1 <= p0 {
			t.Fatalf("binlog moved from %s:%d to %s:%d", f0, p0, f1, p1)
		}
		size = p1 - p0
	}
	c.waitFor(t, "500 rows of the transaction", func(evs []engines.Event) bool { return rowsOf(evs) >= 1+500 })
	e.proxy.Stall(0)
	if fwd := e.proxy.BytesDown() - down0; fwd >= size {
		t.Fatalf("precondition: %d bytes passed the proxy, the transaction has %d: its commit may have passed", fwd, size)
	}
	e.proxy.Cut()
	e.proxy.Resume()
	e.proxy.Slow(0)
	e.exec(t, "INSERT INTO t VALUES (-1, 'after')")
	evs := c.waitFor(t, "the transaction after", func(evs []engines.Event) bool {
		for i, ev := range evs {
			if ev.Kind == engines.RowChange && ev.After != nil && fmt.Sprint(ev.After[0]) == "-1" {
				return i+1 < len(evs) // and its commit
			}
		}
		return false
	})
	// Row 0, its commit, the n rows, their commit, row -1, its commit.
	var got []string
	for _, ev := range evs {
		switch ev.Kind {
		case engines.RowChange:
			got = append(got, fmt.Sprint(ev.After[0]))
		case engines.Commit:
			got = append(got, "commit")
		}
	}
	want := []string{"0", "commit"}
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprint(i))
	}
	want = append(want, "commit", "-1", "commit")
	if strings.Join(got, ",") != strings.Join(want, ",") {
		dup := len(got) - len(want)
		t.Fatalf("events after the cut: %d (%+d) – first difference at %d", len(got), dup, firstDiff(got, want))
	}
	c.mu.Lock()
	empties := c.empties
	c.mu.Unlock()
	if empties != 1 {
		t.Fatalf("the stream sent %d empty batches, want 1 (established once)", empties)
	}
	if e.proxy.Accepted() < 2 {
		t.Fatalf("no reconnection through the proxy")
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestRecoverStreamOutage: with reconnect=1s, a source unreachable for
// longer fails the stream with ErrSourceUnavailable at the position of
// the last Commit sent; a new stream from there, once the source is back,
// sends exactly the transactions after it.
func TestRecoverStreamOutage(t *testing.T) {
	t.Parallel()
	e := startRecoverEnv(t, "reconnect=1s")
	from, err := e.src.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := e.stream(t, from)
	e.exec(t, "INSERT INTO t VALUES (1, 'a')", "INSERT INTO t VALUES (2, 'b')")
	evs := c.waitFor(t, "two transactions", func(evs []engines.Event) bool { return rowsOf(evs) == 2 && evs[len(evs)-1].Kind == engines.Commit })
	last := lastCommit(evs)

	e.proxy.Refuse(true)
	e.proxy.Cut()
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the stream still runs 30 s into an outage, with reconnect=1s")
	}
	var pe *engines.PositionError
	if !errors.Is(c.err, engines.ErrSourceUnavailable) || !errors.As(c.err, &pe) || pe.Pos != last {
		t.Fatalf("the stream ended with %v; want ErrSourceUnavailable at %s", c.err, last)
	}
	if !strings.Contains(c.err.Error(), "reconnecting for 1s did not help") {
		t.Fatalf("error %q does not say it reconnected", c.err)
	}

	e.exec(t, "INSERT INTO t VALUES (3, 'c')")
	e.proxy.Refuse(false)
	c2 := e.stream(t, pe.Pos)
	evs = c2.waitFor(t, "the change after the outage", func(evs []engines.Event) bool { return rowsOf(evs) >= 1 })
	for _, ev := range evs {
		if ev.Kind == engines.RowChange && fmt.Sprint(ev.After[0]) != "3" {
			t.Fatalf("resumed stream sent %v, want only row 3", ev.After)
		}
	}
}

// TestRecoverStreamPurged: the binary log after the stream's position is
// purged while the stream is cut off: once the source is back the stream
// fails with ErrPositionUnavailable at the last position it sent.
func TestRecoverStreamPurged(t *testing.T) {
	t.Parallel()
	e := startRecoverEnv(t, "")
	from, err := e.src.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := e.stream(t, from)
	e.exec(t, "INSERT INTO t VALUES (1, 'a')")
	evs := c.waitFor(t, "a transaction", func(evs []engines.Event) bool { return lastCommit(evs) != "" })
	last := lastCommit(evs)
	e.proxy.Refuse(true)
	e.proxy.Cut()
	e.exec(t, "INSERT INTO t VALUES (2, 'b')")
	purge(t, e.db)
	e.proxy.Refuse(false)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the stream still runs 30 s after its position was purged")
	}
	var pe *engines.PositionError
	if !errors.Is(c.err, engines.ErrPositionUnavailable) || !errors.As(c.err, &pe) || pe.Pos != last {
		t.Fatalf("the stream ended with %v; want ErrPositionUnavailable at %s", c.err, last)
	}
}

// The copy phase retries its chunks within the reconnect window.
var _ vstream.Reconnector = (*binlog.Source)(nil)
