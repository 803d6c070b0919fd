package integration

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/embedded"
	"github.com/vstreamd/vstreamd/server/sqlerr"
)

// A panic inside one stream ends that statement with an error (a warning
// naming the position to resume from, when rows were sent) and leaves the
// server and the other streams running. The panics come from an engine
// wrapped in this test ("panicky:"): an embedded keyspace whose copy, change
// stream or values panic when a row's sku says so.

// panicky is an embedded keyspace (written through vstreamd as usual)
// whose streams panic at marked rows:
//
//	sku 'boom-copy'    the copy's scan panics reading it
//	sku 'boom-stream'  the change stream panics sending it
//	sku 'boom-value'   its sku is a value whose String method panics
type panicky struct {
	*embedded.DB
}

type panicValue struct{}

func (panicValue) String() string { panic("a value that cannot be shown") }

func marked(row []any, mark string) bool {
	for _, v := range row {
		if b, ok := v.([]byte); ok && string(b) == mark {
			return true
		}
		if s, ok := v.(string); ok && s == mark {
			return true
		}
	}
	return false
}

func (p panicky) Snapshot(ctx context.Context, table string) (engines.Snapshot, error) {
	snap, err := p.DB.Snapshot(ctx, table)
	return panickySnapshot{snap}, err
}

type panickySnapshot struct{ engines.Snapshot }

func (s panickySnapshot) Scan(ctx context.Context, after []any, limit int, send func([]any) error) error {
	return s.Snapshot.Scan(ctx, after, limit, func(row []any) error {
		if marked(row, "boom-copy") {
			panic("injected: a panic in the copy")
		}
		return send(withPanicValues(row))
	})
}

func withPanicValues(row []any) []any {
	if !marked(row, "boom-value") {
		return row
	}
	out := append([]any(nil), row...)
	for i, v := range out {
		if b, ok := v.([]byte); ok && string(b) == "boom-value" {
			out[i] = panicValue{}
		}
	}
	return out
}

func (p panicky) Stream(ctx context.Context, from engines.Position, tables []string, send func([]engines.Event) error) error {
	return p.DB.Stream(ctx, from, tables, func(evs []engines.Event) error {
		for i, e := range evs {
			if marked(e.After, "boom-stream") {
				panic("injected: a panic in the change stream")
			}
			evs[i].After = withPanicValues(e.After)
		}
		return send(evs)
	})
}

