package integration

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/integration/faultproxy"
	"github.com/vstreamd/vstreamd/integration/testdb"
	"github.com/vstreamd/vstreamd/server"
)

// Recovery (contract §3): if the source restarts or the connection drops
// mid-stream, the stream reconnects and continues after the last delivered
// row, nothing lost or repeated; if it cannot (outage too long, position
// purged), the statement ends with a warning naming the last token.
//
// vstreamd reaches MariaDB through a fault proxy; the tests write on
// MariaDB directly and read through vstreamd with go-sql-driver.

const recSchema = "CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, s VARCHAR(64))"

// recEnv is a MariaDB, a fault proxy in front of it and a vstreamd whose
// keyspace shop streams MariaDB's database shop through the proxy.
type recEnv struct {
	m     *testdb.MariaDB
	proxy *faultproxy.Proxy
	db    *sql.DB // MariaDB directly, as admin, on shop
	s     *Server
	logs  *recLog
}

// startRecEnv starts the environment; params are source URL parameters
// (e.g. "reconnect=2s").
func startRecEnv(t *testing.T, cfg server.Config, params string) *recEnv {
	t.Helper()
	m := testdb.StartMariaDB(t, testdb.MariaDBOptions{Extra: []string{"--binlog-row-metadata=FULL"}})
	e := &recEnv{m: m, db: m.Admin(t, "shop"), logs: &recLog{}}
	mustExec(t, e.db, recSchema)
	e.proxy = faultproxy.Start(t, m.Addr())
	u := url.URL{Scheme: "mysql", User: url.UserPassword(testdb.ReplUser, testdb.ReplPass), Host: e.proxy.Addr(), Path: "/shop", RawQuery: params}
	cfg.Keyspaces = []catalog.KeyspaceConfig{{Name: "shop", Source: u.String()}}
	cfg.Logger = slog.New(e.logs)
	e.s = Start(t, cfg)
	return e
}

// selectAll is the table on MariaDB, as lines.
func (e *recEnv) selectAll(t *testing.T) []string {
	t.Helper()
	return queryLines(t, e.db, "SELECT * FROM t ORDER BY id")
}

// dumpThreads counts MariaDB's binlog dump threads serving vstreamd.
func (e *recEnv) dumpThreads(t *testing.T) int {
	t.Helper()
	var n int
	err := e.db.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ? AND COMMAND LIKE 'Binlog Dump%'",
		testdb.ReplUser).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitDumpThreads polls until MariaDB has n dump threads for vstreamd. A
// stream releases its thread within a second; the deadline leaves room for
// a loaded machine, and for the server to notice a connection the proxy
// cut (at its next heartbeat).
func (e *recEnv) waitDumpThreads(t *testing.T, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := e.dumpThreads(t)
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			_, ps := query(t, e.db, "SELECT ID, USER, COMMAND, TIME, STATE FROM information_schema.PROCESSLIST")
			t.Fatalf("%s: %d binlog dump threads, want %d; processlist %q", what, got, n, ps)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// binlogOffset is MariaDB's current binlog file and offset.
func (e *recEnv) binlogOffset(t *testing.T) (string, int64) {
	t.Helper()
	var file string
	var pos int64
	var ignore [2]sql.NullString
	if err := e.db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &ignore[0], &ignore[1]); err != nil {
		t.Fatal(err)
	}
	return file, pos
}

