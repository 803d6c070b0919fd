package planner

import (
	"errors"
	"math"
	"strconv"

	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// checkClauses rejects the SELECT clauses that VSTREAM does not have.
func checkClauses(sel *sqlparser.Select) error {
	o := sel.QueryOpts
	var what string
	switch {
	case o.Distinct || len(o.DistinctOn) > 0:
		what = "DISTINCT"
	case o.All:
		what = "ALL"
	case o.StraightJoinHint:
		what = "STRAIGHT_JOIN"
	case o.SQLCalcFoundRows:
		what = "SQL_CALC_FOUND_ROWS"
	case o.SQLCache || o.SQLNoCache:
		what = "SQL_CACHE or SQL_NO_CACHE"
	case sel.With != nil:
		what = "WITH"
	case sel.Into != nil:
		what = "INTO"
	case sel.Lock != nil && (sel.Lock.Type != "" || len(sel.Lock.Tables) > 0):
		what = "locking clauses (FOR UPDATE, LOCK IN SHARE MODE)"
	case len(sel.GroupBy) > 0:
		what = "GROUP BY"
	case sel.Having != nil:
		what = "HAVING"
	case len(sel.Window) > 0:
		what = "WINDOW"
	case len(sel.OrderBy) > 0:
		what = "ORDER BY: rows come in stream order"
	default:
		return nil
	}
	return syntaxError("VSTREAM does not support %s", what)
}

// setLimit sets Limit and Offset from the LIMIT clause, or Limit from
// defaultLimit (0 or less = no limit) when there is none.
func (p *Plan) setLimit(l *sqlparser.Limit, defaultLimit int64) error {
	p.Limit = -1
	if l == nil {
		if defaultLimit > 0 {
			p.Limit = defaultLimit
		}
		return nil
	}
	var err error
	if p.Limit, err = rowCount(l.Rowcount); err != nil {
		return err
	}
	if l.Offset != nil {
		p.Offset, err = rowCount(l.Offset)
	}
	return err
}

// rowCount reads a LIMIT or OFFSET number. Numbers past the int64 range
// are taken as math.MaxInt64: as good as no limit.
func rowCount(e sqlparser.Expr) (int64, error) {
	v, ok := e.(*sqlparser.SQLVal)
	if ok && v.Type == sqlparser.ValArg {
		return 0, syntaxError("LIMIT takes a literal number of rows, not a placeholder")
	}
	if !ok || v.Type != sqlparser.IntVal {
		return 0, syntaxError("LIMIT takes a literal number of rows")
	}
	n, err := strconv.ParseUint(string(v.Val), 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) || err == nil && n > math.MaxInt64:
		return math.MaxInt64, nil
	case err != nil:
		return 0, syntaxError("LIMIT takes a literal number of rows, not %s", v.Val)
	}
	return int64(n), nil
}