// logBuffer is a slog handler's output, safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestPanicEndsOneStream(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.Keyspaces = append(cfg.Keyspaces, catalog.KeyspaceConfig{Name: "boom", Source: "panicky:", InitSQL: DemoSchema})
	cfg.Engines = map[string]catalog.Opener{
		"panicky": func(_ context.Context, keyspace string, _ *url.URL) (engines.Source, error) {
			return panicky{embedded.New(keyspace, embedded.Options{SQLError: sqlerr.Of})}, nil
		},
	}
	cfg.ChunkRows = 2 // the copy of 6 rows reads 3 chunks
	logs := &logBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	s := Start(t, cfg)
	w := s.Conn(t, "boom")
	seedOrders(t, w, 1, 5)

	// A stream of another keyspace runs throughout.
	other := olap(t, s, "commerce")
	seedOrders(t, s.Conn(t, "commerce"), 1, 3)
	bystander := startLive(t, other, "VSTREAM * FROM corder")
	bystander.waitRows(t, 3)

	wantPanicWarning := func(t *testing.T, c querier, what, q string, rows int) {
		t.Helper()
		ls := startLive(t, c, q)
		got, err := ls.waitEnd(t)
		if err != nil {
			t.Fatalf("%s: the statement ended with %v, want a clean end and a warning", what, err)
		}
		if len(got) != rows {
			t.Fatalf("%s: %d rows before the panic, want %d: %q", what, len(got), rows, got)
		}
		_, ws := query(t, c, "SHOW WARNINGS")
		if len(ws) != 1 || ws[0][1] != "1105" || !strings.Contains(ws[0][2], "internal error") || !strings.Contains(ws[0][2], "injected") {
			t.Fatalf("%s: SHOW WARNINGS %q, want one warning 1105 about the internal error", what, ws)
		}
		if m := resumeHint.FindStringSubmatch(ws[0][2]); m == nil {
			t.Fatalf("%s: warning %q does not name the position to resume from", what, ws[0][2])
		}
		stillUsable(t, c)
	}

	t.Run("copy", func(t *testing.T) {
		mustExec(t, w, "INSERT INTO corder (order_id, customer_id, sku, price) VALUES (6, 1, 'boom-copy', 60)")
		defer mustExec(t, w, "DELETE FROM corder WHERE order_id = 6")
		c := olap(t, s, "boom")
		// The third chunk panics: after the 4 rows of the first two.
		wantPanicWarning(t, c, "VSTREAM", "VSTREAM * FROM corder", 4)
		wantPanicWarning(t, c, "vstream()", "SELECT op, order_id FROM vstream('boom.corder', '')", 4)
		wantPanicWarning(t, c, "VSTREAM with a filter", "VSTREAM * FROM corder WHERE pos > '' AND price > 0", 4)
		// The first chunk panics: an error before any row.
		mustExec(t, w, "INSERT INTO customer (customer_id, email) VALUES (1, 'boom-copy')")
		for _, q := range []string{"VSTREAM * FROM customer", "SELECT * FROM vstream('boom.customer')"} {
			wantErr(t, q, queryErr(t, c, q), 1105, "internal error", "injected: a panic in the copy")
			stillUsable(t, c)
		}
	})
	t.Run("change stream", func(t *testing.T) {
		c := olap(t, s, "boom")
		ls := startLive(t, c, "VSTREAM * FROM corder WHERE pos > 'current'")
		mustExec(t, w, "INSERT INTO corder (order_id, customer_id, sku, price) VALUES (7, 1, 'fine', 70)")
		ls.waitRows(t, 1)
		mustExec(t, w, "INSERT INTO corder (order_id, customer_id, sku, price) VALUES (8, 1, 'boom-stream', 80)")
		got, err := ls.waitEnd(t)
		if err != nil || len(got) != 1 {
			t.Fatalf("stream: %q, %v; want one row and a clean end", got, err)
		}
		_, ws := query(t, c, "SHOW WARNINGS")
		if len(ws) != 1 || ws[0][1] != "1105" || !strings.Contains(ws[0][2], "injected: a panic in the change stream") {
			t.Fatalf("SHOW WARNINGS %q, want the panic", ws)
		}
		mustExec(t, w, "DELETE FROM corder WHERE order_id = 8")
	})
	t.Run("a value", func(t *testing.T) {
		mustExec(t, w, "INSERT INTO corder (order_id, customer_id, sku, price) VALUES (9, 1, 'boom-value', 90)")
		defer mustExec(t, w, "DELETE FROM corder WHERE order_id = 9")
		c := olap(t, s, "boom")
		q := "VSTREAM order_id, sku FROM corder WHERE pos > '' AND pos <= 'current'"
		ls := startLive(t, c, q)
		got, err := ls.waitEnd(t)
		if err != nil {
			t.Fatalf("%s: %v, want a clean end and a warning", q, err)
		}
		_, ws := query(t, c, "SHOW WARNINGS")
		if len(ws) != 1 || ws[0][1] != "1105" || !strings.Contains(ws[0][2], "a value that cannot be shown") {
			t.Fatalf("%s: %d rows, SHOW WARNINGS %q, want the panic", q, len(got), ws)
		}
		stillUsable(t, c)
	})

	// The server and the other keyspace's stream went on.
	mustExec(t, s.Conn(t, "commerce"), "INSERT INTO corder (order_id, customer_id, sku, price) VALUES (4, 1, 'after', 40)")
	bystander.waitKey(t, 4)
	equalLines(t, "a new stream", queryLines(t, olap(t, s, "commerce"), "VSTREAM order_id FROM corder WHERE pos <= 'current'"),
		"+ 1", "+ 2", "+ 3", "+ 4")
	if l := logs.String(); !strings.Contains(l, "a panic ended a statement") || !strings.Contains(l, "stack=") {
		t.Fatalf("the log does not show the panics with their stacks:\n%s", l)
	}
}
