package planner

import (
	"strconv"

	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// tableFunction is the name of the table function that serves streams.
const tableFunction = "vstream"

// Statement builds the SELECT that go-mysql-server plans for p:
//
//	SELECT op, <cols> FROM vstream('<TableArg>', <from>, <to>) AS `<table>`
//	    [WHERE <Where>] [LIMIT [offset,] n]
//
// <cols> is Select with "*" expanded to tableColumns, in order; duplicates
// stay. <from> is NULL (StartSession), the empty string (StartFresh),
// 'current' (StartCurrent) or the token; <to> is NULL (StopNone), 'current'
// (StopCurrent) or the token. Columns are unqualified.
func (p *Plan) Statement(tableColumns []string) sqlparser.Statement {
	exprs := sqlparser.SelectExprs{column(opColumn)}
	for _, c := range p.Select {
		if c != "*" {
			exprs = append(exprs, column(c))
			continue
		}
		for _, tc := range tableColumns {
			exprs = append(exprs, column(tc))
		}
	}
	fn := &sqlparser.TableFuncExpr{
		Name:  tableFunction,
		Alias: sqlparser.NewTableIdent(p.Table),
		Exprs: sqlparser.SelectExprs{
			arg(str(p.TableArg())),
			arg(p.fromArg()),
			arg(p.toArg()),
		},
	}
	sel := &sqlparser.Select{
		SelectExprs: exprs,
		From:        sqlparser.TableExprs{fn},
		Where:       sqlparser.NewWhere(sqlparser.WhereStr, p.Where),
	}
	if p.Limit >= 0 {
		sel.Limit = &sqlparser.Limit{Rowcount: num(p.Limit)}
		if p.Offset > 0 {
			sel.Limit.Offset = num(p.Offset)
		}
	}
	return sel
}

func (p *Plan) fromArg() sqlparser.Expr {
	switch p.Start {
	case StartFresh:
		return str("")
	case StartCurrent:
		return str("current")
	case StartToken:
		return str(p.From)
	}
	return &sqlparser.NullVal{}
}

func (p *Plan) toArg() sqlparser.Expr {
	switch p.Stop {
	case StopCurrent:
		return str("current")
	case StopToken:
		return str(p.To)
	}
	return &sqlparser.NullVal{}
}

func column(name string) *sqlparser.AliasedExpr {
	return arg(sqlparser.NewColName(name))
}

func arg(e sqlparser.Expr) *sqlparser.AliasedExpr {
	return &sqlparser.AliasedExpr{Expr: e}
}

func str(s string) *sqlparser.SQLVal {
	return sqlparser.NewStrVal([]byte(s))
}

func num(n int64) *sqlparser.SQLVal {
	return sqlparser.NewIntVal([]byte(strconv.FormatInt(n, 10)))
}
