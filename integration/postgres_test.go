package integration

import (
	"bytes"
	"context"
	"crypto/md5"
	"database/sql"
	"fmt"
	"net"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/integration/testdb"
	"github.com/vstreamd/vstreamd/server"
)

// PostgreSQL sources end to end (contract §1, §3, §4): a keyspace whose
// source is postgres://… streams the tables of one schema through logical
// replication (engines/pgoutput), as any MySQL client sees it.

// pgServer starts a PostgreSQL with database shop, runs stmts in it as the
// superuser, and starts a vstreamd whose keyspace pg streams it (cfg, if
// given, is the base configuration: chunk size, limits).
func pgServer(t *testing.T, cfg *server.Config, stmts ...string) (*testdb.Postgres, *Server) {
	t.Helper()
	p := testdb.StartPostgres(t, testdb.PostgresOptions{})
	p.CreateDatabase(t, "shop")
	p.Exec(t, "shop", stmts...)
	return p, pgVStreamd(t, cfg, map[string]string{"pg": p.URL(testdb.PGSuperUser, testdb.PGSuperPass, "shop")})
}

// pgVStreamd starts a vstreamd with one keyspace per name → source URL.
func pgVStreamd(t *testing.T, cfg *server.Config, sources map[string]string) *Server {
	t.Helper()
	c := server.Config{DefaultLimit: server.DefaultLimit}
	if cfg != nil {
		c = *cfg
	}
	for name, src := range sources {
		c.Keyspaces = append(c.Keyspaces, catalog.KeyspaceConfig{Name: name, Source: src})
	}
	return Start(t, c)
}

// pgConn is one session on PostgreSQL's shop as the superuser, closed at
// cleanup, after stmts (SET TIME ZONE …).
func pgConn(t *testing.T, p *testdb.Postgres, stmts ...string) *sql.Conn {
	t.Helper()
	c, err := p.Admin(t, "shop").Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	mustExec(t, c, stmts...)
	return c
}

// pgCorder is the demo's corder table on PostgreSQL.
const pgCorder = "CREATE TABLE corder (order_id bigint PRIMARY KEY, customer_id bigint, sku varchar(128), price bigint)"

// TestPostgresEndToEnd: the README's example on a PostgreSQL table:
// catalog, copy, '+' '*' '-' changes, an update of the key, and resume
// from a token in the same session. With REPLICA IDENTITY DEFAULT a '-'
// row carries the key and NULL elsewhere (PostgreSQL logs no more); with
// REPLICA IDENTITY FULL the whole row.
func TestPostgresEndToEnd(t *testing.T) {
	t.Parallel()
	p, s := pgServer(t, nil, pgCorder)
	admin := p.Admin(t, "shop")
	seedOrders(t, admin, 1, 3)

	c := s.Conn(t, "")
	equalLines(t, "SHOW DATABASES", queryLines(t, c, "SHOW DATABASES LIKE 'pg'"), "pg")
	equalLines(t, "SHOW TABLES", queryLines(t, c, "SHOW TABLES FROM pg"), "corder")
	equalLines(t, "DESCRIBE", queryLines(t, c, "DESCRIBE pg.corder"),
		"order_id bigint NO PRI NULL ", "customer_id bigint YES  NULL ", "sku varchar(128) COLLATE utf8mb4_bin YES  NULL ", "price bigint YES  NULL ")
	equalLines(t, "SELECT", queryLines(t, c, "SELECT * FROM pg.corder ORDER BY order_id"), orderValues(1), orderValues(2), orderValues(3))

	r := olap(t, s, "pg")
	st := openStream(t, r, "VSTREAM *, pos FROM corder LIMIT 8")
	equalStrings(t, "columns", st.cols, "op", "order_id", "customer_id", "sku", "price", "pos")
	got, _ := withPos(t, st.nextLines(3))
	equalLines(t, "copy", got, orderLines("+ ", 1, 3)...)
	mustExec(t, admin, "UPDATE corder SET price = 1 WHERE order_id = 2", "DELETE FROM corder WHERE order_id = 3")
	tx, err := admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, tx, "INSERT INTO corder VALUES (9, 1, 'x', 90)", "UPDATE corder SET order_id = 8 WHERE order_id = 9")
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got, tokens := withPos(t, st.rest())
	equalLines(t, "changes (REPLICA IDENTITY DEFAULT)", got,
		"* 2 3 s2 1", "- 3 NULL NULL NULL", "+ 9 1 x 90", "- 9 NULL NULL NULL", "+ 8 1 x 90")

	// Resume in the same session from the middle of the last transaction.
	equalLines(t, "resume from a token", pgLines(t, r, "VSTREAM * FROM corder WHERE pos > '"+tokens[2]+"' AND pos <= 'current'"),
		"- 9 NULL NULL NULL", "+ 8 1 x 90")

	mustExec(t, admin, "ALTER TABLE corder REPLICA IDENTITY FULL")
	mustExec(t, admin, "DELETE FROM corder WHERE order_id = 1", "UPDATE corder SET order_id = 7, price = 70 WHERE order_id = 8",
		"UPDATE corder SET sku = NULL WHERE order_id = 2")
	equalLines(t, "changes (REPLICA IDENTITY FULL)", pgLines(t, r, "VSTREAM * FROM corder WHERE pos <= 'current'"),
		"- "+orderValues(1), "- 8 1 x 90", "+ 7 1 x 70", "* 2 3 NULL 1")
	equalLines(t, "SELECT", queryLines(t, c, "SELECT * FROM pg.corder ORDER BY order_id"), "2 3 NULL 1", "7 1 x 70")

	// A token of this session's stream, in another session: a session's
	// temporary slot holds only what came after it was created.
	r2 := olap(t, s, "pg")
	beErr(t, r2, "VSTREAM * FROM corder WHERE pos > '"+tokens[2]+"'", 1236, "older than what this session's replication slot holds", "?slot=name")
	equalLines(t, "a fresh copy in the other session", pgLines(t, r2, "VSTREAM * FROM corder WHERE pos <= 'current'"), "+ 2 3 NULL 1", "+ 7 1 x 70")
}

