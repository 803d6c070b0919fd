package integration

import (
	"fmt"
	"math/rand"
	"strings"
)

// randomTxns draws random transactions on a table (id, v, s) against a
// model of the keys present: inserts of absent keys (s NULL at times),
// updates, deletes and updates that move a row to an absent key, so that
// every statement changes exactly the rows it names. The recovery tests
// (recWriter) and the fault matrix (faultWriter) write with it.
type randomTxns struct {
	rng   *rand.Rand
	maxID int64 // keys are 1..maxID
	seq   int64 // numbers the values written
}

// next returns the statements of one transaction of 1 to most statements
// on table, given the keys present; after is what changes in that model
// once it commits, and ops the op rows a stream shows for it (a key change
// is a '-' and a '+').
func (d *randomTxns) next(table string, most int, present map[int64]bool) (stmts []string, after map[int64]bool, ops int) {
	after = map[int64]bool{}
	has := func(id int64) bool {
		if p, ok := after[id]; ok {
			return p
		}
		return present[id]
	}
	for n := 1 + d.rng.Intn(most); n > 0; n-- {
		id := 1 + d.rng.Int63n(d.maxID)
		d.seq++
		switch r := d.rng.Intn(10); {
		case !has(id):
			s := fmt.Sprintf("'w%d'", d.seq)
			if r == 0 {
				s = "NULL"
			}
			stmts = append(stmts, fmt.Sprintf("INSERT INTO %s (id, v, s) VALUES (%d, %d, %s)", table, id, d.seq, s))
			after[id] = true
			ops++
		case r < 5:
			stmts = append(stmts, fmt.Sprintf("UPDATE %s SET v = %d, s = 'u%d' WHERE id = %d", table, d.seq, d.seq, id))
			ops++
		case r < 8:
			stmts = append(stmts, fmt.Sprintf("DELETE FROM %s WHERE id = %d", table, id))
			after[id] = false
			ops++
		default:
			to := 1 + d.rng.Int63n(d.maxID)
			if has(to) {
				continue
			}
			stmts = append(stmts, fmt.Sprintf("UPDATE %s SET id = %d, v = %d WHERE id = %d", table, to, d.seq, id))
			after[id], after[to] = false, true
			ops += 2
		}
	}
	return stmts, after, ops
}

// seedValues is the VALUES list of the seed rows from..to of a table
// (id, v, s).
func seedValues(from, to int64) string {
	var vals []string
	for id := from; id <= to; id++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, 'seed %d')", id, id*10, id))
	}
	return strings.Join(vals, ", ")
}
