package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"strings"
	"sync"

	"github.com/go-sql-driver/mysql"
)

// loadSession is one client connection of a load worker.
type loadSession struct {
	conn *sql.Conn
	raw  net.Conn // its TCP connection, to cut it
	id   int64
	// streamed: the session has state for the worker's stream (a VSTREAM
	// without pos > continues it); rows is what vstream_positions() must
	// show as rows_delivered for it.
	streamed bool
	rows     int64
}

// loadWorker is one of the load test's concurrent clients. It follows one
// stream (a table of a keyspace) through sessions that come and go: each
// statement continues where the last one it checked ended.
type loadWorker struct {
	r          *loadRun
	n          int
	ks, table  string
	rnd        *rand.Rand
	db         *sql.DB // its own pool: no idle connections, every Conn a new session
	persistent bool    // keeps its session from round to round
	main       *loadSession
	chk        streamCheck

	dialMu sync.Mutex
	dialed net.Conn
}

// newLoadWorker opens the worker's pool; its connections can be cut.
func newLoadWorker(r *loadRun, n int, ks, table string) (*loadWorker, error) {
	w := &loadWorker{r: r, n: n, ks: ks, table: table, rnd: rand.New(rand.NewSource(int64(n) + 1)), persistent: n%5 == 0}
	w.chk.table = table
	cfg, err := mysql.ParseDSN(r.s.DSN("root", "", "", nil))
	if err != nil {
		return nil, err
	}
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err == nil {
			w.dialMu.Lock()
			w.dialed = c
			w.dialMu.Unlock()
		}
		return c, err
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	w.db = sql.OpenDB(connector)
	w.db.SetMaxIdleConns(0)
	return w, nil
}

func (w *loadWorker) String() string { return fmt.Sprintf("worker %d (%s.%s)", w.n, w.ks, w.table) }

// close ends the worker's session and pool.
func (w *loadWorker) close() {
	w.drop()
	w.db.Close()
}

// drop closes the worker's session, if any.
func (w *loadWorker) drop() {
	if w.main != nil {
		w.main.conn.Close()
		w.main = nil
	}
}

// connect opens a new session in the OLAP workload.
func (w *loadWorker) connect(ctx context.Context) (*loadSession, error) {
	c, err := w.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	w.dialMu.Lock()
	sess := &loadSession{conn: c, raw: w.dialed}
	w.dialMu.Unlock()
	w.r.sessions.Add(1)
	w.r.statements.Add(2)
	if _, err := c.ExecContext(ctx, "SET WORKLOAD=OLAP"); err != nil {
		c.Close()
		return nil, fmt.Errorf("SET WORKLOAD=OLAP: %w", err)
	}
	if err := c.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&sess.id); err != nil {
		c.Close()
		return nil, fmt.Errorf("SELECT CONNECTION_ID(): %w", err)
	}
	return sess, nil
}

// session returns the worker's session, connecting if it has none.
func (w *loadWorker) session(ctx context.Context) (*loadSession, error) {
	if w.main == nil {
		sess, err := w.connect(ctx)
		if err != nil {
			return nil, err
		}
		w.main = sess
	}
	return w.main, nil
}

// round runs a few of the load's actions.
func (w *loadWorker) round(ctx context.Context, steps int) {
	for i := 0; i < steps; i++ {
		act := loadActions[w.pickAction()]
		if err := act.run(w, ctx); err != nil {
			w.r.fail(fmt.Sprintf("%v: %s: %v", w, act.name, err))
			// Start over: a new session and a new stream.
			w.drop()
			w.chk.reset(true)
		}
	}
	if !w.persistent {
		w.drop()
	}
}

// loadAction is one kind of client behaviour; weight is its share.
type loadAction struct {
	name   string
	weight int
	run    func(w *loadWorker, ctx context.Context) error
}

var loadActions = []loadAction{
	{"statements", 30, (*loadWorker).statements},
	{"resume in a new session", 12, (*loadWorker).resumeElsewhere},
	{"KILL QUERY", 14, (*loadWorker).killQuery},
	{"disconnect mid-stream", 14, (*loadWorker).disconnect},
	{"KILL connection", 6, (*loadWorker).killConnection},
	{"table functions", 16, (*loadWorker).tableFunctions},
	{"statement errors", 8, (*loadWorker).statementErrors},
}

func (w *loadWorker) pickAction() int {
	total := 0
	for _, a := range loadActions {
		total += a.weight
	}
	x := w.rnd.Intn(total)
	for i, a := range loadActions {
		if x < a.weight {
			return i
		}
		x -= a.weight
	}
	return 0
}

// start says where a statement starts.
type start int

const (
	startContinue start = iota // no pos >: the session's stream (or a fresh copy)
	startToken                 // pos > the last row's token
	startFresh                 // pos > ''
	startCurrent               // pos > 'current'
)

