package integration

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/vstreamd/vstreamd/integration/testdb"
)

// faultSource is one engine's side of the fault matrix: a throwaway
// server, shared by the runs of one test (each run has its own table),
// and the engine's way to make each fault.
type faultSource interface {
	// url is the vstreamd source URL of the run's keyspace, reaching the
	// server at addr (a fault proxy).
	url(addr, run string) string
	// addr is the server's host:port (what the proxy forwards to).
	addr() string
	// db is a pool on the server directly, as an administrator.
	db() *sql.DB
	createTable(ctx context.Context, table string) error
	// selectAll is the table as "id v s" lines, by id.
	selectAll(ctx context.Context, table string) ([]string, error)
	restart(t *testing.T)
	// rotate starts a new log file: MariaDB's binary log, PostgreSQL's
	// WAL segment (with a checkpoint, so old segments can be recycled).
	rotate(ctx context.Context) error
	// purge makes the positions the run's streams hold unavailable while
	// no stream reads: MariaDB purges every binary log but the current
	// one; PostgreSQL advances the run's slot to the current WAL position
	// (what a consumer of the same slot, or an administrator, does).
	purge(t *testing.T, run string)
	// comparePositions orders two positions of the server, independently
	// of vstreamd's own code.
	comparePositions(a, b string) (int, error)
	// endRun releases what the run holds on the server (its slot).
	endRun(t *testing.T, run string)
	// purgeWhat names the purge fault for logs.
	purgeWhat() string
}

// faultTableCols are the run's table's columns on either engine: a BIGINT key and a
// nullable text column, the whole row logged (PostgreSQL: REPLICA
// IDENTITY FULL), so a '-' row carries the row's before image.
const faultTableCols = "(id BIGINT PRIMARY KEY, v BIGINT NOT NULL, s VARCHAR(64))"

// scanIDVS reads rows of (id, v, s) as "id v s" lines.
func scanIDVS(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, v int64
		var s sql.NullString
		if err := rows.Scan(&id, &v, &s); err != nil {
			return nil, err
		}
		str := "NULL"
		if s.Valid {
			str = s.String
		}
		out = append(out, fmt.Sprintf("%d %d %s", id, v, str))
	}
	return out, rows.Err()
}

// mariaFault is MariaDB as a binlog source.
type mariaFault struct {
	m     *testdb.MariaDB
	admin *sql.DB
}

func startMariaFault(t *testing.T) *mariaFault {
	m := testdb.StartMariaDB(t, testdb.MariaDBOptions{Extra: []string{"--binlog-row-metadata=FULL"}})
	return &mariaFault{m: m, admin: m.Admin(t, "shop")}
}

func (f *mariaFault) url(addr, run string) string {
	u := url.URL{Scheme: "mysql", User: url.UserPassword(testdb.ReplUser, testdb.ReplPass), Host: addr, Path: "/shop",
		RawQuery: "reconnect=2m"}
	return u.String()
}

func (f *mariaFault) addr() string { return f.m.Addr() }
func (f *mariaFault) db() *sql.DB  { return f.admin }

func (f *mariaFault) createTable(ctx context.Context, table string) error {
	_, err := f.admin.ExecContext(ctx, "CREATE TABLE "+table+" "+faultTableCols)
	return err
}

func (f *mariaFault) selectAll(ctx context.Context, table string) ([]string, error) {
	rows, err := f.admin.QueryContext(ctx, "SELECT id, v, s FROM "+table+" ORDER BY id")
	if err != nil {
		return nil, err
	}
	return scanIDVS(rows)
}

func (f *mariaFault) restart(t *testing.T) { f.m.Restart(t) }

func (f *mariaFault) rotate(ctx context.Context) error {
	_, err := f.admin.ExecContext(ctx, "FLUSH BINARY LOGS")
	return err
}

func (f *mariaFault) purge(t *testing.T, run string)  { recPurge(t, f.admin) }
func (f *mariaFault) purgeWhat() string               { return "binary logs purged" }
func (f *mariaFault) endRun(t *testing.T, run string) {}

// comparePositions orders MariaDB GTID positions ("MariaDB/d-s-n,…") by
// the sequence number of each domain.
func (f *mariaFault) comparePositions(a, b string) (int, error) {
	pa, err := mariaGTIDs(a)
	if err != nil {
		return 0, err
	}
	pb, err := mariaGTIDs(b)
	if err != nil {
		return 0, err
	}
	less, more := false, false
	for d := range merged(pa, pb) {
		switch {
		case pa[d] < pb[d]:
			less = true
		case pa[d] > pb[d]:
			more = true
		}
	}
	switch {
	case less && more:
		return 0, fmt.Errorf("positions %s and %s cannot be ordered", a, b)
	case less:
		return -1, nil
	case more:
		return 1, nil
	}
	return 0, nil
}