// pgBig returns an SQL expression for the md5 texts of from..to
// concatenated, and that text: 32 hex digits a number, which pglz cannot
// shrink enough to keep it inline, so PostgreSQL stores it out of line
// (TOAST).
func pgBig(from, to int) (sqlExpr, text string) {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "%x", md5.Sum([]byte(strconv.Itoa(i))))
	}
	return fmt.Sprintf("(SELECT string_agg(md5(i::text), '' ORDER BY i) FROM generate_series(%d, %d) i)", from, to), b.String()
}

// TestPostgresToast: an UPDATE that leaves a TOASTed value unchanged
// logs it as "unchanged" (not its value); the '*' row still shows it,
// with REPLICA IDENTITY DEFAULT and FULL alike. Under FULL the '-' row
// shows it too.
func TestPostgresToast(t *testing.T) {
	t.Parallel()
	p, s := pgServer(t, nil,
		"CREATE TABLE big_default (id int PRIMARY KEY, n int, big text)",
		"CREATE TABLE big_full (id int PRIMARY KEY, n int, big text)",
		"ALTER TABLE big_full REPLICA IDENTITY FULL")
	admin := p.Admin(t, "shop")
	bigSQL, big := pgBig(1, 625)      // 20 000 characters
	big2SQL, big2 := pgBig(626, 1250) // another 20 000
	for _, tc := range []struct {
		table, deleted string // deleted: the '-' row's values after the id
	}{
		{"big_default", "NULL NULL"},
		{"big_full", "3 " + big2},
	} {
		t.Run(tc.table, func(t *testing.T) {
			tb := tc.table
			mustExec(t, admin, fmt.Sprintf("INSERT INTO %s VALUES (1, 0, %s), (2, 0, 'small')", tb, bigSQL))
			var toasted bool
			if err := admin.QueryRow(`SELECT pg_relation_size(reltoastrelid) > 0 FROM pg_class WHERE relname = $1`, tb).Scan(&toasted); err != nil || !toasted {
				t.Fatalf("%s: the value is not stored out of line (%v): the test proves nothing", tb, err)
			}
			var n int
			if err := admin.QueryRow("SELECT length(big) FROM " + tb + " WHERE id = 1").Scan(&n); err != nil || n != len(big) {
				t.Fatalf("length %d (%v), want %d", n, err, len(big))
			}
			r := olap(t, s, "pg")
			st := openStream(t, r, "VSTREAM * FROM "+tb)
			equalLines(t, "copy", st.nextLines(2), "+ 1 0 "+big, "+ 2 0 small")
			mustExec(t, admin, "UPDATE "+tb+" SET n = 1 WHERE id = 1")
			equalLines(t, "an update of another column", st.nextLines(1), "* 1 1 "+big)
			mustExec(t, admin, "UPDATE "+tb+" SET big = "+big2SQL+" WHERE id = 1")
			equalLines(t, "an update of the value", st.nextLines(1), "* 1 1 "+big2)
			mustExec(t, admin, "UPDATE "+tb+" SET n = 2 WHERE id = 1")
			equalLines(t, "another update of another column", st.nextLines(1), "* 1 2 "+big2)
			// Two updates in one transaction, and one of several rows.
			tx, err := admin.Begin()
			if err != nil {
				t.Fatal(err)
			}
			mustExec(t, tx, "UPDATE "+tb+" SET n = n + 1 WHERE id = 1", "UPDATE "+tb+" SET n = n + 1 WHERE id = 1")
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			equalLines(t, "two updates in one transaction", st.nextLines(2), "* 1 3 "+big2, "* 1 4 "+big2)
			mustExec(t, admin, "UPDATE "+tb+" SET n = 3")
			equalLines(t, "an update of every row", sortedLines(st.nextLines(2)), "* 1 3 "+big2, "* 2 3 small")
			mustExec(t, admin, "DELETE FROM "+tb+" WHERE id = 1")
			equalLines(t, "the delete", st.nextLines(1), "- 1 "+tc.deleted)
			st.close()
		})
	}
	// The stream reads an UPDATE after the row changed again: here the
	// session's stream has copied the table (LIMIT 1: not reading the
	// slot yet), and two transactions update the row before the next
	// VSTREAM reads the slot's changes.
	for _, tb := range []string{"big_default", "big_full"} {
		t.Run(tb+" changed again before the stream reads", func(t *testing.T) {
			mustExec(t, admin, "DELETE FROM "+tb, fmt.Sprintf("INSERT INTO %s VALUES (1, 0, %s)", tb, bigSQL))
			r := olap(t, s, "pg")
			equalLines(t, "copy", pgLines(t, r, "VSTREAM * FROM "+tb+" LIMIT 1"), "+ 1 0 "+big)
			mustExec(t, admin, "UPDATE "+tb+" SET n = 1 WHERE id = 1", "UPDATE "+tb+" SET n = 2 WHERE id = 1")
			if tb == "big_full" {
				equalLines(t, "both updates", pgLines(t, r, "VSTREAM * FROM "+tb+" WHERE pos <= 'current'"), "* 1 1 "+big, "* 1 2 "+big)
				return
			}
			// With REPLICA IDENTITY DEFAULT the first update's unchanged
			// large value is not in the WAL. The session's stream reads the
			// slot in the background: if it read the first update before the
			// second one committed, it filled the value in from the row (two
			// correct rows); otherwise it is in no row any more and the
			// stream ends with the fix rather than show a NULL — an error
			// when the reader got there before the statement started, else a
			// warning on a result set with no rows. Never a made-up value.
			got, err := linesOrFailure(t, r, "VSTREAM * FROM "+tb+" WHERE pos <= 'current'")
			if err == nil {
				equalLines(t, "both updates, filled in while the row still had them", got, "* 1 1 "+big, "* 1 2 "+big)
				return
			}
			wantErr(t, "an update with a made-up value", err, 1236, "REPLICA IDENTITY FULL")
		})
	}
}

