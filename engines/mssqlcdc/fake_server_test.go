package mssqlcdc

// A simulated SQL Server database with change data capture, for the
// engine's tests (no SQL Server can run on the machines this project is
// built on). It models what the engine depends on, from Microsoft's
// documentation:
//
//   - tables of typed rows; transactions under READ COMMITTED (the latest
//     committed rows and the transaction's own) and SNAPSHOT isolation
//     (the rows committed when the transaction first reads data, not at
//     BEGIN TRAN: "Transaction isolation levels", SET TRANSACTION
//     ISOLATION LEVEL);
//   - table locks: a writer holds an exclusive lock on each table it
//     writes until it ends; WITH (TABLOCK, HOLDLOCK) holds a shared lock
//     until the transaction ends (writers wait for it, and it for them);
//   - the transaction log: every row change and every commit is a log
//     record with a growing LSN (binary(10), "vlf:block:slot"); a commit
//     writes its commit record first and becomes visible after it (a test
//     hook can pause in between, as a real commit's log flush does);
//   - change data capture (see fake_cdc_test.go): a capture job that runs
//     only when the test (or the simulated Agent) says, change tables
//     filled from the log, cdc.lsn_time_mapping, log scan sessions,
//     validity intervals and cleanup.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
)

// fakeOptions are the server's settings.
type fakeOptions struct {
	database          string
	edition           int64  // SERVERPROPERTY('EngineEdition'): 2 Standard, 3 Enterprise/Developer, 4 Express
	version           string // SERVERPROPERTY('ProductVersion')
	cdcEnabled        bool   // sys.databases.is_cdc_enabled
	snapshotIsolation int64  // sys.databases.snapshot_isolation_state
	delayedDurability int64  // sys.databases.delayed_durability
	tzOffset          time.Duration
}

func defaultFakeOptions() fakeOptions {
	return fakeOptions{database: "shop", edition: 3, version: "15.0.4415.2", cdcEnabled: true, snapshotIsolation: 1, tzOffset: 2 * time.Hour}
}

// fakeUser is a database user and what it may do.
type fakeUser struct {
	name      string
	dbOwner   bool
	selectAll bool
	selects   map[string]bool // "schema.table", lower case
	roles     map[string]bool
	viewState bool // VIEW DATABASE STATE
}

type fcol struct {
	id       int
	name     string
	typ      ftype
	notNull  bool
	identity bool
}

type ftable struct {
	id      int64
	schema  string
	name    string
	cols    []fcol
	pk      []int // column positions
	tracked bool
}

func (t *ftable) key() string { return strings.ToLower(t.schema + "." + t.name) }

func (t *ftable) col(name string) int {
	for i, c := range t.cols {
		if strings.EqualFold(c.name, name) {
			return i
		}
	}
	return -1
}

// rowsOf is a table's rows at one moment; a committed version is never
// modified (a commit publishes a new one).
type rowsOf [][]any

// recKind is what a log record records.
type recKind uint8

const (
	recOp        recKind = iota + 1 // a row change of an open transaction
	recCommit                       // a transaction's commit record
	recAbort                        // a rollback
	recDDL                          // CREATE/ALTER TABLE and other metadata
	recCDCEnable                    // sys.sp_cdc_enable_table
	recCapture                      // the capture job's own writes
)

type rowOp struct {
	t             *ftable
	seq           uint64 // its log record: __$seqval
	kind          byte   // 'I', 'D', 'U'
	before, after []any
}

type logRec struct {
	seq   uint64
	kind  recKind
	txn   *committed // recCommit
	ci    *fci       // recCDCEnable
	table *ftable    // recDDL
}

// committed is a committed transaction as its commit record holds it.
type committed struct {
	id          int64
	ops         []rowOp
	began, done time.Time
}

type fakeServer struct {
	mu        sync.Mutex
	opts      fakeOptions
	users     map[string]*fakeUser
	tables    map[string]*ftable
	objectSeq int64
	txnSeq    int64
	state     map[*ftable]rowsOf // the committed rows
	seq       uint64             // the last log record's
	log       []logRec
	locks     map[*ftable]*tableLock
	released  chan struct{} // closed when a lock is released
	now       func() time.Time

	// commitHook, if set, runs between a commit's log record and its
	// visibility (outside the server's mutex).
	commitHook func(commitLSN lsn)

	// down makes the server unreachable: connections are refused and
	// queries fail as on a reset connection.
	down atomic.Bool
	// failRows, when positive, makes a result set fail (as a reset
	// connection) after that many more rows.
	failRows atomic.Int64
	// polls counts the queries of sys.fn_cdc_get_max_lsn().
	polls atomic.Int64

	cdc cdcState
}

