package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

// follower is the fault matrix's client: it streams the run's table
// through vstreamd as a user would, and after every failure reconnects
// and resumes with the last token it received (VSTREAM … WHERE pos >
// 'last'). Every row goes to the oracle as it arrives.
type follower struct {
	r   *faultRun
	rng *rand.Rand // the follower's choices (its goroutine's, under mu)

	mu  sync.Mutex
	o   *foldOracle
	st  followerState
	log []string // how the last statements ended, for the run's log

	cancel context.CancelFunc // stops the loop
	done   chan struct{}
}

// followerState is what the scenarios wait on.
type followerState struct {
	rows        int  // rows received, every statement
	stmtRows    int  // rows of the current statement
	copying     bool // the last token is a copy-phase token
	bigRows     int  // rows of keys >= bigBase (large transactions)
	statements  int
	warnings    int // statements that ended with a warning naming a token
	failedRows  int // statements that broke after rows (connection lost)
	failedEarly int // statements that failed before any row
	unavailable int // resumes refused as unavailable (1236): a fresh copy followed
	fromWarning int // resumes from a warning's token rather than the last row's
}

// bigBase is where the keys of large transactions start (the writer's are
// below).
const bigBase = 1_000_000

// vstreamLimit is the LIMIT of the follower's statements: far more rows
// than a run makes (the default is 100).
const vstreamLimit = 1_000_000_000

func newFollower(r *faultRun, seed int64) *follower {
	return &follower{r: r, rng: rand.New(rand.NewSource(seed)), o: newFoldOracle(r.src.comparePositions)}
}

// state is a snapshot of the follower's counters.
func (f *follower) state() followerState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

// start runs the follower until stop.
func (f *follower) start() {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan struct{})
	go func() {
		defer close(f.done)
		f.loop(ctx, "")
	}()
}

// stop ends the running statement as a client that goes away, and the
// loop.
func (f *follower) stop() {
	if f.cancel != nil {
		f.cancel()
		<-f.done
		f.cancel = nil
	}
}

// giveUp is how long the follower keeps trying to resume without a row
// before it reports the stream as stuck.
const giveUp = 2 * time.Minute

// loop runs statements until ctx ends, resuming after each end. With a
// bound (catch-up), it returns once a statement reached it.
func (f *follower) loop(ctx context.Context, bound string) {
	var stuckSince time.Time
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		out := f.statement(ctx, bound)
		if ctx.Err() != nil {
			return
		}
		f.mu.Lock()
		f.st.statements++
		f.st.stmtRows = 0
		f.log = append(f.log, out.String())
		if len(f.log) > 200 {
			f.log = f.log[1:]
		}
		f.mu.Unlock()
		switch {
		case out.rows > 0:
			stuckSince, backoff = time.Time{}, 50*time.Millisecond
		case stuckSince.IsZero():
			stuckSince = time.Now()
		case time.Since(stuckSince) > giveUp:
			f.problem("no row for %v: the last statement ended with %s", giveUp, out)
			return
		}
		var me *mysql.MySQLError
		switch {
		case out.err == nil && out.warning == "":
			if bound != "" {
				return // caught up
			}
			f.problem("VSTREAM without a bound ended with neither an error nor a warning after %d rows", out.rows)
		case out.err == nil:
			f.mu.Lock()
			f.st.warnings++
			f.mu.Unlock()
			f.checkWarning(out)
		case out.rows > 0:
			f.mu.Lock()
			f.st.failedRows++
			f.mu.Unlock()
		case errors.As(out.err, &me) && me.Number == 1236:
			// The position is gone: allowed only after a purge, and then the
			// user starts afresh.
			if !f.r.purged.Load() {
				f.problem("resuming from %s refused as unavailable without a purge: %v", f.lastToken(), out.err)
				return
			}
			f.checkRefusal(out, me)
			f.mu.Lock()
			f.st.unavailable++
			f.o.fresh()
			f.mu.Unlock()
			continue
		default:
			f.mu.Lock()
			f.st.failedEarly++
			f.mu.Unlock()
		}
		if out.rows == 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
		}
	}
}

// catchUp reads up to the source's current position (the writer has
// stopped), resuming after failures.
func (f *follower) catchUp() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*giveUp)
	defer cancel()
	f.loop(ctx, " AND pos <= 'current'")
	if ctx.Err() != nil {
		f.problem("the catch-up to pos <= 'current' did not end within %v", 3*giveUp)
	}
}

func (f *follower) problem(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.o.problem(format, args...)
}

// recent is how the last n statements ended.
func (f *follower) recent(n int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), tail(f.log, n)...)
}

// problems is what the oracle found wrong so far.
func (f *follower) problems() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.o.problems...)
}

func (f *follower) lastToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.o.lastToken()
}