// sortedLines sorts op lines by the number after the op.
func sortedLines(ls []string) []string {
	key := func(l string) int {
		f := strings.Fields(l)
		n, _ := strconv.Atoi(f[1])
		return n
	}
	sort.SliceStable(ls, func(i, j int) bool { return key(ls[i]) < key(ls[j]) })
	return ls
}

// pgSlots lists vstreamd's replication slots on PostgreSQL ("name
// temporary"), and counts the WAL senders.
func pgSlots(t *testing.T, admin *sql.DB) ([]string, int) {
	t.Helper()
	slots := queryLines(t, admin, `SELECT slot_name, temporary FROM pg_replication_slots WHERE slot_name LIKE 'vstreamd\_%' ORDER BY slot_name`)
	var senders int
	if err := admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'`).Scan(&senders); err != nil {
		t.Fatal(err)
	}
	return slots, senders
}

// pgWaitSlots waits up to 5 s for vstreamd's slots to number n, and
// returns them.
func pgWaitSlots(t *testing.T, admin *sql.DB, n int, what string) []string {
	t.Helper()
	start := time.Now()
	deadline := start.Add(5 * time.Second)
	for {
		slots, senders := pgSlots(t, admin)
		if len(slots) == n && senders <= n {
			t.Logf("%s: %d slots after %v", what, n, time.Since(start).Round(time.Millisecond))
			return slots
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: after 5 s, vstreamd's replication slots are %q (and %d WAL senders), want %d slots", what, slots, senders, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPostgresSessionSlots: a session's stream holds a temporary
// replication slot as long as the session lives (between statements
// too), one per session; when the client disconnects, its slot and WAL
// sender are gone within a few seconds.
func TestPostgresSessionSlots(t *testing.T) {
	t.Parallel()
	p, s := pgServer(t, nil, pgCorder)
	admin := p.Admin(t, "shop")
	seedOrders(t, admin, 1, 3)
	pgWaitSlots(t, admin, 0, "before any stream")

	// session opens a client connection of its own: closing its pool
	// closes the connection, as a client that quits.
	session := func() (*sql.DB, *sql.Conn) {
		db := s.DB(t, "pg")
		c, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, c, "SET WORKLOAD=OLAP")
		return db, c
	}
	db1, c1 := session()
	equalLines(t, "session 1, copy", pgLines(t, c1, "VSTREAM * FROM corder LIMIT 1"), orderLines("+ ", 1, 1)...)
	slots := pgWaitSlots(t, admin, 1, "session 1 streamed (in its copy)")
	if !strings.HasSuffix(slots[0], " true") {
		t.Fatalf("slot %q is not temporary", slots[0])
	}
	equalLines(t, "session 1, to the current position", pgLines(t, c1, "VSTREAM * FROM corder WHERE pos <= 'current'"), orderLines("+ ", 2, 3)...)
	mustExec(t, admin, "UPDATE corder SET price = 0 WHERE order_id = 1")
	equalLines(t, "session 1, a change", pgLines(t, c1, "VSTREAM * FROM corder WHERE pos <= 'current'"), "* 1 2 s1 0")
	equalStrings(t, "session 1's slot between statements", pgWaitSlots(t, admin, 1, "session 1 streamed changes"), slots...)

	db2, c2 := session()
	equalLines(t, "session 2", pgLines(t, c2, "VSTREAM * FROM corder WHERE pos <= 'current'"), "+ 1 2 s1 0", "+ "+orderValues(2), "+ "+orderValues(3))
	both := pgWaitSlots(t, admin, 2, "two sessions streamed")

	// A client that goes away in the middle of a stream.
	st := openStream(t, c2, "VSTREAM * FROM corder")
	mustExec(t, admin, "UPDATE corder SET price = 1 WHERE order_id = 1")
	equalLines(t, "session 2 streaming", st.nextLines(1), "* 1 2 s1 1")

	c1.Close()
	db1.Close()
	left := pgWaitSlots(t, admin, 1, "session 1 disconnected")
	if left[0] == slots[0] || (left[0] != both[0] && left[0] != both[1]) {
		t.Fatalf("after session 1 left, the slots are %q; before %q, session 1's %q", left, both, slots)
	}
	st.close()
	c2.Close()
	db2.Close()
	pgWaitSlots(t, admin, 0, "session 2 disconnected while streaming")

	// A new session streams with a new slot.
	_, c3 := session()
	equalLines(t, "session 3", pgLines(t, c3, "VSTREAM order_id, price FROM corder WHERE pos <= 'current'"), "+ 1 1", "+ 2 20", "+ 3 30")
	pgWaitSlots(t, admin, 1, "session 3 streamed")
}

// TestPostgresPaging (contract §4, as TestSessionPaging on the embedded
// engine): repeating VSTREAM … LIMIT 3 in a session pages through the
// copy (chunks of 2 rows) and then through the changes, cutting
// transactions, with nothing lost or repeated. With a snapshot per chunk
// a row updated between pages is copied with its new value; with chunks
// sharing the snapshot taken before the update (snapshot_reuse, made long
// here so that the test does not depend on its speed) it is copied with
// its old value and the update follows.
func TestPostgresPaging(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, params string
		row5         []string
		copied       string // the copy state at its end: rows 1-8 copied, or row 8 inserted after the snapshot
	}{
		{"snapshot per chunk", "?snapshot_reuse=0", []string{"+ 5 3 s5 51"}, "done 8 8"},
		{"shared snapshots", "?snapshot_reuse=1m", []string{"+ 5 3 s5 50", "* 5 3 s5 51"}, "done 7 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testPostgresPaging(t, tc.params, tc.row5, tc.copied)
		})
	}
}