func newFakeServer(opts fakeOptions) *fakeServer {
	s := &fakeServer{opts: opts, users: map[string]*fakeUser{}, tables: map[string]*ftable{}, state: map[*ftable]rowsOf{},
		locks: map[*ftable]*tableLock{}, released: make(chan struct{}), now: time.Now, objectSeq: 1000}
	s.cdc.agent = true
	s.addUser(&fakeUser{name: "sa", dbOwner: true, selectAll: true, viewState: true})
	return s
}

func (s *fakeServer) addUser(u *fakeUser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.selects == nil {
		u.selects = map[string]bool{}
	}
	if u.roles == nil {
		u.roles = map[string]bool{}
	}
	s.users[u.name] = u
}

// fakeLSN encodes a log record number as an LSN: virtual log file 0x2A,
// eight records a block.
func fakeLSN(seq uint64) lsn {
	var l lsn
	vlf, block, slot := uint32(0x2A+seq>>24), uint32(0x10+(seq>>3)&0x1FFFFF), uint16(seq&7+1)
	l[0], l[1], l[2], l[3] = byte(vlf>>24), byte(vlf>>16), byte(vlf>>8), byte(vlf)
	l[4], l[5], l[6], l[7] = byte(block>>24), byte(block>>16), byte(block>>8), byte(block)
	l[8], l[9] = byte(slot>>8), byte(slot)
	return l
}

// seqOf finds the log record number of an LSN: the greatest record at or
// before it (LSNs between records map down).
func (s *fakeServer) seqOf(l lsn) uint64 {
	lo, hi := uint64(0), s.seq
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fakeLSN(mid).compare(l) <= 0 {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// appendLog writes a log record; the caller holds s.mu.
func (s *fakeServer) appendLog(r logRec) uint64 {
	s.seq++
	r.seq = s.seq
	s.log = append(s.log, r)
	return r.seq
}

func (s *fakeServer) logEnd() lsn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fakeLSN(s.seq)
}

func (s *fakeServer) table(parts []string) (*ftable, bool) {
	schema, name := "dbo", parts[len(parts)-1]
	if len(parts) >= 2 {
		schema = parts[len(parts)-2]
	}
	t, ok := s.tables[strings.ToLower(schema+"."+name)]
	return t, ok
}

func (u *fakeUser) canSelect(t *ftable) bool {
	return u.dbOwner || u.selectAll || u.selects[t.key()]
}

// sqlErr is a SQL Server error as go-mssqldb returns it.
func sqlErr(number int32, format string, args ...any) error {
	return mssql.Error{Number: number, Class: 16, State: 1, Message: fmt.Sprintf(format, args...)}
}

// tableLock is one table's lock: one exclusive holder (a writer) or
// shared holders (TABLOCK, HOLDLOCK), never both (except one transaction
// holding both).
type tableLock struct {
	x *ftxn
	s map[*ftxn]bool
}

// lock takes a table lock for tx, waiting for incompatible holders.
func (s *fakeServer) lock(ctx context.Context, tx *ftxn, t *ftable, exclusive bool) error {
	for {
		s.mu.Lock()
		l := s.locks[t]
		if l == nil {
			l = &tableLock{s: map[*ftxn]bool{}}
			s.locks[t] = l
		}
		ok := l.x == nil || l.x == tx
		if exclusive {
			for h := range l.s {
				if h != tx {
					ok = false
				}
			}
		}
		if ok {
			if exclusive {
				l.x = tx
			} else {
				l.s[tx] = true
			}
			tx.locked[t] = true
			s.mu.Unlock()
			return nil
		}
		wait := s.released
		s.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(30 * time.Second):
			return sqlErr(1222, "Lock request time out period exceeded.")
		}
	}
}

