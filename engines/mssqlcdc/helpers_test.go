package mssqlcdc

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
)

// fixture is a simulated SQL Server (fake_server_test.go) with an admin
// connection; its capture job runs only when the test says (capture), or
// on a timer (agent).
type fixture struct {
	t     testing.TB
	srv   *fakeServer
	admin *sql.DB
}

func newFixture(t testing.TB) *fixture {
	return newFixtureWith(t, defaultFakeOptions())
}

func newFixtureWith(t testing.TB, opts fakeOptions) *fixture {
	srv := newFakeServer(opts)
	db := srv.open("sa")
	t.Cleanup(func() {
		srv.stopAgent()
		db.Close()
	})
	return &fixture{t: t, srv: srv, admin: db}
}

func (f *fixture) exec(stmts ...string) {
	f.t.Helper()
	for _, q := range stmts {
		if _, err := f.admin.Exec(q); err != nil {
			f.t.Fatalf("%s: %v", q, err)
		}
	}
}

// tx runs statements in one transaction.
func (f *fixture) tx(stmts ...string) {
	f.t.Helper()
	tx, err := f.admin.Begin()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := tx.Exec(q); err != nil {
			tx.Rollback()
			f.t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		f.t.Fatal(err)
	}
}

// table creates a table and enables CDC on it.
func (f *fixture) table(ddl string) {
	f.t.Helper()
	f.exec(ddl)
	name := strings.Fields(ddl)[2]
	name = name[:strings.IndexByte(name+"(", '(')]
	f.exec(fmt.Sprintf("EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'%s', @role_name = NULL", name))
}

func (f *fixture) capture() { f.srv.capture() }

// source opens the engine on the fake as user, with extra URL parameters.
func (f *fixture) source(user, params string) *Source {
	f.t.Helper()
	q, err := url.ParseQuery("database=shop&poll=5ms")
	if err != nil {
		f.t.Fatal(err)
	}
	extra, err := url.ParseQuery(strings.TrimPrefix(params, "&"))
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range extra {
		q[k] = v
	}
	u := &url.URL{Scheme: "sqlserver", User: url.UserPassword(user, "secret"), Host: "fake:1433", RawQuery: q.Encode()}
	cfg, err := ParseURL(u)
	if err != nil {
		f.t.Fatal(err)
	}
	src := newSource("ks", cfg, f.srv.open(user), "secret", Options{})
	f.t.Cleanup(func() { src.Close() })
	return src
}

// collector runs a Stream and keeps what it sends.
type collector struct {
	mu      sync.Mutex
	events  []engines.Event
	batches int
	cancel  context.CancelFunc
	done    chan error
	err     error
}

func (f *fixture) stream(src *Source, from engines.Position, tables ...string) *collector {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{cancel: cancel, done: make(chan error, 1)}
	first := make(chan struct{})
	go func() {
		once := sync.Once{}
		err := src.Stream(ctx, from, tables, func(evs []engines.Event) error {
			once.Do(func() { close(first) })
			c.mu.Lock()
			defer c.mu.Unlock()
			c.batches++
			c.events = append(c.events, evs...)
			return nil
		})
		once.Do(func() { close(first) })
		c.done <- err
	}()
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		f.t.Fatal("the stream did not start")
	}
	f.t.Cleanup(c.stop)
	return c
}

func (c *collector) stop() {
	c.cancel()
	select {
	case err := <-c.done:
		c.err = err
	case <-time.After(10 * time.Second):
	}
}

// ended returns the stream's error if it ended within d.
func (c *collector) ended(d time.Duration) (error, bool) {
	select {
	case err := <-c.done:
		c.err = err
		c.done <- err
		return err, true
	case <-time.After(d):
		return nil, false
	}
}

// until waits for the events to satisfy ok and returns them.
func (c *collector) until(t testing.TB, what string, ok func([]engines.Event) bool) []engines.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		evs := append([]engines.Event(nil), c.events...)
		c.mu.Unlock()
		if ok(evs) {
			return evs
		}
		if err, done := c.ended(0); done {
			t.Fatalf("waiting for %s: the stream ended: %v\nevents: %s", what, err, show(evs))
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: timed out\nevents: %s", what, show(evs))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// reached waits for a Commit at or after pos.
func (c *collector) reached(t testing.TB, pos engines.Position) []engines.Event {
	t.Helper()
	want, err := positionLSN(pos)
	if err != nil {
		t.Fatal(err)
	}
	return c.until(t, "position "+string(pos), func(evs []engines.Event) bool {
		for _, e := range evs {
			if e.Kind == engines.Commit {
				if l, err := positionLSN(e.Pos); err == nil && l.compare(want) >= 0 {
					return true
				}
			}
		}
		return false
	})
}

// rowsOnly renders the row changes as "op values": "+ 1 a", "* 1 b (was 1 a)", "- 1 b".
func rowsOnly(evs []engines.Event) []string {
	var out []string
	for _, e := range evs {
		if e.Kind == engines.RowChange {
			out = append(out, showEvent(e))
		}
	}
	return out
}

func showEvent(e engines.Event) string {
	switch {
	case e.Kind == engines.Commit:
		return "commit " + string(e.Pos)
	case e.Before == nil:
		return "+ " + showRow(e.After)
	case e.After == nil:
		return "- " + showRow(e.Before)
	}
	return "* " + showRow(e.After) + " (was " + showRow(e.Before) + ")"
}

func showRow(r []any) string {
	parts := make([]string, len(r))
	for i, v := range r {
		switch x := v.(type) {
		case nil:
			parts[i] = "NULL"
		case []byte:
			parts[i] = fmt.Sprintf("0x%X", x)
		case time.Time:
			parts[i] = x.Format("2006-01-02T15:04:05.999999999Z07:00")
		default:
			parts[i] = fmt.Sprint(x)
		}
	}
	return strings.Join(parts, " ")
}

func show(evs []engines.Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString("\n  " + showEvent(e))
	}
	return b.String()
}

func wantErr(t testing.TB, err, kind error, fix string) {
	t.Helper()
	if !errors.Is(err, kind) || !strings.Contains(err.Error(), fix) {
		t.Fatalf("got %v, want %v naming %q", err, kind, fix)
	}
}