func merged(a, b map[uint64]uint64) map[uint64]bool {
	m := map[uint64]bool{}
	for d := range a {
		m[d] = true
	}
	for d := range b {
		m[d] = true
	}
	return m
}

// mariaGTIDs reads "MariaDB/0-1-5,1-1-7" as domain → sequence number.
func mariaGTIDs(p string) (map[uint64]uint64, error) {
	body, ok := strings.CutPrefix(p, "MariaDB/")
	if !ok {
		return nil, fmt.Errorf("position %q is not a MariaDB GTID position", p)
	}
	out := map[uint64]uint64{}
	if body == "" {
		return out, nil
	}
	for _, g := range strings.Split(body, ",") {
		parts := strings.Split(g, "-")
		if len(parts) != 3 {
			return nil, fmt.Errorf("position %q: bad GTID %q", p, g)
		}
		d, err1 := strconv.ParseUint(parts[0], 10, 32)
		n, err2 := strconv.ParseUint(parts[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("position %q: bad GTID %q", p, g)
		}
		out[d] = n
	}
	return out, nil
}

// pgFault is PostgreSQL as a logical replication source. Each run's
// keyspace names a permanent slot (?slot=): a session's temporary slot
// cannot be resumed from another session, a new vstreamd or after a broken
// connection, so without one a client could not resume with its token
// after most of these faults (contract §4; README, PostgreSQL sources).
type pgFault struct {
	p     *testdb.Postgres
	admin *sql.DB
}

func startPGFault(t *testing.T) *pgFault {
	p := testdb.StartPostgres(t, testdb.PostgresOptions{})
	p.CreateDatabase(t, "shop")
	return &pgFault{p: p, admin: p.Admin(t, "shop")}
}

// slotOf is the run's permanent slot.
func slotOf(run string) string { return "vsf_" + strings.ToLower(run) }

func (f *pgFault) url(addr, run string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(testdb.PGSuperUser, testdb.PGSuperPass), Host: addr, Path: "/shop",
		RawQuery: "sslmode=disable&reconnect=2m&slot=" + slotOf(run)}
	return u.String()
}

func (f *pgFault) addr() string { return f.p.Addr() }
func (f *pgFault) db() *sql.DB  { return f.admin }

func (f *pgFault) createTable(ctx context.Context, table string) error {
	for _, q := range []string{"CREATE TABLE " + table + " " + faultTableCols, "ALTER TABLE " + table + " REPLICA IDENTITY FULL"} {
		if _, err := f.admin.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func (f *pgFault) selectAll(ctx context.Context, table string) ([]string, error) {
	rows, err := f.admin.QueryContext(ctx, "SELECT id, v, s FROM "+table+" ORDER BY id")
	if err != nil {
		return nil, err
	}
	return scanIDVS(rows)
}

func (f *pgFault) restart(t *testing.T) { f.p.Restart(t) }

func (f *pgFault) rotate(ctx context.Context) error {
	for _, q := range []string{"SELECT pg_switch_wal()", "CHECKPOINT"} {
		if _, err := f.admin.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// purge advances the run's slot to the current WAL position. The slot must
// not be in use: the caller cut vstreamd off the server first; a WAL sender
// that has not noticed yet is ended.
func (f *pgFault) purge(t *testing.T, run string) {
	t.Helper()
	slot := slotOf(run)
	deadline := time.Now().Add(wait)
	for {
		_, err := f.admin.Exec(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, slot)
		if err == nil {
			_, err = f.admin.Exec(`SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())`, slot)
		}
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("advancing slot %s: %v", slot, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *pgFault) purgeWhat() string { return "slot advanced past the stream" }

// endRun drops the run's slot once no stream reads it (vstreamd stopped).
func (f *pgFault) endRun(t *testing.T, run string) {
	t.Helper()
	slot := slotOf(run)
	deadline := time.Now().Add(wait)
	for {
		_, err := f.admin.Exec(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, slot)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("dropping slot %s: %v", slot, err)
			return
		}
		f.admin.Exec(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, slot)
		time.Sleep(50 * time.Millisecond)
	}
}

// comparePositions orders LSNs.
func (f *pgFault) comparePositions(a, b string) (int, error) {
	la, err := pglogrepl.ParseLSN(a)
	if err != nil {
		return 0, err
	}
	lb, err := pglogrepl.ParseLSN(b)
	if err != nil {
		return 0, err
	}
	switch {
	case la < lb:
		return -1, nil
	case la > lb:
		return 1, nil
	}
	return 0, nil
}
