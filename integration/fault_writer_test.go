package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// faultWriter makes random transactions on the source directly (never
// through a fault proxy) while the fault matrix injects faults: 1 to 5
// statements each (see randomTxns).
// Its transactions may fail (the source restarts under it): a failed
// commit's outcome is unknown, so the writer reads the table's keys again
// before its next transaction. The oracle never trusts the writer's
// model; it compares with the table itself.
type faultWriter struct {
	randomTxns
	db    *sql.DB
	table string
	pause time.Duration // between transactions

	held atomic.Bool // no transactions while set (see hold)

	model map[int64]bool // keys present, as far as the writer knows
	dirty bool           // a transaction's outcome is unknown: read the keys again

	mu       sync.Mutex
	commits  int
	failures int
	lastErr  error
}

func newFaultWriter(db *sql.DB, table string, seed, maxID int64, pause time.Duration) *faultWriter {
	return &faultWriter{randomTxns: randomTxns{rng: rand.New(rand.NewSource(seed)), maxID: maxID},
		db: db, table: table, pause: pause, model: map[int64]bool{}, dirty: true}
}

// seedRows inserts keys 1..n in statements of up to 500 rows.
func (w *faultWriter) seedRows(ctx context.Context, n int64) error {
	for from := int64(1); from <= n; from += 500 {
		if _, err := w.db.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (id, v, s) VALUES %s", w.table, seedValues(from, min(n, from+499)))); err != nil {
			return fmt.Errorf("seeding %s: %w", w.table, err)
		}
	}
	return nil
}

// resync reads the keys present from the table.
func (w *faultWriter) resync(ctx context.Context) error {
	rows, err := w.db.QueryContext(ctx, "SELECT id FROM "+w.table)
	if err != nil {
		return err
	}
	defer rows.Close()
	m := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		m[id] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	w.model, w.dirty = m, false
	return nil
}

// txn makes one random transaction.
func (w *faultWriter) txn(ctx context.Context) error {
	if w.dirty {
		if err := w.resync(ctx); err != nil {
			return fmt.Errorf("reading the keys: %w", err)
		}
	}
	stmts, after, _ := w.next(w.table, 5, w.model)
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
		w.dirty = true // committed or not: unknown
		return fmt.Errorf("commit: %w", err)
	}
	for id, p := range after {
		w.model[id] = p
	}
	return nil
}

// run makes transactions until ctx ends. Failures are counted, not fatal:
// faults make them; after one the writer waits a little.
func (w *faultWriter) run(ctx context.Context) {
	for ctx.Err() == nil {
		if w.held.Load() {
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		tctx, cancel := context.WithTimeout(ctx, wait)
		err := w.txn(tctx)
		cancel()
		w.mu.Lock()
		if err == nil {
			w.commits++
		} else if ctx.Err() == nil || !errors.Is(err, context.Canceled) {
			w.failures++
			w.lastErr = err
			w.dirty = true
		}
		w.mu.Unlock()
		d := w.pause
		if err != nil {
			d = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
}

// hold stops (true) or resumes (false) the writer's transactions: while a
// slowed connection carries a large transaction, the writer's own traffic
// could exceed the rate, and the stream would never catch up.
func (w *faultWriter) hold(on bool) { w.held.Store(on) }

// stats returns the commits and failures so far.
func (w *faultWriter) stats() (commits, failures int, lastErr error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.commits, w.failures, w.lastErr
}

// bigTxn makes one large transaction on keys of its own (base+1 ..
// base+n), which the writer never touches: n inserts, then updates of a
// third of them, then deletes of a fifth. It returns how many op rows it
// makes.
func bigTxn(ctx context.Context, db *sql.DB, table string, base int64, n int) (int, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var vals []string
	for i := int64(1); i <= int64(n); i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, 'big %d')", base+i, i, i))
	}
	upd, del := n/3, n/5
	for _, q := range []string{
		fmt.Sprintf("INSERT INTO %s (id, v, s) VALUES %s", table, strings.Join(vals, ", ")),
		fmt.Sprintf("UPDATE %s SET v = v + 1 WHERE id > %d AND id <= %d", table, base, base+int64(upd)),
		fmt.Sprintf("DELETE FROM %s WHERE id > %d AND id <= %d", table, base+int64(n-del), base+int64(n)),
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("large transaction: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("large transaction: commit: %w", err)
	}
	return n + upd + del, nil
}
