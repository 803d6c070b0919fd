package pgoutput_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/integration/faultproxy"
	"github.com/vstreamd/vstreamd/integration/testdb"
	"github.com/vstreamd/vstreamd/vstream"
)

// Streams on a configured (permanent) slot, found by the fault matrix
// (integration/faults_test.go).

// text is a column value as text.
func text(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}

// TestPermanentSlotResumesTokensInFlight: a stream hands rows to a client
// that receives only some of them (the rest are in flight when it, or
// vstreamd, stops); another source (a new vstreamd) resumes from the last
// token the client received and gets every row after it. The slot was
// confirmed only up to where the stream started, not up to the rows
// handed out (the resume window).
func TestPermanentSlotResumesTokensInFlight(t *testing.T) {
	p, db := startPostgres(t)
	if _, err := db.Exec("CREATE TABLE t (id int PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	src1 := openSource(t, p, testdb.PGSuperUser, testdb.PGSuperPass, "shop", "?slot=vstreamd_inflight")
	st := openAtCurrent(t, src1)
	for i := 1; i <= 20; i++ {
		if _, err := db.Exec("INSERT INTO t VALUES ($1, 'x')", i); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var tokens []vstream.Token
	for i := 1; i <= 20; i++ {
		r, err := st.Next(ctx)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		tokens = append(tokens, r.Token)
	}
	// vstreamd stops: its stream tells the server what it confirms, last.
	st.Close()
	src1.Close()

	src2 := openSource(t, p, testdb.PGSuperUser, testdb.PGSuperPass, "shop", "?slot=vstreamd_inflight")
	st2 := openFrom(t, src2, &tokens[4])
	for i := 6; i <= 20; i++ {
		r, err := st2.Next(ctx)
		if err != nil {
			t.Fatalf("resuming after row 5 of 20 handed out: row %d: %v", i, err)
		}
		if got := text(r.Values[0]); got != fmt.Sprint(i) {
			t.Fatalf("resuming after row 5: got row %s, want %d", got, i)
		}
	}
}

// TestPermanentSlotMovedWhileCutOff: while a stream's connection is down,
// the slot is advanced past changes the stream has not read (another
// consumer, an administrator). PostgreSQL would start the reconnected
// stream at the slot's position without a word; the stream fails instead,
// naming where it stopped, and delivers no row after the gap.
func TestPermanentSlotMovedWhileCutOff(t *testing.T) {
	p, db := startPostgres(t)
	if _, err := db.Exec("CREATE TABLE t (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, p.Addr())
	st := openAtCurrent(t, openThrough(t, proxy, "?slot=vstreamd_moved"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Next(ctx); err != nil {
		t.Fatal(err)
	}
	proxy.Refuse(true)
	proxy.Cut()
	if _, err := db.Exec("INSERT INTO t VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	// The cut WAL sender may not have ended yet: end it, then move the slot.
	for deadline := time.Now().Add(30 * time.Second); ; {
		_, err := db.Exec(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'vstreamd_moved' AND active_pid IS NOT NULL`)
		if err == nil {
			_, err = db.Exec("SELECT pg_replication_slot_advance('vstreamd_moved', pg_current_wal_lsn())")
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("advancing the slot: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := db.Exec("INSERT INTO t VALUES (3)"); err != nil {
		t.Fatal(err)
	}
	proxy.Refuse(false)
	r, err := st.Next(ctx)
	if err == nil {
		t.Fatalf("row %v arrived after the slot moved past row 2: the gap was skipped without a word", r.Values)
	}
	var pe *engines.PositionError
	if !errors.Is(err, engines.ErrPositionUnavailable) || !errors.As(err, &pe) || pe.Pos == "" {
		t.Fatalf("after the slot moved: %v, want ErrPositionUnavailable naming the position", err)
	}
}

// TestPermanentSlotSnapshotBeforeStream: a stream resumed in the copy
// phase takes its chunk's snapshot before it starts streaming (from an
// earlier position). The stream must still mark the snapshot's position
// (a commit there) before the first transaction after it: the copy emits
// the chunk there, and a change of the chunk's rows after the snapshot
// would be dropped otherwise.
func TestPermanentSlotSnapshotBeforeStream(t *testing.T) {
	p, db := startPostgres(t)
	for _, q := range []string{"CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t VALUES (1, 'start')"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	src := openSource(t, p, testdb.PGSuperUser, testdb.PGSuperPass, "shop", "?slot=vstreamd_mark")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := src.Hold(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	from, err := h.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE t SET v = 'before' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	sn, err := h.Snapshot(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	mark := sn.Position()
	sn.Close()
	if _, err := db.Exec("UPDATE t SET v = 'after' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	done := errors.New("done")
	var seen []string
	marked := false
	err = h.Stream(ctx, from, []string{"t"}, func(evs []engines.Event) error {
		for _, ev := range evs {
			switch ev.Kind {
			case engines.Commit:
				seen = append(seen, "commit "+string(ev.Pos))
				marked = marked || ev.Pos == mark
			case engines.RowChange:
				v := text(ev.After[1])
				seen = append(seen, "row "+v)
				if v == "after" {
					if !marked {
						return fmt.Errorf("the update after the snapshot (at %s) came with no commit at the snapshot's position before it: %q", mark, seen)
					}
					return done
				}
			}
		}
		return nil
	})
	if !errors.Is(err, done) {
		t.Fatal(err)
	}
}

// TestPermanentSlotSourceRestart: PostgreSQL shuts down while a stream
// holds its confirmations back (the resume window). A WAL sender exits at
// shutdown only once its client confirmed everything sent; the stream hangs
// up instead of confirming what its client may not have received, so the
// server stops (fast shutdown, no kill) and restarts, the stream continues
// with every row once, and afterwards a new stream still resumes from the
// first row's token.
func TestPermanentSlotSourceRestart(t *testing.T) {
	p, db := startPostgres(t)
	if _, err := db.Exec("CREATE TABLE t (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	const url = "?slot=vstreamd_restart"
	src := openSource(t, p, testdb.PGSuperUser, testdb.PGSuperPass, "shop", url)
	st := openAtCurrent(t, src)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var tokens []vstream.Token
	next := func(st *vstream.Stream, want int) {
		t.Helper()
		r, err := st.Next(ctx)
		if err != nil {
			t.Fatalf("row %d: %v", want, err)
		}
		if got := text(r.Values[0]); got != fmt.Sprint(want) {
			t.Fatalf("got row %s, want %d", got, want)
		}
		tokens = append(tokens, r.Token)
	}
	for i := 1; i <= 5; i++ {
		if _, err := db.Exec("INSERT INTO t VALUES ($1)", i); err != nil {
			t.Fatal(err)
		}
		next(st, i)
	}
	p.Restart(t) // fails if the server had to be killed
	// The pool's connections died with the server: the first uses fail.
	for deadline := time.Now().Add(30 * time.Second); ; {
		_, err := db.Exec("INSERT INTO t VALUES (6)")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	next(st, 6)
	st.Close()
	src.Close()

	st2 := openFrom(t, openSource(t, p, testdb.PGSuperUser, testdb.PGSuperPass, "shop", url), &tokens[0])
	for i := 2; i <= 6; i++ {
		next(st2, i)
	}
}
