package mssqlcdc

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// Operations of a change row (__$operation).
const (
	opDelete    = 1
	opInsert    = 2
	opUpdateOld = 3 // the row before an update ('all update old' only)
	opUpdateNew = 4 // the row after it
)

// change is one row of a change function.
type change struct {
	table     int // index in poller.tables
	start     lsn // __$start_lsn: the commit LSN of its transaction
	seq       lsn // __$seqval: its place in the transaction
	op        int64
	at        time.Time // the commit time, UTC
	vals      []any     // the captured columns, decoded
	unchanged []bool    // LOB columns an update did not change (update_mask)
}

// changesQuery reads a capture instance's changes in a closed LSN range
// (@p1, @p2). For the LOB columns, whose values the function leaves NULL
// in the before image of an update that did not change them, it also
// reads the column's bit of the update mask.
func (t *table) changesQuery() string {
	var b strings.Builder
	b.WriteString("SELECT __$start_lsn, __$seqval, __$operation, sys.fn_cdc_map_lsn_to_time(__$start_lsn)")
	for _, c := range t.columns {
		b.WriteString(", " + quoteName(c.name))
	}
	for _, c := range t.columns {
		if c.lob() {
			b.WriteString(", sys.fn_cdc_is_bit_set(sys.fn_cdc_get_column_ordinal(" + quoteString(t.ci.name) + ", " + quoteString(c.name) + "), __$update_mask)")
		}
	}
	b.WriteString(" FROM cdc." + quoteName("fn_cdc_get_all_changes_"+t.ci.name) + "(@p1, @p2, N'all update old')")
	b.WriteString(" ORDER BY __$start_lsn, __$seqval, __$operation")
	return b.String()
}