func testPostgresPaging(t *testing.T, params string, row5 []string, copied string) {
	p := testdb.StartPostgres(t, testdb.PostgresOptions{})
	p.CreateDatabase(t, "shop")
	p.Exec(t, "shop", pgCorder)
	s := pgVStreamd(t, &server.Config{DefaultLimit: server.DefaultLimit, ChunkRows: 2},
		map[string]string{"pg": p.URL(testdb.PGSuperUser, testdb.PGSuperPass, "shop") + params})
	admin := p.Admin(t, "shop")
	seedOrders(t, admin, 1, 7)
	c := olap(t, s, "pg")
	const page = "VSTREAM * FROM corder LIMIT 3"
	const state = "SELECT state, last_pk, rows_copied FROM vstream_copy_state('pg.corder')"
	const positions = "SELECT phase, rows_delivered FROM vstream_positions('pg.corder')"

	equalLines(t, "page 1", pgLines(t, c, page), orderLines("+ ", 1, 3)...)
	equalLines(t, "copy state after page 1", queryLines(t, c, state), "copying 3 3")
	// Written between pages: rows already copied (2) and not yet (5, 8).
	mustExec(t, admin, "UPDATE corder SET price = 21 WHERE order_id = 2", "UPDATE corder SET price = 51 WHERE order_id = 5",
		"INSERT INTO corder VALUES (8, 1, 's8', 80)")
	var all []string
	for i := 2; ; i++ {
		got := pgLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current' LIMIT 3")
		all = append(all, got...)
		if len(got) < 3 {
			break
		}
		if i > 10 {
			t.Fatalf("still paging after page %d: %q", i, all)
		}
	}
	// The copy resumes after key 3: row 2's update is a change, row 5 is
	// copied (then updated, see row5), row 8 is copied or inserted.
	wantAll := append(append([]string{"* 2 3 s2 21", "+ 4 2 NULL 40"}, row5...), "+ 6 1 s6 60", "+ 7 2 s7 70", "+ 8 1 s8 80")
	equalLines(t, "pages 2.. (sorted by key)", sortedLines(append([]string(nil), all...)), wantAll...)
	equalLines(t, "copy state after the copy", queryLines(t, c, state), copied)

	// Pages of changes made while a page waits, then cut in the middle of
	// a 5-row transaction.
	st := openStream(t, c, page)
	mustExec(t, admin, "INSERT INTO corder VALUES (9, 2, 'n', 1)", "UPDATE corder SET price = 0 WHERE order_id = 1",
		"DELETE FROM corder WHERE order_id = 2")
	equalLines(t, "a page of changes", st.rest(), "+ 9 2 n 1", "* 1 2 s1 0", "- 2 NULL NULL NULL")
	mustExec(t, admin, "UPDATE corder SET price = -1 WHERE order_id BETWEEN 3 AND 7")
	equalLines(t, "positions", queryLines(t, c, positions), fmt.Sprintf("replicate %d", 3+len(all)+3))
	var updates []string
	for _, i := range []int{3, 4, 5, 6, 7} {
		f := strings.Fields(orderValues(i))
		updates = append(updates, fmt.Sprintf("* %s %s %s -1", f[0], f[1], f[2]))
	}
	equalLines(t, "cut a transaction: its first 3 rows", pgLines(t, c, page), updates[:3]...)
	equalLines(t, "and the rest", pgLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current' LIMIT 3"), updates[3:]...)
	equalLines(t, "nothing new", pgLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current' LIMIT 3"))

	// pos > '' starts a fresh copy, paged too.
	table := queryLines(t, admin, "SELECT * FROM corder ORDER BY order_id")
	equalLines(t, "fresh copy, page 1", pgLines(t, c, "VSTREAM * FROM corder WHERE pos > '' LIMIT 3"), prefix("+ ", table[:3])...)
	equalLines(t, "fresh copy, the rest", pgLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current' LIMIT 100"), prefix("+ ", table[3:])...)
	// Another session pages on its own.
	equalLines(t, "another session", pgLines(t, olap(t, s, "pg"), page), prefix("+ ", table[:3])...)
}

// pgEnds is how long a statement that must end (a LIMIT reached, a
// pos <= bound) may take on these small tables: far more than it needs.
const pgEnds = 5 * time.Second

// pgRows runs q, which must end within pgEnds, and returns its rows (as
// query does). A statement that does not end in time fails the test.
func pgRows(t *testing.T, c querier, q string) [][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pgEnds)
	defer cancel()
	start := time.Now()
	rows, err := c.QueryContext(ctx, q)
	if err != nil {
		if ctx.Err() != nil {
			t.Fatalf("%s: did not end within %v, nor sent its header (for a pos <= bound: see TestPostgresBoundCurrent)", q, pgEnds)
		}
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		out = append(out, scanStrings(t, rows))
	}
	if err := rows.Err(); err != nil {
		if ctx.Err() != nil {
			t.Fatalf("%s: did not end within %v, after %d rows %q (for a pos <= bound: see TestPostgresBoundCurrent)", q, pgEnds, len(out), lines(out))
		}
		t.Fatalf("%s: after %d rows: %v", q, len(out), err)
	}
	if d := time.Since(start); d > time.Second {
		t.Logf("%s took %v", q, d)
	}
	return out
}

// pgLines is pgRows with each row's values joined by spaces.
func pgLines(t *testing.T, c querier, q string) []string {
	t.Helper()
	return lines(pgRows(t, c, q))
}

// pgLSN reads an LSN function (pg_current_wal_insert_lsn …) as a number.
func pgLSN(t *testing.T, admin *sql.DB, fn string) uint64 {
	t.Helper()
	var s string
	if err := admin.QueryRow("SELECT " + fn + "()::text").Scan(&s); err != nil {
		t.Fatal(err)
	}
	hi, lo, _ := strings.Cut(s, "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		t.Fatalf("%s() = %q", fn, s)
	}
	return h<<32 | l
}

// pgWALToPageEnd writes WAL (non-transactional logical messages, which
// no stream decodes) until the last record ends exactly at the end of a
// WAL page. pg_current_wal_insert_lsn() then points past the next page's
// header, where no record is yet: the walsender reaches that position
// only once more WAL is written.
func pgWALToPageEnd(t *testing.T, admin *sql.DB) {
	t.Helper()
	const page = 8192
	const short = 24 // the page header, where the insert position stands at a page start
	// A message record of n bytes with prefix "p": XLogRecord (24), a
	// long main data header (5), xl_logical_message up to its text (24),
	// "p\0" (2), the n bytes.
	const overhead = 24 + 5 + 24 + 2
	for range 20 {
		l := pgLSN(t, admin, "pg_current_wal_insert_lsn")
		off := int(l % page)
		if off == short {
			// Wait for the walwriter to flush the full page.
			for deadline := time.Now().Add(5 * time.Second); pgLSN(t, admin, "pg_current_wal_flush_lsn") < l-short; {
				if time.Now().After(deadline) {
					t.Fatal("the WAL page is not flushed after 5 s")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if pgLSN(t, admin, "pg_current_wal_insert_lsn") == l {
				return
			}
			continue
		}
		n := page - off - overhead
		if n < 300 { // into the next page
			n = 300
		}
		mustExec(t, admin, fmt.Sprintf("SELECT pg_logical_emit_message(false, 'p', repeat('x', %d))", n))
	}
	t.Fatal("could not end the WAL at a page end")
}

// TestPostgresBoundCurrent: pos <= 'current' ends once the stream has
// caught up with the position of the statement's start, and vstream() in
// OLTP ends there too, with nothing new or with changes, and while other
// tables of the source change.
func TestPostgresBoundCurrent(t *testing.T) {
	t.Parallel()
	p, s := pgServer(t, nil, pgCorder, "CREATE TABLE other (id serial PRIMARY KEY, v text)")
	admin := p.Admin(t, "shop")
	seedOrders(t, admin, 1, 3)

	oltp := s.Conn(t, "pg")
	equalLines(t, "vstream() in OLTP: the copy", pgLines(t, oltp, "SELECT op, order_id, price FROM vstream('pg.corder')"), "+ 1 10", "+ 2 20", "+ 3 30")
	equalLines(t, "vstream() in OLTP: nothing new", pgLines(t, oltp, "SELECT op, order_id, price FROM vstream('pg.corder')"))
	mustExec(t, admin, "UPDATE corder SET price = 5 WHERE order_id = 2")
	equalLines(t, "vstream() in OLTP: a change", pgLines(t, oltp, "SELECT op, order_id, price FROM vstream('pg.corder')"), "* 2 5")
	beErr(t, oltp, "VSTREAM * FROM corder", 1290, "SET WORKLOAD=OLAP")

	c := olap(t, s, "pg")
	equalLines(t, "OLAP: the copy", pgLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"),
		"+ "+orderValues(1), "+ 2 3 s2 5", "+ "+orderValues(3))
	equalLines(t, "OLAP: nothing new", pgLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"))
	equalLines(t, "an empty table", pgLines(t, c, "VSTREAM * FROM other WHERE pos <= 'current'"))

	// Another table of the source is written all the time.
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := admin.Exec("INSERT INTO other (v) VALUES ('x')"); err != nil {
				done <- err
				return
			}
		}
	}()
	for i := range 5 {
		mustExec(t, admin, fmt.Sprintf("UPDATE corder SET price = %d WHERE order_id = 1", 100+i))
		equalLines(t, "while another table changes", pgLines(t, c, "VSTREAM order_id, price FROM corder WHERE pos <= 'current'"),
			fmt.Sprintf("* 1 %d", 100+i))
		equalLines(t, "nothing new while another table changes", pgLines(t, c, "VSTREAM order_id, price FROM corder WHERE pos <= 'current'"))
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// The OLTP session continues where it stopped: the five updates.
	equalLines(t, "vstream() in OLTP: the updates since", pgLines(t, oltp, "SELECT op, order_id FROM vstream('pg.corder')"),
		"* 1", "* 1", "* 1", "* 1", "* 1")

	// The source's last WAL record ends at a WAL page end (as happens
	// after about one WAL page in ten): nothing new, and the bound is
	// reached at once all the same.
	for i := range 3 {
		pgWALToPageEnd(t, admin)
		equalLines(t, fmt.Sprintf("WAL at a page end (%d): OLAP, nothing new", i), pgLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"))
		pgWALToPageEnd(t, admin)
		equalLines(t, fmt.Sprintf("WAL at a page end (%d): vstream() in OLTP, nothing new", i), pgLines(t, oltp, "SELECT op, order_id FROM vstream('pg.corder')"))
	}
}

// TestPostgresErrors (contract §3): a PostgreSQL source that cannot
// stream, a source user without what streaming needs, a table PostgreSQL
// cannot replicate, a wrong password, a source that is down and a bad
// position are MySQL errors with the right code whose message names the
// cause and the fix; the session stays usable, and the good keyspace of
// the same vstreamd streams.
func TestPostgresErrors(t *testing.T) {
	t.Parallel()
	p := testdb.StartPostgres(t, testdb.PostgresOptions{})
	p.CreateDatabase(t, "shop")
	p.Exec(t, "shop", pgCorder, "INSERT INTO corder VALUES (1, 1, 'a', 10)",
		"CREATE TABLE nokey (id int, v text)", "INSERT INTO nokey VALUES (1, 'x')",
		"CREATE ROLE reader LOGIN PASSWORD 'pw'", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader")
	replica := testdb.StartPostgres(t, testdb.PostgresOptions{WalLevel: "replica"})
	replica.CreateDatabase(t, "shop")
	replica.Exec(t, "shop", pgCorder, "INSERT INTO corder VALUES (1, 1, 'a', 10)")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	super := func(pp *testdb.Postgres) string { return pp.URL(testdb.PGSuperUser, testdb.PGSuperPass, "shop") }
	s := pgVStreamd(t, nil, map[string]string{
		"pg":      super(p),
		"walrepl": super(replica),
		"reader":  p.URL("reader", "pw", "shop"),
		"badpw":   p.URL(testdb.PGSuperUser, "wrong-password", "shop"),
		"nodb":    p.URL(testdb.PGSuperUser, testdb.PGSuperPass, "nope"),
		"down":    "postgres://postgres:secret@" + closed + "/shop?connect_timeout=2",
	})
	c := olap(t, s, "")

	// wal_level = replica: the catalog works; streaming, and SELECT (read
	// in a snapshot a replication slot exports), do not.
	equalLines(t, "SHOW TABLES on a wal_level=replica source", queryLines(t, c, "SHOW TABLES FROM walrepl"), "corder")
	for _, q := range []string{"VSTREAM * FROM walrepl.corder", "SELECT * FROM vstream('walrepl.corder')", "SELECT * FROM walrepl.corder"} {
		beErr(t, c, q, 1290, "has wal_level = replica", "logical replication needs wal_level = logical", "restart PostgreSQL")
	}

	// A role without REPLICATION: the same.
	equalLines(t, "DESCRIBE as a role without REPLICATION", queryLines(t, c, "DESCRIBE reader.corder"),
		"order_id bigint NO PRI NULL ", "customer_id bigint YES  NULL ", "sku varchar(128) COLLATE utf8mb4_bin YES  NULL ", "price bigint YES  NULL ")
	for _, q := range []string{"VSTREAM * FROM reader.corder", "SELECT * FROM reader.corder"} {
		beErr(t, c, q, 1290, "role reader lacks the REPLICATION attribute", "ALTER ROLE reader REPLICATION")
	}

	// A table without a primary key.
	beErr(t, c, "VSTREAM * FROM pg.nokey", 1290, `table "public"."nokey" has no primary key`, `ALTER TABLE "public"."nokey" REPLICA IDENTITY FULL`)
	p.Exec(t, "shop", "ALTER TABLE nokey REPLICA IDENTITY FULL")
	equalLines(t, "the keyless table with REPLICA IDENTITY FULL", pgLines(t, c, "VSTREAM * FROM pg.nokey WHERE pos <= 'current'"), "+ 1 x")

	// A wrong password, a missing database, a server that is down.
	for _, q := range []string{"VSTREAM * FROM badpw.corder", "SELECT * FROM badpw.corder", "SHOW TABLES FROM badpw"} {
		msg := beErr(t, c, q, 1429, "refused the login of postgres", "password authentication failed", "check the user and password of the source URL")
		if strings.Contains(msg, "wrong-password") {
			t.Fatalf("%s: the message shows the source password: %q", q, msg)
		}
	}
	beErr(t, c, "VSTREAM * FROM nodb.corder", 1290, `database "nope" does not exist`, "the source URL names a database that does not exist")
	for _, q := range []string{"VSTREAM * FROM down.corder", "SHOW TABLES FROM down"} {
		msg := beErr(t, c, q, 1429, "PostgreSQL postgres://postgres@"+closed+"/shop", "is unreachable")
		if strings.Contains(msg, "secret") {
			t.Fatalf("%s: the message shows the source password: %q", q, msg)
		}
	}

	// Statements on a good table.
	beErr(t, c, "VSTREAM * FROM pg.nope", 1146, "nope")
	beErr(t, c, "VSTREAM * FROM pg.corder WHERE pos > 'nonsense'", 1149, "nonsense")
	beErr(t, c, "VSTREAM * FROM pg.corder WHERE pos > 'vs1.garbage'", 1149, "vs1.garbage")
	// An LSN is a position of the keyspace; this one is older than the
	// session's slot.
	beErr(t, c, "VSTREAM * FROM pg.corder WHERE pos > '0/16B3748'", 1236, "position 0/16B3748 is older than what this session's replication slot holds", "?slot=name")
	beErr(t, c, "VSTREAM * FROM pg.corder WHERE pos = 'current'", 1149, "pos")
	equalLines(t, "the good keyspace", pgLines(t, c, "VSTREAM * FROM pg.corder WHERE pos <= 'current'"), "+ 1 1 a 10")
}

// TestPostgresCLI: the mariadb command-line client shows a
// PostgreSQL-backed VSTREAM, vertically with \G: the copy, a change that
// a waiting VSTREAM receives, and an error.
func TestPostgresCLI(t *testing.T) {
	mariadb := NeedCommand(t, "mariadb")
	t.Parallel()
	p, s := pgServer(t, nil,
		"CREATE TABLE note (id int PRIMARY KEY, txt text, at timestamptz, ok boolean, tags text[])",
		"SET TIME ZONE 'Asia/Kolkata'",
		"INSERT INTO note VALUES (1, 'héllo ✓ 日本', '2024-01-02 10:00:00', true, '{a,\"b c\"}'), (2, NULL, NULL, NULL, NULL)",
		"CREATE TABLE nokey (v text)")
	admin := p.Admin(t, "shop")
	_, port, _ := net.SplitHostPort(s.Addr)
	cli := func(query string) *exec.Cmd {
		return exec.Command(mariadb, "--no-defaults", "-h127.0.0.1", "-P"+port, "-uroot", "-e", query)
	}
	run := func(query string) (string, string, error) {
		cmd := cli(query)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}

	out, stderr, err := run(`SET WORKLOAD=OLAP; VSTREAM * FROM pg.note WHERE pos <= 'current'\G`)
	if err != nil {
		t.Fatalf("mariadb: %v\n%s%s", err, out, stderr)
	}
	want := `*************************** 1. row ***************************
  op: +
  id: 1
 txt: héllo ✓ 日本
  at: 2024-01-02 04:30:00.000000
  ok: 1
tags: ["a", "b c"]
*************************** 2. row ***************************
  op: +
  id: 2
 txt: NULL
  at: NULL
  ok: NULL
tags: NULL
`
	if out != want {
		t.Fatalf("VSTREAM … \\G in the mariadb client:\n%s\nwant\n%s", out, want)
	}

	// A client waiting for changes gets the one committed meanwhile.
	waiting := cli(`SET WORKLOAD=OLAP; VSTREAM op, id, txt FROM pg.note WHERE pos > 'current' LIMIT 1\G`)
	var wout, werr bytes.Buffer
	waiting.Stdout, waiting.Stderr = &wout, &werr
	if err := waiting.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- waiting.Wait() }()
	ended := false
	defer func() {
		if !ended {
			waiting.Process.Kill()
			<-exited
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); ; {
		out, _, err := run("SHOW PROCESSLIST")
		if err == nil && strings.Contains(out, "VSTREAM op, id, txt FROM pg.note") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the waiting client's VSTREAM does not show in SHOW PROCESSLIST:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The statement takes its 'current' position once its session's slot
	// exists: a change made before may not be delivered, so change the row
	// until the client has one.
	var last string
	for i := 0; ; i++ {
		last = fmt.Sprintf("ünïcode %d", i)
		mustExec(t, admin, "UPDATE note SET txt = '"+last+"' WHERE id = 2")
		select {
		case err := <-exited:
			ended = true
			if err != nil {
				t.Fatalf("the waiting mariadb: %v\n%s%s", err, wout.String(), werr.String())
			}
		case <-time.After(200 * time.Millisecond):
			if i == 50 {
				t.Fatal("the waiting mariadb did not end after 50 changes")
			}
			continue
		}
		break
	}
	got := wout.String()
	want = "*************************** 1. row ***************************\n op: *\n id: 2\ntxt: ünïcode "
	if !strings.HasPrefix(got, want) || strings.Count(got, "\n") != 4 {
		t.Fatalf("the waiting client printed\n%s\nwant\n%s<n>", got, want)
	}
	t.Logf("the waiting client got change %q of %q", strings.TrimPrefix(strings.TrimSpace(got), strings.TrimSpace(want)), last)

	// An error, as the client shows it.
	out, stderr, err = run(`SET WORKLOAD=OLAP; VSTREAM * FROM pg.nokey\G`)
	if err == nil || !strings.Contains(stderr, "\nERROR 1290 (HY000) at line 1: PostgreSQL postgres://postgres@") ||
		!strings.Contains(stderr, "has no primary key") {
		t.Fatalf("VSTREAM of a keyless table in the mariadb client: %v\nstdout %q\nstderr %q", err, out, stderr)
	}
}