// pickStart chooses how the next statement of sess starts.
func (w *loadWorker) pickStart(sess *loadSession) start {
	x := w.rnd.Intn(100)
	if !sess.streamed {
		switch {
		case w.chk.lastTok != "" && x < 85:
			return startToken
		case x%3 == 0:
			return startContinue // a new session's first VSTREAM copies afresh
		case x%3 == 1:
			return startFresh
		}
		return startCurrent
	}
	switch {
	case x < 70:
		return startContinue
	case x < 85 && w.chk.lastTok != "":
		return startToken
	case x < 90:
		return startFresh
	}
	return startCurrent
}

// begin prepares the check of a statement that starts as st on sess.
func (w *loadWorker) begin(sess *loadSession, st start) {
	switch {
	case st == startFresh:
		w.chk.reset(true)
		sess.rows = 0
	case st == startCurrent:
		w.chk.reset(false)
	case st == startContinue && !sess.streamed:
		w.chk.reset(true)
	}
	sess.streamed = true
}

// statement builds a statement of the worker's stream in one of the
// forms a client may use: VSTREAM (served directly, or through
// go-mysql-server when it has a column predicate), vstream() as text or
// prepared. toCurrent adds pos <= 'current'; limit 0 means none (VSTREAM's
// default limit, or no end for vstream()).
func (w *loadWorker) statement(st start, toCurrent bool, limit int) (string, []any) {
	from := map[start]string{startToken: w.chk.lastTok, startFresh: "", startCurrent: "current"}
	switch form := w.rnd.Intn(5); form {
	case 0, 1, 2:
		q := fmt.Sprintf("VSTREAM *, pos FROM %s.%s", w.ks, w.table)
		var conds []string
		if form == 2 {
			q = fmt.Sprintf("VSTREAM id, v, note, pos FROM %s.%s", w.ks, w.table)
			conds = append(conds, "v >= 0")
		}
		if st != startContinue {
			conds = append(conds, fmt.Sprintf("pos > '%s'", from[st]))
		}
		if toCurrent {
			conds = append(conds, "pos <= 'current'")
		}
		if len(conds) > 0 {
			q += " WHERE " + strings.Join(conds, " AND ")
		}
		if limit > 0 {
			q += fmt.Sprintf(" LIMIT %d", limit)
		}
		return q, nil
	default:
		args := []any{nil, nil}
		if st != startContinue {
			args[0] = from[st]
		}
		if toCurrent {
			args[1] = "current"
		}
		q := fmt.Sprintf("SELECT op, id, v, note, pos FROM vstream('%s.%s', ?, ?)", w.ks, w.table)
		if limit > 0 {
			q += fmt.Sprintf(" LIMIT %d", limit)
		}
		if form == 3 {
			return q, args // prepared: the binary protocol
		}
		for _, a := range args {
			lit := "NULL"
			if a != nil {
				lit = "'" + a.(string) + "'"
			}
			q = strings.Replace(q, "?", lit, 1)
		}
		return q, nil
	}
}

// run runs a bounded statement of the stream on sess and checks its rows.
func (w *loadWorker) run(ctx context.Context, sess *loadSession) error {
	st := w.pickStart(sess)
	toCurrent := w.rnd.Intn(2) == 0
	limit := 1 + w.rnd.Intn(200)
	if !toCurrent {
		limit = 1 + w.rnd.Intn(5) // waits for the writer's rows
	}
	q, args := w.statement(st, toCurrent, limit)
	w.begin(sess, st)
	rows, err := w.open(ctx, sess, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if _, err := w.read(rows, sess, q, -1); err != nil {
		return err
	}
	return nil
}

// open starts a statement of the stream.
func (w *loadWorker) open(ctx context.Context, sess *loadSession, q string, args ...any) (*sql.Rows, error) {
	w.r.statements.Add(1)
	rows, err := sess.conn.QueryContext(ctx, q, args...)
	if err != nil {
		if len(args) > 0 {
			q = fmt.Sprintf("%s with %q", q, args)
		}
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	return rows, nil
}

// read checks up to n rows of a stream (n < 0: every row, and a clean
// end), counting them as delivered to sess.
func (w *loadWorker) read(rows *sql.Rows, sess *loadSession, q string, n int) (int, error) {
	got := 0
	for n < 0 || got < n {
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return got, fmt.Errorf("%s: after %d rows: %w", q, got, err)
			}
			if n >= 0 {
				return got, fmt.Errorf("%s: ended after %d rows, want %d", q, got, n)
			}
			return got, nil
		}
		var op, note, pos string
		var id, v int64
		if err := rows.Scan(&op, &id, &v, &note, &pos); err != nil {
			return got, fmt.Errorf("%s: %w", q, err)
		}
		if sess != nil {
			sess.rows++
		}
		w.r.rows.Add(1)
		got++
		if err := w.chk.row(op, id, v, note, pos); err != nil {
			return got, fmt.Errorf("%s: %w", q, err)
		}
	}
	return got, nil
}

// statements runs a few bounded statements on the worker's session.
func (w *loadWorker) statements(ctx context.Context) error {
	sess, err := w.session(ctx)
	if err != nil {
		return err
	}
	for i := 0; i < 1+w.rnd.Intn(3); i++ {
		if err := w.run(ctx, sess); err != nil {
			return err
		}
	}
	return nil
}