// window sends the transactions with a commit LSN in [from, to]; n counts
// their row changes. One table's changes are read as they come; several
// tables' are read whole and merged in commit order.
func (p *poller) window(ctx context.Context, from, to lsn) (int, error) {
	if len(p.tables) == 1 {
		var n int
		err := p.readChanges(ctx, 0, from, to, func(c *change) error {
			n++
			return p.apply(c)
		})
		if err != nil {
			return n, err
		}
		return n, p.endTransaction()
	}
	var all []*change
	for i := range p.tables {
		err := p.readChanges(ctx, i, from, to, func(c *change) error {
			all = append(all, c)
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if c := a.start.compare(b.start); c != 0 {
			return c < 0
		}
		if c := a.seq.compare(b.seq); c != 0 {
			return c < 0
		}
		return a.op < b.op
	})
	for _, c := range all {
		if err := p.apply(c); err != nil {
			return len(all), err
		}
	}
	return len(all), p.endTransaction()
}

// readChanges runs one table's change function over [from, to].
func (p *poller) readChanges(ctx context.Context, ti int, from, to lsn, each func(*change) error) error {
	t := p.tables[ti]
	rows, err := p.s.db.QueryContext(ctx, t.changesQuery(), from[:], to[:])
	if err != nil {
		return p.changeError(t, err)
	}
	defer rows.Close()
	var lobs []int
	for i := range t.columns {
		if t.columns[i].lob() {
			lobs = append(lobs, i)
		}
	}
	vals := make([]any, 4+len(t.columns)+len(lobs))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	tz := p.s.serverOffset()
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		c := &change{table: ti, vals: make([]any, len(t.columns))}
		var ok bool
		if c.start, err = lsnValue(vals[0]); err != nil {
			return err
		}
		if c.seq, err = lsnValue(vals[1]); err != nil {
			return err
		}
		if c.op, ok = vals[2].(int64); !ok {
			return fmt.Errorf("%s: __$operation %v (%T)", t.qualified(), vals[2], vals[2])
		}
		if at, ok := vals[3].(time.Time); ok {
			// A local time of the server (cdc.lsn_time_mapping), as a
			// wall clock.
			y, m, d := at.Date()
			h, mi, s := at.Clock()
			c.at = time.Date(y, m, d, h, mi, s, at.Nanosecond(), time.UTC).Add(-tz)
		}
		for i := range t.columns {
			if c.vals[i], err = t.columns[i].decode(vals[4+i]); err != nil {
				return fmt.Errorf("a change of %s at %s: %w", t.qualified(), c.start, err)
			}
		}
		if len(lobs) > 0 {
			c.unchanged = make([]bool, len(t.columns))
			for j, i := range lobs {
				set, _ := vals[4+len(t.columns)+j].(bool)
				c.unchanged[i] = !set
			}
		}
		if err := each(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return p.changeError(t, err)
	}
	return nil
}

// changeError explains the errors of a change function.
func (p *poller) changeError(t *table, err error) error {
	n, msg, ok := errNumber(err)
	switch {
	case ok && (n == errCDCRange || strings.Contains(msg, "insufficient number of arguments")):
		// The range left the capture instance's validity interval between
		// the poll's check and the query: the cleanup job removed changes.
		return engines.Errorf(engines.ErrPositionUnavailable, "SQL Server %s: the changes of %s after position %s were removed while the stream read them (capture instance %s, retention: sys.sp_cdc_change_job @retention): start afresh with pos > ''",
			p.s.cfg.Redacted, t.qualified(), p.pos, t.ci.name)
	case ok && n == errInvalidObject:
		return engines.Errorf(engines.ErrMisconfigured, "SQL Server %s: capture instance %s of %s is gone (sys.sp_cdc_disable_table?): %s; run VSTREAM again to use the table's current capture instance", p.s.cfg.Redacted, t.ci.name, t.qualified(), msg)
	}
	return err
}

// apply turns a change row into events: a Commit when its transaction
// differs from the open one, then the row change (an update's two rows
// become one event).
func (p *poller) apply(c *change) error {
	if p.open && c.start != p.openLSN {
		if err := p.endTransaction(); err != nil {
			return err
		}
	}
	if !p.open {
		// The position right before the transaction: its rows' tokens
		// then name it whatever the stream passed before (a snapshot's
		// mark, the capture job's progress), so a token means the same
		// in every stream.
		p.passMarks(c.start)
		if before := c.start.prev(); before.compare(p.pos) > 0 {
			p.commit(before, time.Time{})
		}
		p.open, p.openLSN, p.openTime = true, c.start, c.at
	}
	t := p.tables[c.table]
	if old := p.before; old != nil {
		p.before = nil
		if c.op != opUpdateNew || c.seq != old.seq || c.table != old.table {
			return fmt.Errorf("%s: change table row %s/%s: an update's before image is not followed by its after image", t.qualified(), old.start, old.seq)
		}
		for i, same := range c.unchanged {
			if same && old.vals[i] == nil {
				old.vals[i] = c.vals[i]
			}
		}
		return p.add(engines.Event{Kind: engines.RowChange, Table: t.name, Columns: t.names(), Before: old.vals, After: c.vals, Time: c.at})
	}
	switch c.op {
	case opDelete:
		return p.add(engines.Event{Kind: engines.RowChange, Table: t.name, Columns: t.names(), Before: c.vals, Time: c.at})
	case opInsert:
		return p.add(engines.Event{Kind: engines.RowChange, Table: t.name, Columns: t.names(), After: c.vals, Time: c.at})
	case opUpdateOld:
		p.before = c
		return nil
	}
	return fmt.Errorf("%s: change table row %s/%s: __$operation %d without its before image", t.qualified(), c.start, c.seq, c.op)
}

// endTransaction commits the open transaction, if any.
func (p *poller) endTransaction() error {
	if !p.open {
		return nil
	}
	if p.before != nil {
		return fmt.Errorf("%s: an update's before image at %s is the last row of its transaction", p.tables[p.before.table].qualified(), p.before.start)
	}
	p.open = false
	p.commit(p.openLSN, p.openTime)
	return nil
}
