package planner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// PosUsage ends every ErrPos message: the accepted uses of pos.
const PosUsage = "pos can only be used as pos > 'token' (start after it; 'current' = now, '' = fresh copy) and pos <= 'current'|'token' (end there), combined with AND"

// setWhere splits the WHERE clause into its top-level AND conjuncts: those
// that mention pos set Start/From and Stop/To, the others become Where.
func (p *Plan) setWhere(where *sqlparser.Where, tbl tableRef) error {
	if where == nil {
		return nil
	}
	if hasSubquery(where.Expr) {
		return syntaxError("VSTREAM does not support subqueries")
	}
	var kept []sqlparser.Expr
	seenFrom, seenTo := false, false
	for _, c := range conjuncts(where.Expr, nil) {
		if !mentionsPos(c, tbl) {
			unqualify(c, tbl)
			kept = append(kept, c)
			continue
		}
		cmp, lit := posBound(c, tbl)
		if cmp == nil {
			return posError("`%s` is not an accepted use of pos", sqlparser.String(c))
		}
		switch cmp.Operator {
		case sqlparser.GreaterThanStr:
			if seenFrom {
				return posError("pos > may appear only once")
			}
			seenFrom = true
			p.Start, p.From = startOf(lit)
		case sqlparser.LessEqualStr:
			if seenTo {
				return posError("pos <= may appear only once")
			}
			seenTo = true
			if lit.Type == sqlparser.StrVal && len(lit.Val) == 0 {
				return posError("pos <= '' names no position")
			}
			p.Stop, p.To = stopOf(lit)
		}
	}
	p.Where = andAll(kept)
	return nil
}

// conjuncts appends the operands of the top-level ANDs of e, looking
// through parentheses around ANDs, to list.
func conjuncts(e sqlparser.Expr, list []sqlparser.Expr) []sqlparser.Expr {
	switch x := e.(type) {
	case *sqlparser.AndExpr:
		return conjuncts(x.Right, conjuncts(x.Left, list))
	case *sqlparser.ParenExpr:
		if and, ok := unparen(x).(*sqlparser.AndExpr); ok {
			return conjuncts(and, list)
		}
	}
	return append(list, e)
}

// unparen strips the parentheses around e.
func unparen(e sqlparser.Expr) sqlparser.Expr {
	for {
		p, ok := e.(*sqlparser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// andAll ANDs list in order; nil if it is empty. An OR or XOR operand
// gets parentheses (it can only come from a parenthesised conjunct, but
// the printed SQL must not depend on that).
func andAll(list []sqlparser.Expr) sqlparser.Expr {
	if len(list) == 1 {
		return list[0]
	}
	var all sqlparser.Expr
	for _, e := range list {
		switch e.(type) {
		case *sqlparser.OrExpr, *sqlparser.XorExpr:
			e = &sqlparser.ParenExpr{Expr: e}
		}
		if all == nil {
			all = e
		} else {
			all = &sqlparser.AndExpr{Left: all, Right: e}
		}
	}
	return all
}

// isPos reports whether e is the pos pseudo-column of the table.
func isPos(e sqlparser.Expr, tbl tableRef) bool {
	c, ok := e.(*sqlparser.ColName)
	return ok && c.Name.EqualString(posColumn) && tbl.matches(c.Qualifier)
}

// mentionsPos reports whether pos occurs anywhere in e.
func mentionsPos(e sqlparser.Expr, tbl tableRef) bool {
	return contains(e, func(n sqlparser.SQLNode) bool {
		c, ok := n.(*sqlparser.ColName)
		return ok && isPos(c, tbl)
	})
}

// errFound stops a walk in contains.
var errFound = errors.New("found")

// contains reports whether a node of the tree under e satisfies match.
func contains(e sqlparser.Expr, match func(sqlparser.SQLNode) bool) bool {
	err := sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if match(n) {
			return false, errFound
		}
		return true, nil
	}, e)
	return err == errFound
}

// hasSubquery reports whether e holds a subquery.
func hasSubquery(e sqlparser.Expr) bool {
	return contains(e, func(n sqlparser.SQLNode) bool {
		_, ok := n.(*sqlparser.Subquery)
		return ok
	})
}

// posBound returns c as `pos > literal` or `pos <= literal`, or nil if it
// is neither. The literal is a string or a number.
func posBound(c sqlparser.Expr, tbl tableRef) (*sqlparser.ComparisonExpr, *sqlparser.SQLVal) {
	cmp, ok := unparen(c).(*sqlparser.ComparisonExpr)
	if !ok || cmp.Escape != nil || !isPos(cmp.Left, tbl) ||
		cmp.Operator != sqlparser.GreaterThanStr && cmp.Operator != sqlparser.LessEqualStr {
		return nil, nil
	}
	lit, ok := cmp.Right.(*sqlparser.SQLVal)
	if !ok {
		return nil, nil
	}
	switch lit.Type {
	case sqlparser.StrVal, sqlparser.IntVal, sqlparser.FloatVal:
		return cmp, lit
	}
	return nil, nil
}

func startOf(lit *sqlparser.SQLVal) (StartKind, string) {
	s := string(lit.Val)
	if lit.Type == sqlparser.StrVal {
		switch {
		case s == "":
			return StartFresh, ""
		case strings.EqualFold(s, "current"):
			return StartCurrent, ""
		}
	}
	return StartToken, s
}

func stopOf(lit *sqlparser.SQLVal) (StopKind, string) {
	s := string(lit.Val)
	if lit.Type == sqlparser.StrVal && strings.EqualFold(s, "current") {
		return StopCurrent, ""
	}
	return StopToken, s
}

// unqualify removes from the columns in e the qualifiers that name the
// streamed table: the SELECT over vstream() knows it by its bare name.
func unqualify(e sqlparser.Expr, tbl tableRef) {
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if c, ok := n.(*sqlparser.ColName); ok && !c.Qualifier.IsEmpty() && tbl.matches(c.Qualifier) {
			c.Qualifier = sqlparser.TableName{}
		}
		return true, nil
	}, e)
}

func posError(format string, args ...any) *Error {
	return &Error{Kind: ErrPos, Msg: fmt.Sprintf(format, args...) + ": " + PosUsage}
}
