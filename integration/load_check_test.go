package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// The load test's tables, the same in every keyspace. Their contents let
// every stream be checked row by row without keeping a copy of the table:
//
//   - feed: insert-only, ids 1, 2, 3 ... committed in id order by one
//     writer; v = 7*id, note = 'f<id>'. A stream of it is '+' rows whose
//     ids follow each other without a gap, from 1 after a fresh copy (the
//     copy hands out ids in order; an insert during the copy has a key past
//     the copied ones, so it comes with a later chunk).
//   - acct: loadAcctKeys keys, each updated (v+1), deleted and inserted
//     again (v+1) by the writer; note = 'a<id>.<v>'. Per key, a stream's
//     rows form the key's history: after a row with v, a '*' or '+' has
//     v+1 and a '-' has v.
const loadSchema = `
CREATE TABLE feed (id BIGINT NOT NULL, v BIGINT, note VARBINARY(64), PRIMARY KEY (id));
CREATE TABLE acct (id BIGINT NOT NULL, v BIGINT, note VARBINARY(64), PRIMARY KEY (id));
`

// loadAcctKeys is how many keys acct has.
const loadAcctKeys = 20

var loadTables = []string{"feed", "acct"}

// streamCheck follows one logical stream of a load worker (one table of one
// keyspace, continued through session state, tokens and new sessions) and
// says whether each row is the next one: nothing lost, nothing twice,
// values as the writer wrote them.
type streamCheck struct {
	table   string
	fresh   bool  // the stream started with a full copy
	next    int64 // feed: the id the next row must have (0: any, a stream started at 'current')
	acct    [loadAcctKeys + 1]acctSeen
	lastTok string // the token of the last row (resume after it)
	rows    int64  // rows checked since the start
}

type acctSeen struct {
	seen, present bool
	v             int64
}

// reset starts the check of a new stream: a full copy (fresh) or one that
// starts at the current position.
func (c *streamCheck) reset(fresh bool) {
	*c = streamCheck{table: c.table, fresh: fresh}
	if fresh {
		c.next = 1
	}
}

// row checks the next row of the stream.
func (c *streamCheck) row(op string, id, v int64, note, pos string) error {
	if !strings.HasPrefix(pos, "vs1.") {
		return fmt.Errorf("%s row %s %d: pos %q is not a token", c.table, op, id, pos)
	}
	if pos == c.lastTok {
		return fmt.Errorf("%s row %s %d: same token as the row before (%s)", c.table, op, id, pos)
	}
	switch c.table {
	case "feed":
		if op != "+" || v != 7*id || note != fmt.Sprintf("f%d", id) {
			return fmt.Errorf("feed row %s %d %d %q: not a row the writer wrote", op, id, v, note)
		}
		if c.next != 0 && id != c.next {
			return fmt.Errorf("feed row %d after %d rows: want id %d (rows lost or repeated)", id, c.rows, c.next)
		}
		c.next = id + 1
	case "acct":
		if id < 1 || id > loadAcctKeys || note != fmt.Sprintf("a%d.%d", id, v) {
			return fmt.Errorf("acct row %s %d %d %q: not a row the writer wrote", op, id, v, note)
		}
		k := &c.acct[id]
		switch {
		case !k.seen && c.fresh && op != "+":
			return fmt.Errorf("acct row %s %d %d: the first row of a key after a fresh copy must be '+'", op, id, v)
		case !k.seen:
		case op == "+" && (k.present || v != k.v+1),
			op == "*" && (!k.present || v != k.v+1),
			op == "-" && (!k.present || v != k.v):
			return fmt.Errorf("acct row %s %d %d after (present %v, v %d): not the key's next change (lost or repeated)",
				op, id, v, k.present, k.v)
		}
		*k = acctSeen{seen: true, present: op != "-", v: v}
	}
	c.lastTok = pos
	c.rows++
	return nil
}

// tableFunctions reads the session's positions and copy state: one row
// for the stream, rows_delivered as counted.
func (w *loadWorker) tableFunctions(ctx context.Context) error {
	sess, err := w.session(ctx)
	if err != nil {
		return err
	}
	if !sess.streamed {
		if err := w.run(ctx, sess); err != nil {
			return err
		}
	}
	name := w.ks + "." + w.table
	w.r.statements.Add(3)
	var phase, pos string
	var delivered int64
	q := fmt.Sprintf("SELECT phase, pos, rows_delivered FROM vstream_positions('%s')", name)
	if err := sess.conn.QueryRowContext(ctx, q).Scan(&phase, &pos, &delivered); err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	if (phase != "copy" && phase != "replicate") || !strings.HasPrefix(pos, "vs1.") || delivered != sess.rows {
		return fmt.Errorf("%s: %s %s %d, want a phase, a token and %d rows delivered", q, phase, pos, delivered, sess.rows)
	}
	q = fmt.Sprintf("SELECT state, rows_copied FROM vstream_copy_state('%s')", name)
	rows, err := sess.conn.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var copied int64
		if err := rows.Scan(&state, &copied); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		if (state != "pending" && state != "copying" && state != "done") || copied > delivered {
			return fmt.Errorf("%s: %s %d (with %d rows delivered)", q, state, copied, delivered)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	var all int
	if err := sess.conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM vstream_positions()").Scan(&all); err != nil || all != 1 {
		return fmt.Errorf("SELECT COUNT(*) FROM vstream_positions(): %d streams (%v), want 1", all, err)
	}
	return nil
}

// statementErrors runs statements that must fail with their MySQL code;
// the session stays usable.
func (w *loadWorker) statementErrors(ctx context.Context) error {
	sess, err := w.session(ctx)
	if err != nil {
		return err
	}
	for _, tc := range []struct {
		q    string
		code uint16
	}{
		{fmt.Sprintf("VSTREAM * FROM %s.nosuch", w.ks), 1146},
		{fmt.Sprintf("VSTREAM * FROM nosuch_%d.%s", w.n, w.table), 1049},
		{fmt.Sprintf("VSTREAM * FROM %s.%s WHERE pos > 'vs1.garbage'", w.ks, w.table), 1149},
		{fmt.Sprintf("VSTREAM * FROM %s.%s WHERE pos < 'current'", w.ks, w.table), 1149},
	} {
		if w.rnd.Intn(2) == 0 {
			continue
		}
		w.r.statements.Add(1)
		rows, err := sess.conn.QueryContext(ctx, tc.q)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != tc.code {
			return fmt.Errorf("%s: got %v, want error %d", tc.q, err, tc.code)
		}
		w.r.expected(fmt.Sprintf("statement error %d", tc.code))
	}
	w.r.statements.Add(1)
	var one int
	if err := sess.conn.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("SELECT 1 after the errors: %w", err)
	}
	return nil
}