// recPurge rotates the binary log and purges every earlier file (as the
// binlog engine's conformance harness does): MariaDB keeps a file until
// its binlog checkpoint has passed and while a dump thread reads it.
func recPurge(t *testing.T, db *sql.DB) {
	t.Helper()
	mustExec(t, db, "FLUSH BINARY LOGS")
	var file string
	var pos int64
	var ignore [2]sql.NullString
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &ignore[0], &ignore[1]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		db.Exec("FLUSH ENGINE LOGS")
		mustExec(t, db, "PURGE BINARY LOGS TO '"+file+"'")
		if n := len(queryLines(t, db, "SHOW BINARY LOGS")); n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("binary logs remain after PURGE BINARY LOGS TO '%s': %q", file, queryLines(t, db, "SHOW BINARY LOGS"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// recLog is a slog handler that keeps every record, so a test can see what
// the engine did (a reconnect, a replay inside a transaction).
type recLog struct {
	mu    sync.Mutex
	recs  []recRecord
	attrs []slog.Attr
	root  *recLog
}

type recRecord struct {
	msg   string
	attrs map[string]string
}

func (l *recLog) store() *recLog {
	if l.root != nil {
		return l.root
	}
	return l
}

func (l *recLog) Enabled(context.Context, slog.Level) bool { return true }

func (l *recLog) Handle(_ context.Context, r slog.Record) error {
	rec := recRecord{msg: r.Message, attrs: map[string]string{}}
	for _, a := range l.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	st := l.store()
	st.mu.Lock()
	st.recs = append(st.recs, rec)
	st.mu.Unlock()
	return nil
}

func (l *recLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &recLog{root: l.store(), attrs: append(append([]slog.Attr{}, l.attrs...), as...)}
}

func (l *recLog) WithGroup(string) slog.Handler { return l }

// find returns the records whose message starts with msg.
func (l *recLog) find(msg string) []recRecord {
	st := l.store()
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []recRecord
	for _, r := range st.recs {
		if strings.HasPrefix(r.msg, msg) {
			out = append(out, r)
		}
	}
	return out
}

// waitLog polls until at least n records start with msg, and returns them.
func (l *recLog) waitLog(t *testing.T, msg string, n int) []recRecord {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		if rs := l.find(msg); len(rs) >= n {
			return rs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log has %d records %q, want %d", len(l.find(msg)), msg, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const (
	msgReconnecting = "replication connection lost; reconnecting"
	msgResumeInside = "resuming replication inside a transaction"
)

// liveStream reads a statement's rows in a goroutine as they come, so the
// test can wait for rows while it injects faults.
type liveStream struct {
	q      string
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	lines  []string
	err    error // the result set's end: nil is a clean end
}

// startLive runs q on c. The statement's deadline is long: the tests
// restart servers and wait out reconnect windows while it runs.
func startLive(t *testing.T, c querier, q string) *liveStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	rows, err := c.QueryContext(ctx, q)
	if err != nil {
		cancel()
		t.Fatalf("%s: %v", q, err)
	}
	ls := &liveStream{q: q, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(ls.done)
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			ls.finish(err)
			return
		}
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				ls.finish(err)
				return
			}
			parts := make([]string, len(vals))
			for i, v := range vals {
				if v == nil {
					parts[i] = "NULL"
				} else {
					parts[i] = string(v)
				}
			}
			ls.mu.Lock()
			ls.lines = append(ls.lines, strings.Join(parts, " "))
			ls.mu.Unlock()
		}
		ls.finish(rows.Err())
	}()
	t.Cleanup(ls.stop)
	return ls
}

func (ls *liveStream) finish(err error) {
	ls.mu.Lock()
	ls.err = err
	ls.mu.Unlock()
}

// stop abandons the statement (a client that goes away) and waits for the
// reader.
func (ls *liveStream) stop() {
	ls.cancel()
	<-ls.done
}

func (ls *liveStream) snapshot() []string {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return append([]string(nil), ls.lines...)
}