// outcome is how a statement ended.
type outcome struct {
	rows    int
	from    string // the token it resumed from
	last    string // the last token it delivered (from if none)
	err     error  // the statement's error (before or after rows)
	warning string // SHOW WARNINGS after a clean end: "code message"
}

func (o outcome) String() string {
	switch {
	case o.err != nil:
		return fmt.Sprintf("%d rows, error %v", o.rows, o.err)
	case o.warning != "":
		return fmt.Sprintf("%d rows, warning %s", o.rows, o.warning)
	}
	return fmt.Sprintf("%d rows, clean end", o.rows)
}

// statement runs one VSTREAM on a new connection from the last token.
func (f *follower) statement(ctx context.Context, bound string) outcome {
	from := f.lastToken()
	out := outcome{from: from, last: from}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", f.r.clientAddr(), "shop"
	cfg.Timeout = 5 * time.Second
	cfg.Logger = log.New(io.Discard, "", 0) // broken connections are the point here
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		out.err = err
		return out
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		out.err = err
		return out
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "SET WORKLOAD=OLAP"); err != nil {
		out.err = err
		return out
	}
	q := fmt.Sprintf("VSTREAM *, pos FROM %s WHERE pos > '%s'%s LIMIT %d", f.r.table, from, bound, vstreamLimit)
	rows, err := c.QueryContext(ctx, q)
	if err != nil {
		out.err = err
		return out
	}
	f.mu.Lock()
	f.st.stmtRows = 0
	f.mu.Unlock()
	var vals [5]sql.RawBytes
	ptrs := []any{&vals[0], &vals[1], &vals[2], &vals[3], &vals[4]}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			out.err = err
			return out
		}
		id, _ := strconv.ParseInt(string(vals[1]), 10, 64)
		s := "NULL"
		if vals[3] != nil {
			s = string(vals[3])
		}
		r := faultRow{op: string(vals[0]), id: id, vals: fmt.Sprintf("%s %s %s", vals[1], vals[2], s), token: string(vals[4])}
		f.mu.Lock()
		f.o.add(r)
		f.st.rows++
		f.st.stmtRows++
		f.st.copying = f.o.lastOrd.copying
		if id >= bigBase {
			f.st.bigRows++
		}
		f.mu.Unlock()
		out.rows++
		out.last = r.token
	}
	out.err = rows.Err()
	rows.Close()
	if out.err != nil {
		return out
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	wr, err := c.QueryContext(wctx, "SHOW WARNINGS")
	if err != nil {
		out.err = fmt.Errorf("SHOW WARNINGS after a clean end: %w", err)
		return out
	}
	defer wr.Close()
	var ws []string
	for wr.Next() {
		var level, code, msg string
		if err := wr.Scan(&level, &code, &msg); err != nil {
			out.err = err
			return out
		}
		ws = append(ws, code+" "+msg)
	}
	if err := wr.Err(); err != nil {
		out.err = fmt.Errorf("SHOW WARNINGS after a clean end: %w", err)
		return out
	}
	out.warning = strings.Join(ws, " | ")
	return out
}

// checkRefusal checks that a resume refused as unavailable names the
// position of the token it resumed from: the user sees which position is
// gone.
func (f *follower) checkRefusal(out outcome, me *mysql.MySQLError) {
	if out.from == "" {
		return
	}
	ord, err := parseTokenOrder(out.from)
	if err != nil {
		f.problem("the token resumed from: %v", err)
		return
	}
	if !strings.Contains(me.Message, ord.pos) {
		f.problem("resuming from %s (position %s) refused with %q, which does not name the position", out.from, ord.pos, me.Message)
	}
}

// checkWarning checks that a statement that ended with a warning named a
// token to resume from: the last token the client received, or one
// equivalent to it (the stream's place after the transaction of that row
// ended, or after changes of other tables), never one before it. Half the
// time the follower then resumes from the warning's token, as a user
// reading SHOW WARNINGS would: had it skipped rows, the fold would miss
// them.
func (f *follower) checkWarning(out outcome) {
	m := resumeHint.FindStringSubmatch(out.warning)
	if m == nil {
		f.problem("warning %q does not name a token to resume from", out.warning)
		return
	}
	if m[1] == out.last || (out.last == "" && out.rows == 0) {
		return // a fresh copy that delivered nothing names the start
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w, err := parseTokenOrder(m[1])
	if err != nil {
		f.o.problem("warning %q: %v", out.warning, err)
		return
	}
	c, err := compareOrder(w, f.o.lastOrd, f.o.cmp)
	switch {
	case err != nil:
		f.o.problem("warning %q: comparing its token with the last row's %s: %v", out.warning, out.last, err)
	case c < 0:
		f.o.problem("warning %q names a token before the last row received (%s)", out.warning, out.last)
	case f.rng.Intn(2) == 0:
		f.o.last, f.o.lastOrd = m[1], w
		f.st.fromWarning++
	}
}
