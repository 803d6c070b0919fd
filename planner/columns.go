package planner

import (
	"strings"

	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// pseudo-columns of a VSTREAM statement.
const (
	opColumn  = "op"
	posColumn = "pos"
)

// setSelect sets Select from the select list, which may hold only columns
// of the streamed table, *, and table.*.
func (p *Plan) setSelect(exprs sqlparser.SelectExprs, tbl tableRef) error {
	p.Select = []string{}
	for _, e := range exprs {
		col, err := selectItem(e, tbl)
		if err != nil {
			return err
		}
		switch {
		case strings.EqualFold(col, opColumn):
			// op always comes first; a listed op is dropped.
		case strings.EqualFold(col, posColumn):
			p.Select = append(p.Select, posColumn)
		default:
			p.Select = append(p.Select, col)
		}
	}
	return nil
}

// selectItem returns the column name, or "*", that e selects.
func selectItem(e sqlparser.SelectExpr, tbl tableRef) (string, error) {
	switch e := e.(type) {
	case *sqlparser.StarExpr:
		if !tbl.matches(e.TableName) {
			return "", unknownTable(e.TableName)
		}
		return "*", nil
	case *sqlparser.AliasedExpr:
		col, ok := e.Expr.(*sqlparser.ColName)
		switch {
		case !ok || col.StoredProcVal != nil || strings.HasPrefix(col.Name.String(), "@"):
			return "", syntaxError("VSTREAM selects columns, * or table.*; expressions, functions, literals and variables are not supported")
		case !e.As.IsEmpty():
			return "", syntaxError("VSTREAM does not support column aliases")
		case !tbl.matches(col.Qualifier):
			return "", unknownTable(col.Qualifier)
		}
		if err := checkName("column", col.Name.String()); err != nil {
			return "", err
		}
		return col.Name.String(), nil
	}
	return "", syntaxError("VSTREAM selects columns, * or table.*")
}

// checkName rejects names the SQL printer cannot write back: empty ones,
// and ones with '@' (it leaves those unquoted).
func checkName(what, name string) error {
	switch {
	case name == "":
		return syntaxError("empty %s name ``", what)
	case strings.Contains(name, "@"):
		return syntaxError("%s names with '@' are not supported (`%s`)", what, name)
	}
	return nil
}

func unknownTable(q sqlparser.TableName) *Error {
	return syntaxError("unknown table `%s` in the select list: VSTREAM reads only the table after FROM", sqlparser.String(q))
}