// waitFor polls until cond holds for the rows read so far, and returns
// them. The stream must not end meanwhile.
func (ls *liveStream) waitFor(t *testing.T, what string, cond func([]string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		got := ls.snapshot()
		if cond(got) {
			return got
		}
		select {
		case <-ls.done:
			if got := ls.snapshot(); cond(got) {
				return got
			}
			t.Fatalf("%s: %s: the stream ended (err %v) after %d rows", what, ls.q, ls.err, len(ls.snapshot()))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s: not after %s; %d rows read, the last %q", what, ls.q, wait, len(got), tail(got, 3))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitRows waits until n rows were read.
func (ls *liveStream) waitRows(t *testing.T, n int) []string {
	t.Helper()
	return ls.waitFor(t, fmt.Sprintf("%d rows", n), func(got []string) bool { return len(got) >= n })
}

// waitKey waits until a row for key id was read (a marker), and returns
// every row read up to and including it.
func (ls *liveStream) waitKey(t *testing.T, id int64) []string {
	t.Helper()
	at := -1
	ls.waitFor(t, fmt.Sprintf("the row of key %d", id), func(got []string) bool {
		at = recIndexOfKey(got, id)
		return at >= 0
	})
	return ls.snapshot()[:at+1]
}

// waitEnd waits for the statement to end and returns its rows and error.
func (ls *liveStream) waitEnd(t *testing.T) ([]string, error) {
	t.Helper()
	select {
	case <-ls.done:
	case <-time.After(wait):
		t.Fatalf("%s: still running after %s (%d rows)", ls.q, wait, len(ls.snapshot()))
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return append([]string(nil), ls.lines...), ls.err
}

func tail(ls []string, n int) []string {
	return ls[max(0, len(ls)-n):]
}

// recIndexOfKey is the index of the first op row of key id, or -1.
func recIndexOfKey(ls []string, id int64) int {
	needle := " " + strconv.FormatInt(id, 10) + " "
	for i, l := range ls {
		if len(l) > 2 && strings.HasPrefix(l[1:], needle) {
			return i
		}
	}
	return -1
}

// stripPos removes the trailing pos column from op rows.
func stripPos(t *testing.T, ls []string) []string {
	t.Helper()
	rows, _ := withPos(t, ls)
	return rows
}

// recWriter makes random transactions on MariaDB directly and keeps a model
// of the table, so it knows how many op rows each one must produce.
type recWriter struct {
	randomTxns
	db   *sql.DB
	rows map[int64]bool
	ops  int // op rows the writes so far must produce
}

func newRecWriter(db *sql.DB, seed, maxID int64) *recWriter {
	return &recWriter{randomTxns: randomTxns{rng: rand.New(rand.NewSource(seed)), maxID: maxID}, db: db, rows: map[int64]bool{}}
}

// seed inserts keys from..to in one statement (outside the model's ops).
func (w *recWriter) seed(t *testing.T, from, to int64) {
	t.Helper()
	for id := from; id <= to; id++ {
		w.rows[id] = true
	}
	mustExec(t, w.db, "INSERT INTO t (id, v, s) VALUES "+seedValues(from, to))
}

// txn makes one random transaction of 1 to 4 statements and counts its op
// rows.
func (w *recWriter) txn(ctx context.Context) error {
	stmts, after, ops := w.next("t", 4, w.rows)
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	for id, p := range after {
		w.rows[id] = p
	}
	w.ops += ops
	return nil
}

// txns makes n random transactions.
func (w *recWriter) txns(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		err := w.txn(ctx)
		cancel()
		if err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
}

// marker inserts a row with a key outside the writer's range, which the
// stream must deliver after everything written before it; it returns the
// key.
func (w *recWriter) marker(t *testing.T) int64 {
	t.Helper()
	w.seq++
	id := 1_000_000 + w.seq
	mustExec(t, w.db, fmt.Sprintf("INSERT INTO t (id, v, s) VALUES (%d, 0, 'marker')", id))
	w.ops++
	return id
}

// checkExact folds every op row the client received and compares the image
// with the table on MariaDB: fold fails on a '+' for a present key or a
// '*'/'-' for an absent one (a row twice), the comparison on a row lost.
func (e *recEnv) checkExact(t *testing.T, what string, opRows []string) {
	t.Helper()
	equalLines(t, what+": fold of the stream = SELECT * on MariaDB", fold(t, nil, opRows), e.selectAll(t)...)
}

// TestRecoverCutIdle: the proxy cuts the replication connection while the
// stream waits for changes, several times, also right after a commit the
// client may not have read yet. The stream reconnects through the proxy
// and delivers every change once; MariaDB is left with one dump thread.
func TestRecoverCutIdle(t *testing.T) {
	t.Parallel()
	e := startRecEnv(t, server.Config{}, "")
	w := newRecWriter(e.db, 1, 200)
	w.seed(t, 1, 20)
	ls := startLive(t, olap(t, e.s, "shop"), "VSTREAM * FROM t")
	got := ls.waitRows(t, 20)
	equalLines(t, "copy", fold(t, nil, got), e.selectAll(t)...)
	e.waitDumpThreads(t, 1, "streaming")

	accepted := e.proxy.Accepted()
	for round := 1; round <= 3; round++ {
		w.txns(t, 20)
		want := 20 + w.ops
		ls.waitRows(t, want) // caught up: idle
		if n := e.proxy.Cut(); n == 0 {
			t.Fatalf("round %d: the proxy had no connection to cut", round)
		}
		// Changes made while the stream is down, and a commit right
		// before the next cut.
		w.txns(t, 5)
		e.logs.waitLog(t, msgReconnecting, round)
	}
	w.txns(t, 3)
	e.proxy.Cut() // the client may not have read the last commits
	mk := w.marker(t)
	got = ls.waitKey(t, mk)
	if len(got) != 20+w.ops {
		t.Fatalf("read %d op rows, the writes made %d (+20 copy rows)", len(got), w.ops)
	}
	e.checkExact(t, "after 4 cuts", got)
	if e.proxy.Accepted() <= accepted {
		t.Fatalf("no new connection through the proxy after the cuts (accepted %d, was %d)", e.proxy.Accepted(), accepted)
	}
	// The cut connections' dump threads go away: no leak on the source.
	e.waitDumpThreads(t, 1, "after the cuts")
	ls.stop()
	e.waitDumpThreads(t, 0, "after the client went away")
}

// TestRecoverCutMidTransaction: the connection is cut while the rows of a
// large transaction flow, after the client received the first k of them,
// and cut again while the reconnected stream replays that transaction's
// rows already sent (before it passes them). Each row arrives once.
//
// Determinism: the proxy is slowed so the transaction takes many seconds
// to pass it; once the client has k rows the proxy stalls, and the test
// checks from the proxy's byte count that the transaction's end (its
// commit) has not passed it, before it cuts.
func TestRecoverCutMidTransaction(t *testing.T) {
	t.Parallel()
	e := startRecEnv(t, server.Config{}, "")
	w := newRecWriter(e.db, 2, 200)
	w.seed(t, 1, 20)
	ls := startLive(t, olap(t, e.s, "shop"), "VSTREAM * FROM t")
	ls.waitRows(t, 20)
	w.txns(t, 10)
	ls.waitRows(t, 20+w.ops)

	const (
		rate  = 64 << 10 // bytes per second through the proxy
		txRow = 20000    // rows the transaction inserts
		txUpd = 500      // … then updates
		k     = 1000     // rows of it the client reads before the cut
	)
	e.proxy.Slow(rate)
	file0, off0 := e.binlogOffset(t)
	down0 := e.proxy.BytesDown()
	before := len(ls.snapshot())
	{
		tx, err := e.db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		var vals []string
		for i := int64(1); i <= txRow; i++ {
			vals = append(vals, fmt.Sprintf("(%d, %d, 'large transaction row %06d')", 100_000+i, i, i))
		}
		for _, q := range []string{
			"INSERT INTO t (id, v, s) VALUES " + strings.Join(vals, ", "),
			fmt.Sprintf("UPDATE t SET v = v + 1 WHERE id BETWEEN 100001 AND %d", 100_000+txUpd),
		} {
			if _, err := tx.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		w.ops += txRow + txUpd
	}
	file1, off1 := e.binlogOffset(t)
	if file1 != file0 {
		t.Fatalf("the binary log rotated during the transaction (%s → %s)", file0, file1)
	}
	txBytes := off1 - off0

	ls.waitRows(t, before+k)
	e.proxy.Stall(0)
	if fwd := e.proxy.BytesDown() - down0; fwd >= txBytes {
		t.Fatalf("precondition: %d bytes passed the proxy since the transaction (of %d bytes) began: its commit may have, so the cut would not be inside it", fwd, txBytes)
	}
	e.proxy.Cut()
	down1 := e.proxy.BytesDown()
	e.proxy.Resume()
	first := e.logs.waitLog(t, msgResumeInside, 1)[0]
	sent, _ := strconv.Atoi(first.attrs["rows"])
	if sent < k || sent >= txRow+txUpd {
		t.Fatalf("the reconnect drops %d rows already sent; the client had read %d of the transaction's %d", sent, k, txRow+txUpd)
	}

	// Cut again while the replay is still dropping the rows sent before:
	// fewer bytes than k rows' worth passed since the first cut.
	rowBytes := txBytes / (txRow + txUpd)
	ls.mu.Lock()
	readAtCut := len(ls.lines)
	ls.mu.Unlock()
	deadline := time.Now().Add(wait)
	for e.proxy.BytesDown()-down1 < 4<<10 {
		if time.Now().After(deadline) {
			t.Fatalf("the reconnected stream reads nothing through the proxy")
		}
		time.Sleep(2 * time.Millisecond)
	}
	e.proxy.Stall(0)
	if fwd := e.proxy.BytesDown() - down1; fwd >= int64(k/2)*rowBytes {
		t.Fatalf("precondition: %d bytes passed since the first cut, %d rows' worth: the replay may have passed the rows sent", fwd, fwd/rowBytes)
	}
	e.proxy.Cut()
	e.proxy.Resume()
	second := e.logs.waitLog(t, msgResumeInside, 2)[1]
	if second.attrs["rows"] != first.attrs["rows"] || second.attrs["gtid"] != first.attrs["gtid"] {
		t.Fatalf("second reconnect drops %s rows of %s, want %s of %s as the first (no row was sent in between)",
			second.attrs["rows"], second.attrs["gtid"], first.attrs["rows"], first.attrs["gtid"])
	}
	if n := len(ls.snapshot()); n-readAtCut > 2*k {
		t.Logf("%d rows arrived during the replay (buffered before the first cut)", n-readAtCut)
	}

	e.proxy.Slow(0)
	w.txns(t, 5)
	mk := w.marker(t)
	got := ls.waitKey(t, mk)
	if len(got) != 20+w.ops {
		t.Fatalf("read %d op rows, the writes made %d (+20 copy rows)", len(got), w.ops)
	}
	e.checkExact(t, "after two cuts inside a transaction", got)
	// The transaction's rows, in order, each once.
	txLines := got[before : before+txRow+txUpd]
	for i, l := range txLines {
		var want string
		if i < txRow {
			want = fmt.Sprintf("+ %d %d large transaction row %06d", 100_001+i, i+1, i+1)
		} else {
			j := i - txRow + 1
			want = fmt.Sprintf("* %d %d large transaction row %06d", 100_000+j, j+1, j)
		}
		if l != want {
			t.Fatalf("row %d of the transaction: %q, want %q", i+1, l, want)
		}
	}
	e.waitDumpThreads(t, 1, "after the cuts")
}

// TestRecoverDuringCopy: the connection is cut several times during the
// copy phase (chunks of 50 rows, a slowed proxy so the copy lasts), while
// changes are made, and then MariaDB restarts, still during the copy: the
// copy's chunks are retried and the stream continues exactly.
func TestRecoverDuringCopy(t *testing.T) {
	t.Parallel()
	e := startRecEnv(t, server.Config{ChunkRows: 50}, "reconnect=2m")
	const rows = 4000
	w := newRecWriter(e.db, 9, rows+rows/2)
	for from := int64(1); from <= rows; from += 1000 {
		w.seed(t, from, from+999)
	}
	e.proxy.Slow(64 << 10)
	ls := startLive(t, olap(t, e.s, "shop"), "VSTREAM * FROM t")
	for i := 1; i <= 5; i++ {
		ls.waitRows(t, 200*i)
		e.proxy.Cut()
		w.txns(t, 5)
	}
	atRestart := len(ls.waitRows(t, 1100))
	e.m.Restart(t)
	w.txns(t, 5)
	e.proxy.Slow(0)
	mk := w.marker(t)
	got := ls.waitKey(t, mk)
	e.checkExact(t, "cuts and a restart during the copy", got)
	copied := 0
	for _, l := range got[atRestart:] {
		if strings.Contains(l, " seed ") {
			copied++
		}
	}
	if copied == 0 {
		t.Fatalf("no copy row after the restart: the copy was over before it")
	}
	t.Logf("%d rows before the restart, %d copy rows after it", atRestart, copied)
	e.waitDumpThreads(t, 1, "streaming")
}

// TestRecoverRestart: MariaDB restarts mid-stream, right after commits the
// stream has not necessarily read; the stream continues exactly.
func TestRecoverRestart(t *testing.T) {
	t.Parallel()
	// A restart of a loaded test machine's server can take a while.
	e := startRecEnv(t, server.Config{}, "reconnect=2m")
	w := newRecWriter(e.db, 3, 300)
	w.seed(t, 1, 30)
	c := olap(t, e.s, "shop")
	ls := startLive(t, c, "VSTREAM * FROM t")
	ls.waitRows(t, 30)
	w.txns(t, 20)
	ls.waitRows(t, 30+w.ops)
	w.txns(t, 20) // maybe not read yet when the server goes down
	e.m.Restart(t)
	w.txns(t, 20)
	e.logs.waitLog(t, msgReconnecting, 1)
	mk := w.marker(t)
	got := ls.waitKey(t, mk)
	if len(got) != 30+w.ops {
		t.Fatalf("read %d op rows, the writes made %d (+30 copy rows)", len(got), w.ops)
	}
	e.checkExact(t, "after a restart", got)

	// Again, with the stream caught up and idle.
	e.m.Restart(t)
	w.txns(t, 10)
	mk = w.marker(t)
	got = ls.waitKey(t, mk)
	if len(got) != 30+w.ops {
		t.Fatalf("read %d op rows, the writes made %d (+30 copy rows)", len(got), w.ops)
	}
	e.checkExact(t, "after a second restart", got)
	e.waitDumpThreads(t, 1, "streaming after the restarts")
}

// TestRecoverOutage: the source stays unreachable longer than the reconnect
// window (reconnect=2s): the statement ends cleanly, SHOW WARNINGS has 1429
// naming the last delivered token, and the next VSTREAM of the session,
// once the source is back, continues exactly there.
func TestRecoverOutage(t *testing.T) {
	t.Parallel()
	e := startRecEnv(t, server.Config{}, "reconnect=2s")
	w := newRecWriter(e.db, 4, 100)
	w.seed(t, 1, 10)
	c := olap(t, e.s, "shop")
	ls := startLive(t, c, "VSTREAM *, pos FROM t")
	ls.waitRows(t, 10)
	w.txns(t, 10)
	ls.waitRows(t, 10+w.ops)

	e.proxy.Refuse(true)
	e.proxy.Cut()
	got, err := ls.waitEnd(t)
	if err != nil {
		t.Fatalf("the statement ended with %v, want a clean end and a warning", err)
	}
	if len(got) != 10+w.ops {
		t.Fatalf("read %d rows, want %d", len(got), 10+w.ops)
	}
	rows, tokens := withPos(t, got)
	_, ws := query(t, c, "SHOW WARNINGS")
	if len(ws) != 1 || ws[0][0] != "Warning" || ws[0][1] != "1429" {
		t.Fatalf("SHOW WARNINGS after the outage: %q, want one Warning 1429", ws)
	}
	m := resumeHint.FindStringSubmatch(ws[0][2])
	if m == nil || !strings.Contains(ws[0][2], "reconnecting for 2s did not help") {
		t.Fatalf("warning %q: want it to say reconnecting failed and name the token to resume from", ws[0][2])
	}
	tok := m[1]
	t.Logf("warning: %s %s %s", ws[0][0], ws[0][1], ws[0][2])
	equalLines(t, "the warning's token is the session's position", []string{tok}, positionOf(t, c, "shop.t"))
	if len(e.logs.find(msgReconnecting)) == 0 {
		t.Fatalf("the engine did not try to reconnect")
	}
	e.waitDumpThreads(t, 0, "after the statement ended")

	// While the source is down, a new statement fails before any row.
	err = queryErr(t, c, "VSTREAM * FROM t")
	wantErr(t, "VSTREAM while the source is down", err, 1429)

	// Changes during the outage; then the source comes back.
	w.txns(t, 10)
	e.proxy.Refuse(false)
	w.txns(t, 10)
	mk := w.marker(t)
	next := startLive(t, c, "VSTREAM *, pos FROM t")
	more := next.waitKey(t, mk)
	all := append(rows, stripPos(t, more)...)
	if len(all) != 10+w.ops {
		t.Fatalf("read %d op rows in both statements, the writes made %d (+10 copy rows)", len(all), w.ops)
	}
	e.checkExact(t, "the session continued after the outage", all)

	// The warning's token and the last row's token are the same place:
	// from either, a new session reads exactly the rows after it.
	fromWarning := queryLines(t, olap(t, e.s, "shop"), fmt.Sprintf("VSTREAM * FROM t WHERE pos > '%s' AND pos <= 'current'", tok))
	fromLastRow := queryLines(t, olap(t, e.s, "shop"), fmt.Sprintf("VSTREAM * FROM t WHERE pos > '%s' AND pos <= 'current'", tokens[len(tokens)-1]))
	equalLines(t, "from the warning's token", fromWarning, stripPos(t, more)...)
	equalLines(t, "from the last row's token", fromLastRow, stripPos(t, more)...)
}

// TestRecoverPurged: while the stream is cut off, the source purges the
// binary log it still needs: once the source is back, the statement ends
// with warning 1236 naming the last token; the session's next VSTREAM
// fails with 1236 before any row; a fresh copy (pos > ”) works.
func TestRecoverPurged(t *testing.T) {
	t.Parallel()
	e := startRecEnv(t, server.Config{}, "")
	w := newRecWriter(e.db, 5, 100)
	w.seed(t, 1, 10)
	c := olap(t, e.s, "shop")
	ls := startLive(t, c, "VSTREAM *, pos FROM t")
	ls.waitRows(t, 10)
	w.txns(t, 10)
	ls.waitRows(t, 10+w.ops)
	read := 10 + w.ops

	e.proxy.Refuse(true)
	e.proxy.Cut()
	e.logs.waitLog(t, msgReconnecting, 1)
	w.txns(t, 10)
	recPurge(t, e.db)
	e.proxy.Refuse(false)

	got, err := ls.waitEnd(t)
	if err != nil {
		t.Fatalf("the statement ended with %v, want a clean end and a warning", err)
	}
	if len(got) != read {
		t.Fatalf("read %d rows, want the %d written before the cut", len(got), read)
	}
	_, ws := query(t, c, "SHOW WARNINGS")
	if len(ws) != 1 || ws[0][0] != "Warning" || ws[0][1] != "1236" {
		t.Fatalf("SHOW WARNINGS after the purge: %q, want one Warning 1236", ws)
	}
	m := resumeHint.FindStringSubmatch(ws[0][2])
	if m == nil {
		t.Fatalf("warning %q does not name the token to resume from", ws[0][2])
	}
	t.Logf("warning: %s %s %s", ws[0][0], ws[0][1], ws[0][2])
	equalLines(t, "the warning's token is the session's position", []string{m[1]}, positionOf(t, c, "shop.t"))
	e.waitDumpThreads(t, 0, "after the statement ended")

	// Continuing is impossible: an error before any row.
	wantErr(t, "the session's next VSTREAM", queryErr(t, c, "VSTREAM * FROM t"), 1236)
	wantErr(t, "from the warning's token", queryErr(t, olap(t, e.s, "shop"), fmt.Sprintf("VSTREAM * FROM t WHERE pos > '%s'", m[1])), 1236)

	// A fresh copy works, in this session and a new one.
	copied := queryLines(t, c, "VSTREAM * FROM t WHERE pos > '' AND pos <= 'current'")
	e.checkExact(t, "a fresh copy after the purge", copied)
	for _, l := range copied {
		if !strings.HasPrefix(l, "+ ") {
			t.Fatalf("fresh copy row %q is not a '+' row", l)
		}
	}
	// … and streams on from there.
	w.txns(t, 5)
	mk := w.marker(t)
	ls2 := startLive(t, c, "VSTREAM * FROM t")
	e.checkExact(t, "the fresh copy and the changes after it", append(copied, ls2.waitKey(t, mk)...))
}

// TestRecoverKillDuringCopy: KILL QUERY during the copy phase of a MariaDB
// table (chunks of 50 rows) while another goroutine writes random changes
// on MariaDB, then more statements of the same session, each killed after
// some rows: the session continues exactly, and the fold of everything read
// equals the table.
func TestRecoverKillDuringCopy(t *testing.T) {
	t.Parallel()
	e := startRecEnv(t, server.Config{ChunkRows: 50}, "")
	const rows = 4000
	w := newRecWriter(e.db, 6, rows+rows/2)
	for from := int64(1); from <= rows; from += 1000 {
		w.seed(t, from, from+999)
	}

	// Random changes until the test says stop; errors come back on a
	// channel (no t.Fatal outside the test goroutine).
	stop := make(chan struct{})
	werr := make(chan error, 1)
	go func() {
		defer close(werr)
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			err := w.txn(ctx)
			cancel()
			if err != nil {
				werr <- err
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	stopWriter := func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		if err := <-werr; err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
	})

	c := olap(t, e.s, "shop")
	id := connID(t, c)
	rng := rand.New(rand.NewSource(7))
	var all []string
	// The proxy is slow during the first statement, so the copy of the
	// table (hundreds of kilobytes) cannot be done when the client has
	// read a hundred rows.
	e.proxy.Slow(64 << 10)
	phases := map[string]int{}
	for round := 1; round <= 6; round++ {
		ls := startLive(t, c, "VSTREAM * FROM t LIMIT 1000000")
		n := 100 // round 1: in the copy
		switch {
		case round == 1:
		case round <= 4:
			n = 1 + rng.Intn(1500)
		case round > 4:
			n = 2000 + rng.Intn(2000) // likely past the copy
		}
		ls.waitRows(t, n)
		killQuery(t, e.s, id)
		got, err := ls.waitEnd(t)
		if err != nil {
			t.Fatalf("round %d: the killed statement ended with %v, want a clean end", round, err)
		}
		all = append(all, got...)
		interrupted(t, c)
		_, phase := query(t, c, "SELECT phase FROM vstream_positions()")
		t.Logf("round %d: KILL QUERY after %d rows (%d in all), phase %s", round, len(got), len(all), phase[0][0])
		phases[phase[0][0]]++
		if round == 1 {
			e.proxy.Slow(0)
			if phase[0][0] != "copy" {
				t.Fatalf("the first KILL QUERY came after the copy (phase %s): the test needs a larger table", phase[0][0])
			}
		}
		// Every op row so far folds cleanly (no '+' twice, no '*' or '-'
		// of an absent key).
		fold(t, nil, all)
		e.waitDumpThreads(t, 0, fmt.Sprintf("round %d: after KILL QUERY", round))
	}
	stopWriter()
	all = append(all, queryLines(t, c, "VSTREAM * FROM t WHERE pos <= 'current' LIMIT 10000000")...)
	e.checkExact(t, "copy and changes across 6 KILL QUERY", all)
	t.Logf("KILL QUERY phases %v; %d rows in all, %d changes written", phases, len(all), w.ops)
}

// TestRecoverReleasesSource: a stream's replication connection (MariaDB's
// binlog dump thread) is released soon after KILL QUERY, after the client
// disconnects, and after KILL QUERY while the stream is reconnecting to a
// source that hangs (the proxy stalls: the connection is open but no byte
// flows).
func TestRecoverReleasesSource(t *testing.T) {
	t.Parallel()
	e := startRecEnv(t, server.Config{}, "")
	w := newRecWriter(e.db, 8, 50)
	w.seed(t, 1, 5)

	t.Run("KILL QUERY", func(t *testing.T) {
		c := olap(t, e.s, "shop")
		id := connID(t, c)
		ls := startLive(t, c, "VSTREAM * FROM t")
		ls.waitRows(t, 5)
		e.waitDumpThreads(t, 1, "streaming")
		killQuery(t, e.s, id)
		if _, err := ls.waitEnd(t); err != nil {
			t.Fatalf("ended with %v", err)
		}
		e.waitDumpThreads(t, 0, "after KILL QUERY")
	})
	t.Run("client disconnects", func(t *testing.T) {
		rc := newRawClient(t, e.s, "shop")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c, err := rc.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		mustExec(t, c, "SET WORKLOAD=OLAP")
		rows, err := c.QueryContext(ctx, "VSTREAM * FROM t")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for i := 0; i < 5; i++ {
			if !rows.Next() {
				t.Fatalf("row %d: %v", i+1, rows.Err())
			}
		}
		e.waitDumpThreads(t, 1, "streaming")
		rc.cut()
		e.waitDumpThreads(t, 0, "after the client went away")
	})
	t.Run("KILL QUERY while reconnecting to a hung source", func(t *testing.T) {
		c := olap(t, e.s, "shop")
		id := connID(t, c)
		ls := startLive(t, c, "VSTREAM * FROM t")
		ls.waitRows(t, 5)
		e.waitDumpThreads(t, 1, "streaming")
		e.proxy.Stall(0)
		defer e.proxy.Resume()
		accepted := e.proxy.Accepted()
		e.proxy.Cut()
		// The stream reconnects (after the connection that KILLs the old
		// dump thread): the new connection hangs in its handshake.
		e.logs.waitLog(t, msgReconnecting, 1)
		deadline := time.Now().Add(wait)
		for e.proxy.Accepted() < accepted+2 {
			if time.Now().After(deadline) {
				t.Fatal("the stream did not reconnect")
			}
			time.Sleep(5 * time.Millisecond)
		}
		killed := time.Now()
		killQuery(t, e.s, id)
		// The statement ends while the source still hangs, well before
		// the connect timeout (10 s).
		end := time.Now().Add(5 * time.Second)
		for {
			select {
			case <-ls.done:
			default:
				if time.Now().After(end) {
					t.Fatalf("the statement still runs 5 s after KILL QUERY while the source hangs")
				}
				time.Sleep(10 * time.Millisecond)
				continue
			}
			break
		}
		t.Logf("the statement ended %s after KILL QUERY", time.Since(killed).Round(time.Millisecond))
		if _, err := ls.waitEnd(t); err != nil {
			t.Fatalf("ended with %v", err)
		}
		if a := e.proxy.Active(); a > 0 {
			// Only the source's idle SQL connections may remain.
			t.Logf("%d connections through the proxy remain", a)
		}
		e.proxy.Resume()
		e.waitDumpThreads(t, 0, "after KILL QUERY")
		stillUsable(t, c)
	})
}
