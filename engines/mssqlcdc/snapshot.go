package mssqlcdc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// Snapshot implements engines.Source: a SNAPSHOT-isolation transaction
// that sees exactly the transactions that wrote the table with a commit
// LSN at or before its position.
//
// SQL Server does not say which log position a snapshot corresponds to,
// and the capture job lags behind the log, so sys.fn_cdc_get_max_lsn()
// read before the snapshot would name an older position than the data
// the snapshot sees (its rows would then be streamed again). So:
//
//  1. On one connection, a READ COMMITTED transaction takes a shared lock
//     on the table: SELECT TOP (1) 1 FROM t WITH (TABLOCK, HOLDLOCK). It
//     waits for the transactions writing the table to end and keeps new
//     writers out until it ends.
//  2. On another connection, a SNAPSHOT transaction reads the table once:
//     its view starts at this first read (not at BEGIN TRAN), so it holds
//     every transaction that wrote the table before the lock and none
//     after it.
//  3. Still under the lock, the end of the log is read
//     (sys.dm_db_log_stats.log_end_lsn): every writer of the table that
//     committed before the lock has its commit record at or before it,
//     every later one after it.
//  4. The lock is released (writers wait for the instant of steps 2 and 3).
//
// The log end is the snapshot's position. The change stream reaches it
// once the capture job has processed the log that far (see stream.go), and
// stops exactly there: the source marks the position (see marks.go).
func (s *Source) Snapshot(ctx context.Context, name string) (engines.Snapshot, error) {
	if err := s.preflight(ctx); err != nil {
		return nil, err
	}
	t, err := s.readTable(ctx, name)
	if err != nil {
		return nil, s.classify(err)
	}
	lock, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return nil, s.classify(err)
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, fmt.Sprintf(qLock, t.qualified())); err != nil {
		return nil, s.classify(fmt.Errorf("locking %s for the instant a snapshot starts: %w", t.qualified(), err))
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSnapshot})
	if err != nil {
		return nil, s.classify(err)
	}
	sn := &snapshot{src: s, tx: tx, t: t}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(qSnapshotStart, t.qualified())); err != nil {
		sn.Close()
		return nil, s.classify(err)
	}
	sn.taken = time.Now()
	s.marks.mu.Lock()
	sn.pos, err = s.logEnd(ctx, lock)
	if err == nil {
		s.marks.add(sn.pos, sn.taken)
	}
	s.marks.mu.Unlock()
	if err != nil {
		sn.Close()
		return nil, err
	}
	if err := lock.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		sn.Close()
		return nil, s.classify(err)
	}
	return sn, nil
}

// snapshot is a SNAPSHOT transaction on one table.
type snapshot struct {
	src   *Source
	tx    *sql.Tx
	t     *table
	pos   lsn
	taken time.Time
}

func (sn *snapshot) Position() engines.Position { return sn.pos.position() }
func (sn *snapshot) Time() time.Time            { return sn.taken }
func (sn *snapshot) Columns() []string          { return sn.t.names() }

// Close ends the transaction.
func (sn *snapshot) Close() error {
	err := sn.tx.Rollback()
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// Scan reads up to limit rows after the key after, in key order.
func (sn *snapshot) Scan(ctx context.Context, after []any, limit int, send func(row []any) error) error {
	query, args, err := sn.t.scanQuery(after, limit)
	if err != nil {
		return err
	}
	rows, err := sn.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return sn.src.classify(err)
	}
	defer rows.Close()
	cols := sn.t.columns
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return sn.src.classify(err)
		}
		row := make([]any, len(cols))
		for i := range cols {
			if row[i], err = cols[i].decode(vals[i]); err != nil {
				return fmt.Errorf("reading %s: %w", sn.t.qualified(), err)
			}
		}
		if err := send(row); err != nil {
			return err
		}
	}
	return sn.src.classify(rows.Err())
}

// scanQuery builds a chunk's query: the rows after the key after, in key
// order (NULL first), at most limit. A composite key is compared column by
// column: (k1 > v1) OR (k1 = v1 AND k2 > v2) …
func (t *table) scanQuery(after []any, limit int) (string, []any, error) {
	var b strings.Builder
	b.WriteString("SELECT ")
	if limit > 0 {
		b.WriteString("TOP (" + strconv.Itoa(limit) + ") ")
	}
	for i, c := range t.columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteName(c.name))
	}
	b.WriteString(" FROM " + t.qualified())
	var args []any
	if after != nil {
		param := func(c *column, v any) (string, error) {
			a, expr, err := c.keyParam(v, "@p"+strconv.Itoa(len(args)+1))
			if err != nil {
				return "", err
			}
			args = append(args, a)
			return expr, nil
		}
		var ors []string
		for i := range t.key {
			var ands []string
			for j := 0; j < i; j++ {
				c := &t.columns[t.key[j]]
				if after[j] == nil {
					ands = append(ands, c.orderExpr()+" IS NULL")
					continue
				}
				p, err := param(c, after[j])
				if err != nil {
					return "", nil, err
				}
				ands = append(ands, c.orderExpr()+" = "+p)
			}
			c := &t.columns[t.key[i]]
			if after[i] == nil {
				ands = append(ands, quoteName(c.name)+" IS NOT NULL") // everything sorts after NULL
			} else {
				p, err := param(c, after[i])
				if err != nil {
					return "", nil, err
				}
				ands = append(ands, c.orderExpr()+" > "+p)
			}
			ors = append(ors, strings.Join(ands, " AND "))
		}
		b.WriteString(" WHERE (" + strings.Join(ors, ") OR (") + ")")
	}
	b.WriteString(" ORDER BY ")
	for i, k := range t.key {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(t.columns[k].orderExpr())
	}
	return b.String(), args, nil
}