// unlockAll releases tx's locks; the caller holds s.mu.
func (s *fakeServer) unlockAll(tx *ftxn) {
	if len(tx.locked) == 0 {
		return
	}
	for t := range tx.locked {
		if l := s.locks[t]; l != nil {
			if l.x == tx {
				l.x = nil
			}
			delete(l.s, tx)
		}
	}
	tx.locked = map[*ftable]bool{}
	close(s.released)
	s.released = make(chan struct{})
}

// ftxn is a transaction (an explicit one, or one statement's).
type ftxn struct {
	srv      *fakeServer
	user     *fakeUser
	id       int64
	snapshot bool               // SNAPSHOT isolation
	view     map[*ftable]rowsOf // a SNAPSHOT transaction's view, from its first data access
	working  map[*ftable]rowsOf // rows of the tables it wrote
	ops      []rowOp
	locked   map[*ftable]bool
	began    time.Time
}

func (s *fakeServer) begin(u *fakeUser, snapshot bool) *ftxn {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txnSeq++
	return &ftxn{srv: s, user: u, id: s.txnSeq, snapshot: snapshot, working: map[*ftable]rowsOf{}, locked: map[*ftable]bool{}, began: s.now()}
}

// rows returns what tx reads of t.
func (tx *ftxn) rows(t *ftable) (rowsOf, error) {
	if w, ok := tx.working[t]; ok {
		return w, nil
	}
	s := tx.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if tx.snapshot {
		if s.opts.snapshotIsolation != 1 {
			return nil, sqlErr(errSnapshotNotAllow, "Snapshot isolation transaction failed accessing database '%s' because snapshot isolation is not allowed in this database. Use ALTER DATABASE to allow snapshot isolation.", s.opts.database)
		}
		if tx.view == nil {
			tx.view = make(map[*ftable]rowsOf, len(s.state))
			for k, v := range s.state {
				tx.view[k] = v
			}
		}
		return tx.view[t], nil
	}
	return s.state[t], nil
}

// write returns t's rows for tx to change, taking the table's exclusive
// lock first.
func (tx *ftxn) write(ctx context.Context, t *ftable) (rowsOf, error) {
	if w, ok := tx.working[t]; ok {
		return w, nil
	}
	if err := tx.srv.lock(ctx, tx, t, true); err != nil {
		return nil, err
	}
	tx.srv.mu.Lock()
	w := append(rowsOf(nil), tx.srv.state[t]...)
	tx.srv.mu.Unlock()
	tx.working[t] = w
	return w, nil
}

// logOp records a row change in the log (its LSN is the change's seqval).
func (tx *ftxn) logOp(op rowOp) {
	s := tx.srv
	s.mu.Lock()
	op.seq = s.appendLog(logRec{kind: recOp})
	s.mu.Unlock()
	tx.ops = append(tx.ops, op)
}

// commit writes the commit record, then makes the changes visible and
// releases the locks.
func (tx *ftxn) commit() {
	s := tx.srv
	if len(tx.ops) == 0 {
		s.mu.Lock()
		s.unlockAll(tx)
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	c := &committed{id: tx.id, ops: tx.ops, began: tx.began, done: s.now()}
	seq := s.appendLog(logRec{kind: recCommit, txn: c})
	hook := s.commitHook
	s.mu.Unlock()
	if hook != nil {
		hook(fakeLSN(seq))
	}
	s.mu.Lock()
	next := make(map[*ftable]rowsOf, len(s.state))
	for k, v := range s.state {
		next[k] = v
	}
	for t, w := range tx.working {
		next[t] = w
	}
	s.state = next
	s.unlockAll(tx)
	s.mu.Unlock()
}

// rollback forgets the changes (their log records stay, with an abort).
func (tx *ftxn) rollback() {
	s := tx.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(tx.ops) > 0 {
		s.appendLog(logRec{kind: recAbort})
	}
	s.unlockAll(tx)
}

// count is the number of committed rows of a table (sys.partitions).
func (s *fakeServer) count(t *ftable) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.state[t]))
}

// commits lists the commit LSNs of the transactions that changed rows.
func (s *fakeServer) commits() []lsn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []lsn
	for _, r := range s.log {
		if r.kind == recCommit {
			out = append(out, fakeLSN(r.seq))
		}
	}
	return out
}
