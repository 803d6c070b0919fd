package integration

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/server"
)

// Limits: past max_sessions, max_streams_per_user or max_statement_bytes a
// client gets a MySQL error and the server goes on; a client that connects
// and does not log in is dropped after handshake_timeout.

func TestMaxSessions(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.MaxSessions = 3
	s := Start(t, cfg)
	open := func() (*sql.DB, error) {
		h, err := sql.Open("mysql", s.DSN("root", "", "", nil))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		h.SetMaxOpenConns(1)
		return h, h.Ping()
	}
	var pools []*sql.DB
	for i := 0; i < 3; i++ {
		h, err := open()
		if err != nil {
			t.Fatalf("session %d: %v", i+1, err)
		}
		pools = append(pools, h)
	}
	_, err := open()
	wantErr(t, "a 4th session", err, 1040, "Too many connections", "max_sessions")
	stillUsable(t, pools[1])
	pools[0].Close()
	// The slot is free once the server has seen the connection go.
	deadline := time.Now().Add(wait)
	for {
		h, err := open()
		if err == nil {
			stillUsable(t, h)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a session after one of 3 closed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMaxStreamsPerUser(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.MaxStreamsPerUser = 2
	cfg.Users = []server.User{
		{Name: "app", Password: "pw", Keyspaces: []string{"commerce"}},
		{Name: "other", Password: "pw", Keyspaces: []string{"commerce"}},
	}
	s := Start(t, cfg)
	session := func(user string) (*sql.Conn, int64) {
		c := mustUser(t, s, user, "pw", "commerce")
		mustExec(t, c, "SET WORKLOAD=OLAP")
		return c, connID(t, c)
	}
	watcher, _ := session("app")
	a, aID := session("app")
	b, bID := session("app")
	la := startLive(t, a, "VSTREAM * FROM corder WHERE pos > 'current'")
	lb := startLive(t, b, "SELECT * FROM vstream('commerce.corder', 'current')")
	waitQuery(t, watcher, aID, "VSTREAM")
	waitQuery(t, watcher, bID, "vstream(")

	c, _ := session("app")
	for _, q := range []string{"VSTREAM * FROM corder", "SELECT * FROM vstream('commerce.corder')"} {
		wantErr(t, q, queryErr(t, c, q), 1226, "'app'", "max_streams_per_user", "2")
		stillUsable(t, c)
	}
	// LIMIT 0 opens no stream, and another user has its own count.
	equalLines(t, "LIMIT 0", queryLines(t, c, "VSTREAM * FROM corder LIMIT 0"))
	o, _ := session("other")
	equalLines(t, "another user", queryLines(t, o, "VSTREAM * FROM corder WHERE pos <= 'current'"))

	// A stream that ends gives its slot back: after KILL QUERY ...
	mustExec(t, watcher, fmt.Sprintf("KILL QUERY %d", aID))
	if _, err := la.waitEnd(t); err != nil {
		t.Fatalf("killed stream: %v", err)
	}
	equalLines(t, "after KILL QUERY", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"))
	// ... and after its client went away.
	cID := connID(t, c)
	lc := startLive(t, c, "VSTREAM * FROM corder WHERE pos > 'current'")
	waitQuery(t, watcher, cID, "VSTREAM")
	d, _ := session("app")
	wantErr(t, "a third stream", queryErr(t, d, "VSTREAM * FROM corder"), 1226)
	lb.stop()
	deadline := time.Now().Add(wait)
	for {
		_, err := d.ExecContext(context.Background(), "VSTREAM * FROM corder WHERE pos <= 'current'")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a stream after the client of another went away: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	lc.stop()
}

// waitQuery waits until connection id runs a statement containing part
// (as its user's SHOW FULL PROCESSLIST shows it).
func waitQuery(t *testing.T, c *sql.Conn, id int64, part string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		_, rows := query(t, c, "SHOW FULL PROCESSLIST")
		for _, r := range rows {
			if r[0] == fmt.Sprint(id) && strings.Contains(r[7], part) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection %d does not run %q: %q", id, part, rows)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMaxStatementBytes(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.MaxStatementBytes = 1000
	s := Start(t, cfg)
	c := s.Conn(t, "commerce")
	big := "SELECT '" + strings.Repeat("x", 1000) + "'"
	wantErr(t, "a statement of 1009 bytes", queryErr(t, c, big), 1153, "max_statement_bytes", "1009", "1000")
	stillUsable(t, c)
	_, err := c.PrepareContext(context.Background(), big)
	wantErr(t, "preparing it", err, 1153)
	stillUsable(t, c)
	equalLines(t, "a statement of 1000 bytes", queryLines(t, c, "SELECT '"+strings.Repeat("x", 1000-9)+"'"), strings.Repeat("x", 1000-9))
}

func TestHandshakeTimeout(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.HandshakeTimeout = 300 * time.Millisecond
	s := Start(t, cfg)
	raw, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	start := time.Now()
	raw.SetReadDeadline(time.Now().Add(wait))
	// The server's greeting, then nothing from the client: the server
	// hangs up.
	if _, err := io.Copy(io.Discard, raw); err != nil {
		t.Fatalf("reading until the server hangs up: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("a silent client was dropped after %s, want about 300ms", d)
	}
	// A client that logs in keeps its connection past the timeout.
	c := s.Conn(t, "")
	time.Sleep(500 * time.Millisecond)
	stillUsable(t, c)
}