// resumeElsewhere leaves the session and goes on in a new one, from the
// last token.
func (w *loadWorker) resumeElsewhere(ctx context.Context) error {
	w.drop()
	sess, err := w.session(ctx)
	if err != nil {
		return err
	}
	return w.run(ctx, sess)
}

// unbounded starts a statement that never ends by itself and reads k rows
// of it (a writer is running).
func (w *loadWorker) unbounded(ctx context.Context, sess *loadSession, k int) (*sql.Rows, string, error) {
	st := w.pickStart(sess)
	q, args := w.statement(st, false, 0)
	if strings.HasPrefix(q, "VSTREAM") {
		q += " LIMIT 1000000000"
	}
	w.begin(sess, st)
	rows, err := w.open(ctx, sess, q, args...)
	if err != nil {
		return nil, q, err
	}
	if _, err := w.read(rows, sess, q, k); err != nil {
		rows.Close()
		return nil, q, err
	}
	return rows, q, nil
}

// other runs one statement on a new session of its own.
func (w *loadWorker) other(ctx context.Context, q string) error {
	sess, err := w.connect(ctx)
	if err != nil {
		return err
	}
	defer sess.conn.Close()
	w.r.statements.Add(1)
	if _, err := sess.conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	return nil
}

// killQuery: KILL QUERY from another session ends a running stream
// cleanly, with warning 1317 naming the token to resume from; both the
// session and that token continue exactly after the last row.
func (w *loadWorker) killQuery(ctx context.Context) error {
	sess, err := w.session(ctx)
	if err != nil {
		return err
	}
	rows, q, err := w.unbounded(ctx, sess, w.rnd.Intn(4))
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := w.other(ctx, fmt.Sprintf("KILL QUERY %d", sess.id)); err != nil {
		return err
	}
	if _, err := w.read(rows, sess, q, -1); err != nil {
		return fmt.Errorf("after KILL QUERY: %w", err)
	}
	w.r.statements.Add(1)
	var level, msg string
	var code int
	if err := sess.conn.QueryRowContext(ctx, "SHOW WARNINGS").Scan(&level, &code, &msg); err != nil {
		return fmt.Errorf("SHOW WARNINGS after KILL QUERY: %w", err)
	}
	m := resumeHint.FindStringSubmatch(msg)
	if level != "Warning" || code != 1317 || m == nil {
		return fmt.Errorf("SHOW WARNINGS after KILL QUERY: %s %d %q, want Warning 1317 naming the token", level, code, msg)
	}
	w.r.expected("KILL QUERY: warning 1317")

	// The warning's token, in another session, continues where the rows
	// ended, as the session itself does.
	saved := w.chk
	other, err := w.connect(ctx)
	if err != nil {
		return err
	}
	defer other.conn.Close()
	q = fmt.Sprintf("VSTREAM *, pos FROM %s.%s WHERE pos > '%s' AND pos <= 'current' LIMIT %d", w.ks, w.table, m[1], 1+w.rnd.Intn(50))
	r2, err := w.open(ctx, other, q)
	if err != nil {
		return err
	}
	defer r2.Close()
	if _, err := w.read(r2, other, q, -1); err != nil {
		return fmt.Errorf("resuming from the warning's token: %w", err)
	}
	w.chk = saved
	return w.run(ctx, sess)
}

// disconnect goes away in the middle of a stream (the client cancels, or
// its TCP connection is cut) and resumes from the last row's token in a
// new session.
func (w *loadWorker) disconnect(ctx context.Context) error {
	sess, err := w.session(ctx)
	if err != nil {
		return err
	}
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, _, err := w.unbounded(qctx, sess, 1+w.rnd.Intn(3))
	if err != nil {
		return err
	}
	if w.rnd.Intn(2) == 0 {
		cancel()
		w.r.expected("disconnect: client canceled")
	} else {
		sess.raw.Close()
		w.r.expected("disconnect: TCP connection cut")
	}
	rows.Close()
	w.main = nil
	sess.conn.Close()
	return w.resumeElsewhere(ctx)
}

// killConnection: KILL from another session ends the connection of a
// running stream; the client sees the connection end, and resumes from the
// last row's token.
func (w *loadWorker) killConnection(ctx context.Context) error {
	sess, err := w.session(ctx)
	if err != nil {
		return err
	}
	rows, q, err := w.unbounded(ctx, sess, w.rnd.Intn(3))
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := w.other(ctx, fmt.Sprintf("KILL %d", sess.id)); err != nil {
		return err
	}
	_, err = w.read(rows, sess, q, -1)
	w.main = nil
	sess.conn.Close()
	// As for MySQL's client (2013, lost connection): the driver's
	// ErrInvalidConn, never a clean end.
	if !errors.Is(err, mysql.ErrInvalidConn) {
		return fmt.Errorf("after KILL of the connection: got %v, want the connection to end", err)
	}
	w.r.expected("KILL connection: connection lost")
	return w.resumeElsewhere(ctx)
}
