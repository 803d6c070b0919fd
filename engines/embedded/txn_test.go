package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/embedded"
)

// events returns the change log after position from, as text, up to the
// current position.
func events(t *testing.T, db *embedded.DB, from string, extra ...string) []string {
	t.Helper()
	ctx := context.Background()
	cur, _ := db.Current(ctx)
	if string(cur) == from {
		return nil
	}
	names, _ := db.Tables(ctx)
	names = append(names, extra...)
	var out []string
	stop := errors.New("stop")
	err := db.Stream(ctx, engines.Position(from), names, func(evs []engines.Event) error {
		for _, e := range evs {
			switch e.Kind {
			case engines.RowChange:
				out = append(out, fmt.Sprintf("%s %v>%v", e.Table, e.Before, e.After))
			case engines.SchemaChange:
				out = append(out, "ddl "+e.Table)
			case engines.Commit:
				out = append(out, "commit")
			}
			if e.Kind == engines.Commit && e.Pos == cur {
				return stop
			}
		}
		return nil
	})
	if err != stop {
		t.Fatal(err)
	}
	return out
}

func setup(t *testing.T) (*embedded.DB, *sqlDB) {
	db := embedded.New("ks", embedded.Options{})
	s := newSQLDB(db)
	s.conn(t, "ks").exec("CREATE TABLE t (id INT PRIMARY KEY, val VARCHAR(16))")
	return db, s
}

func TestStatementsAndTransactions(t *testing.T) {
	tests := []struct {
		name  string
		stmts []string
		rows  string // SELECT * FROM t ORDER BY id afterwards
		log   []string
	}{
		{"autocommit statements are one entry each",
			[]string{"INSERT INTO t VALUES (1,'a')", "INSERT INTO t VALUES (2,'b')"},
			"[[1 a] [2 b]]", []string{"t []>[1 a]", "commit", "t []>[2 b]", "commit"}},
		{"a transaction is one entry",
			[]string{"BEGIN", "INSERT INTO t VALUES (1,'a')", "UPDATE t SET val='b' WHERE id=1", "COMMIT"},
			"[[1 b]]", []string{"t []>[1 a]", "t [1 a]>[1 b]", "commit"}},
		{"rollback leaves nothing",
			[]string{"BEGIN", "INSERT INTO t VALUES (1,'a')", "ROLLBACK"}, "[]", nil},
		{"a failing statement leaves no trace",
			[]string{"INSERT INTO t VALUES (1,'a')", "INSERT INTO t VALUES (2,'b'),(1,'dup')"},
			"[[1 a]]", []string{"t []>[1 a]", "commit"}},
		{"a failing statement inside a transaction only undoes itself",
			[]string{"BEGIN", "INSERT INTO t VALUES (1,'a')", "INSERT INTO t VALUES (2,'b'),(1,'dup')", "INSERT INTO t VALUES (3,'c')", "COMMIT"},
			"[[1 a] [3 c]]", []string{"t []>[1 a]", "t []>[3 c]", "commit"}},
		{"an update that changes nothing is not logged",
			[]string{"INSERT INTO t VALUES (1,'a')", "UPDATE t SET val='a' WHERE id=1"},
			"[[1 a]]", []string{"t []>[1 a]", "commit"}},
		{"REPLACE of an existing key is one update",
			[]string{"INSERT INTO t VALUES (1,'a')", "REPLACE INTO t VALUES (1,'b')"},
			"[[1 b]]", []string{"t []>[1 a]", "commit", "t [1 a]>[1 b]", "commit"}},
		{"INSERT ON DUPLICATE KEY UPDATE is an update",
			[]string{"INSERT INTO t VALUES (1,'a')", "INSERT INTO t VALUES (1,'x') ON DUPLICATE KEY UPDATE val='b'"},
			"[[1 b]]", []string{"t []>[1 a]", "commit", "t [1 a]>[1 b]", "commit"}},
		{"TRUNCATE is logged as deletes",
			[]string{"INSERT INTO t VALUES (1,'a'),(2,'b')", "TRUNCATE TABLE t"},
			"[]", []string{"t []>[1 a]", "t []>[2 b]", "commit", "t [1 a]>[]", "t [2 b]>[]", "commit"}},
		{"DELETE without WHERE is logged as deletes",
			[]string{"INSERT INTO t VALUES (1,'a'),(2,'b')", "DELETE FROM t"},
			"[]", []string{"t []>[1 a]", "t []>[2 b]", "commit", "t [1 a]>[]", "t [2 b]>[]", "commit"}},
		{"an update that moves keys sees each row once",
			[]string{"INSERT INTO t VALUES (1,'a'),(2,'b')", "UPDATE t SET id = id + 10"},
			"[[11 a] [12 b]]", []string{"t []>[1 a]", "t []>[2 b]", "commit", "t [1 a]>[11 a]", "t [2 b]>[12 b]", "commit"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, s := setup(t)
			start, _ := db.Current(context.Background())
			c := s.conn(t, "ks")
			for _, q := range tc.stmts {
				c.query(q) // failures are part of some cases
			}
			rows, err := c.query("SELECT * FROM t ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(rows); got != tc.rows {
				t.Errorf("rows = %s, want %s", got, tc.rows)
			}
			if got := events(t, db, string(start)); strings.Join(got, "; ") != strings.Join(tc.log, "; ") {
				t.Errorf("log:\n %q\nwant\n %q", got, tc.log)
			}
		})
	}
}

