package pgoutput_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/pgoutput"
	"github.com/vstreamd/vstreamd/integration/faultproxy"
	"github.com/vstreamd/vstreamd/integration/testdb"
	"github.com/vstreamd/vstreamd/vstream"

	gmssql "github.com/dolthub/go-mysql-server/sql"
)

// openThrough opens a source on PostgreSQL through a fault proxy.
func openThrough(t *testing.T, proxy *faultproxy.Proxy, params string) *pgoutput.Source {
	u, err := url.Parse(fmt.Sprintf("postgres://%s:%s@%s/shop%s", testdb.PGSuperUser, testdb.PGSuperPass, proxy.Addr(), params))
	if err != nil {
		t.Fatal(err)
	}
	src, err := pgoutput.Open(context.Background(), "ks", u, pgoutput.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// openAtCurrent opens a session stream of table t from now.
func openAtCurrent(t *testing.T, src *pgoutput.Source) *vstream.Stream {
	return openFrom(t, src, nil)
}

// openFrom opens a session stream of table t (with a session of its own)
// after token from, or from now if from is nil.
func openFrom(t *testing.T, src *pgoutput.Source, from *vstream.Token) *vstream.Stream {
	t.Helper()
	ctx := context.Background()
	tbl, err := src.Table(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if tbl, err = catalog.WithKeyOrder(gmssql.NewEmptyContext(), "ks", tbl); err != nil {
		t.Fatal(err)
	}
	ss := vstream.NewSessionState()
	t.Cleanup(ss.Close)
	held, err := ss.Stream(vstream.StreamKey{Keyspace: "ks", Table: "t"}).Source(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if from == nil {
		cur, err := held.Current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		from = &vstream.Token{Keyspace: "ks", Table: "t", Pos: cur}
	}
	st, err := vstream.Open(ctx, vstream.Config{Keyspace: "ks", Table: tbl, Source: held}, vstream.Options{From: *from})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestPermanentSlotSurvivesCuts: with a configured slot, replication
// connections cut again and again mid-stream are re-established and every
// row arrives exactly once.
func TestPermanentSlotSurvivesCuts(t *testing.T) {
	p, db := startPostgres(t)
	if _, err := db.Exec("CREATE TABLE t (id int PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, p.Addr())
	st := openAtCurrent(t, openThrough(t, proxy, "?slot=vstreamd_cuts"))
	const txns, per = 40, 25
	go func() {
		for i := 0; i < txns; i++ {
			tx, err := db.Begin()
			if err != nil {
				return
			}
			for j := 0; j < per; j++ {
				tx.Exec("INSERT INTO t VALUES ($1, repeat('x', 200))", i*per+j)
			}
			tx.Commit()
			if i%5 == 4 {
				proxy.Cut()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	seen := map[int64]int{}
	for len(seen) < txns*per {
		r, err := st.Next(ctx)
		if err != nil {
			t.Fatalf("after %d rows: %v", len(seen), err)
		}
		id := r.Values[0].(int64)
		if seen[id]++; seen[id] > 1 {
			t.Fatalf("row %d delivered twice", id)
		}
	}
	if proxy.Accepted() < 3 {
		t.Fatalf("only %d connections through the proxy: the cuts did not happen", proxy.Accepted())
	}
}

// TestTemporarySlotCutEndsWithPosition: a session's temporary slot goes
// with its connection; the stream ends with an error naming where it
// stopped, and resuming there is refused as unavailable.
func TestTemporarySlotCutEndsWithPosition(t *testing.T) {
	p, db := startPostgres(t)
	if _, err := db.Exec("CREATE TABLE t (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, p.Addr())
	st := openAtCurrent(t, openThrough(t, proxy, ""))
	if _, err := db.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := st.Next(ctx); err != nil {
		t.Fatal(err)
	}
	proxy.Cut()
	db.Exec("INSERT INTO t VALUES (2)")
	var err error
	for err == nil {
		_, err = st.Next(ctx)
	}
	var pe *engines.PositionError
	if !errors.Is(err, engines.ErrPositionUnavailable) || !errors.As(err, &pe) || pe.Pos == "" {
		t.Fatalf("after the cut: %v, want ErrPositionUnavailable with the last position", err)
	}
}
