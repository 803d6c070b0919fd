package testdb

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestStartPostgres(t *testing.T) {
	t.Parallel()
	p := StartPostgres(t, PostgresOptions{})
	admin := p.Admin(t, "")
	var wal string
	if err := admin.QueryRow("SHOW wal_level").Scan(&wal); err != nil {
		t.Fatal(err)
	}
	if wal != "logical" {
		t.Fatalf("wal_level %s", wal)
	}

	p.CreateDatabase(t, "shop")
	p.Exec(t, "shop",
		"CREATE TABLE t (id bigint PRIMARY KEY, b text, c numeric(10,2), d timestamptz, e bytea, f boolean)",
		"INSERT INTO t VALUES (1, 'one', 1.50, '2020-01-02 03:04:05.123456+00', '\\x00ff', true)")
	db := p.Admin(t, "shop")
	if _, err := db.Exec("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6)",
		2, "two", "2.25", time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC), []byte{1, 2}, false); err != nil {
		t.Fatal(err)
	}
	var (
		b    string
		c    float64
		d    time.Time
		e    []byte
		f    bool
		rows int
	)
	if err := db.QueryRow("SELECT b, c, d, e, f FROM t WHERE id = $1", 1).Scan(&b, &c, &d, &e, &f); err != nil {
		t.Fatal(err)
	}
	if b != "one" || c != 1.5 || !d.Equal(time.Date(2020, 1, 2, 3, 4, 5, 123456000, time.UTC)) || string(e) != "\x00\xff" || !f {
		t.Fatalf("row 1: %q %v %v %q %v", b, c, d, e, f)
	}
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("count %d, %v", rows, err)
	}
	if _, err := db.Exec("INSERT INTO nosuch VALUES (1)"); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Fatalf("insert into a missing table: %v", err)
	}

	// A logical replication connection over TCP with a password.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	repl, err := pgconn.Connect(ctx, p.DSN(PGSuperUser, PGSuperPass, "shop")+"&replication=database")
	if err != nil {
		t.Fatal(err)
	}
	res, err := repl.Exec(ctx, "IDENTIFY_SYSTEM").ReadAll()
	repl.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || len(res[0].Rows) != 1 || string(res[0].Rows[0][3]) != "shop" {
		t.Fatalf("IDENTIFY_SYSTEM: %+v", res)
	}
	// A wrong password is refused over TCP.
	if c, err := pgconn.Connect(ctx, p.DSN(PGSuperUser, "wrong", "shop")); err == nil {
		c.Close(ctx)
		t.Fatal("wrong password accepted")
	}

	pid, port := p.PID(), p.Port
	p.Restart(t)
	if p.PID() == pid || p.Port != port {
		t.Fatalf("after Restart: pid %d→%d port %d→%d", pid, p.PID(), port, p.Port)
	}
	// The pool's connections died with the old server: a new handle.
	if err := p.Admin(t, "shop").QueryRow("SELECT count(*) FROM t").Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("count after restart %d, %v", rows, err)
	}

	pid = p.PID()
	p.Close()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("postgres %d still there after Close: %v", pid, err)
	}
	if _, err := os.Stat(p.Dir); !os.IsNotExist(err) {
		t.Fatalf("%s still exists after Close (%v)", p.Dir, err)
	}
	p.Close() // twice is harmless
}

// TestNewPostgres: the entry point without a testing.TB, with options.
func TestNewPostgres(t *testing.T) {
	t.Parallel()
	p, err := NewPostgres(PostgresOptions{WalLevel: "replica", Conf: []string{"max_replication_slots = 3"}})
	if errors.Is(err, ErrNotInstalled) && !Required() {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var wal, slots string
	if err := p.Admin(t, "").QueryRow("SELECT current_setting('wal_level'), current_setting('max_replication_slots')").Scan(&wal, &slots); err != nil {
		t.Fatal(err)
	}
	if wal != "replica" || slots != "3" {
		t.Fatalf("wal_level %s max_replication_slots %s", wal, slots)
	}
	if got, want := p.URL("a b", "p@ss/word", "db"), "postgres://a%20b:p%40ss%2Fword@"+p.Addr()+"/db"; got != want {
		t.Fatalf("URL %s, want %s", got, want)
	}
}