func TestRepeatableRead(t *testing.T) {
	_, s := setup(t)
	a, b := s.conn(t, "ks"), s.conn(t, "ks")
	b.exec("INSERT INTO t VALUES (1,'a')")
	a.exec("BEGIN")
	if rows, _ := a.query("SELECT val FROM t"); fmt.Sprint(rows) != "[[a]]" {
		t.Fatalf("first read: %v", rows)
	}
	b.exec("UPDATE t SET val='b' WHERE id=1")
	if rows, _ := a.query("SELECT val FROM t"); fmt.Sprint(rows) != "[[a]]" {
		t.Fatalf("a transaction must keep reading its snapshot: %v", rows)
	}
	a.exec("COMMIT")
	if rows, _ := a.query("SELECT val FROM t"); fmt.Sprint(rows) != "[[b]]" {
		t.Fatalf("after commit: %v", rows)
	}
}

// TestWritersSerialize: a writer waits for another writer's transaction,
// then works on the latest commit, so no update is lost.
func TestWritersSerialize(t *testing.T) {
	db, s := setup(t)
	a, b := s.conn(t, "ks"), s.conn(t, "ks")
	a.exec("INSERT INTO t VALUES (1,'0')")
	a.exec("BEGIN", "UPDATE t SET val = CONCAT(val, 'a') WHERE id = 1")
	done := make(chan error, 1)
	go func() {
		_, err := b.query("UPDATE t SET val = CONCAT(val, 'b') WHERE id = 1")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the second writer did not wait: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	a.exec("COMMIT")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rows, _ := a.query("SELECT val FROM t"); fmt.Sprint(rows) != "[[0ab]]" {
		t.Fatalf("val = %v, want 0ab (no lost update)", rows)
	}
	_ = db
}

func TestLockWaitTimeout(t *testing.T) {
	old := embedded.LockWaitTimeout
	embedded.LockWaitTimeout = 50 * time.Millisecond
	defer func() { embedded.LockWaitTimeout = old }()
	_, s := setup(t)
	a, b := s.conn(t, "ks"), s.conn(t, "ks")
	a.exec("BEGIN", "INSERT INTO t VALUES (1,'a')")
	_, err := b.query("INSERT INTO t VALUES (2,'b')")
	var wrapped sql.WrappedInsertError
	if errors.As(err, &wrapped) {
		err = wrapped.Cause
	}
	if !errors.Is(err, embedded.ErrLockWaitTimeout) {
		t.Fatalf("second writer: %v, want ErrLockWaitTimeout", err)
	}
	a.exec("ROLLBACK")
	b.exec("INSERT INTO t VALUES (2,'b')")
}

func TestConcurrentWritersAndSnapshots(t *testing.T) {
	db, s := setup(t)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := s.conn(t, "ks")
			for i := 0; i < 50; i++ {
				if _, err := c.query(fmt.Sprintf("INSERT INTO t VALUES (%d,'w%d')", w*1000+i, w)); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		snap, err := db.Snapshot(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		snap.Scan(ctx, nil, 0, func([]any) error { n++; return nil })
		snap.Close()
	}
	wg.Wait()
	if n, _ := db.EstimateRows(ctx, "t"); n != 200 {
		t.Fatalf("rows = %d, want 200", n)
	}
}

func TestDDLIsLogged(t *testing.T) {
	db, s := setup(t)
	start, _ := db.Current(context.Background())
	c := s.conn(t, "ks")
	c.exec("CREATE TABLE u (id INT PRIMARY KEY)", "RENAME TABLE u TO v", "DROP TABLE v")
	got := events(t, db, string(start), "u", "v")
	want := []string{"ddl u", "commit", "ddl u", "ddl v", "commit", "ddl v", "commit"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("log %q, want %q", got, want)
	}
}

func TestPositionErrors(t *testing.T) {
	db := embedded.New("ks", embedded.Options{RetainChanges: 2})
	s := newSQLDB(db)
	c := s.conn(t, "ks")
	c.exec("CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)", "INSERT INTO t VALUES (3)")
	ctx := context.Background()
	send := func([]engines.Event) error { return errors.New("stop") }
	if err := db.Stream(ctx, "0", []string{"t"}, send); !errors.Is(err, engines.ErrPositionUnavailable) {
		t.Errorf("trimmed position: %v", err)
	}
	if err := db.Stream(ctx, "99", []string{"t"}, send); !errors.Is(err, engines.ErrBadPosition) {
		t.Errorf("position ahead: %v", err)
	}
	if _, err := db.ParsePosition("x1"); !errors.Is(err, engines.ErrBadPosition) {
		t.Errorf("junk position: %v", err)
	}
}
