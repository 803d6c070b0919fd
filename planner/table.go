package planner

import (
	"strings"

	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// tableRef is the streamed table as the statement names it, for matching
// qualified column references (t.col, ks.t.col).
type tableRef struct {
	name      string // table name
	qualifier string // qualifier as written, else the default keyspace
	keyspace  string // the keyspace part of qualifier
}

// matches reports whether a column qualifier (t, ks.t or `ks:shard`.t)
// names the streamed table. Names compare without case, like
// go-mysql-server's.
func (t tableRef) matches(q sqlparser.TableName) bool {
	if q.IsEmpty() {
		return true
	}
	if !q.SchemaQualifier.IsEmpty() || !strings.EqualFold(q.Name.String(), t.name) {
		return false
	}
	db := q.DbQualifier.String()
	return db == "" || strings.EqualFold(db, t.qualifier) || strings.EqualFold(db, t.keyspace)
}

// setTable sets Keyspace, Shard and Table from the FROM clause, which must
// name exactly one table.
func (p *Plan) setTable(from sqlparser.TableExprs, defaultKeyspace string) (tableRef, error) {
	if len(from) == 0 {
		return tableRef{}, syntaxError("VSTREAM needs FROM [keyspace.]table")
	}
	if len(from) > 1 {
		return tableRef{}, syntaxError("VSTREAM reads one table; joins and table lists are not supported")
	}
	ate, ok := from[0].(*sqlparser.AliasedTableExpr)
	if !ok {
		return tableRef{}, syntaxError("VSTREAM reads one table; %s", fromKind(from[0]))
	}
	name, ok := ate.Expr.(sqlparser.TableName)
	switch {
	case !ok:
		return tableRef{}, syntaxError("VSTREAM reads one table; subqueries and derived tables are not supported")
	case ate.Lateral:
		return tableRef{}, syntaxError("VSTREAM does not support LATERAL")
	case !ate.As.IsEmpty():
		return tableRef{}, syntaxError("VSTREAM does not support table aliases")
	case ate.Hints != nil:
		return tableRef{}, syntaxError("VSTREAM does not support index hints")
	case ate.AsOf != nil:
		return tableRef{}, syntaxError("VSTREAM does not support AS OF")
	case len(ate.Partitions) > 0:
		return tableRef{}, syntaxError("VSTREAM does not support PARTITION")
	case !name.SchemaQualifier.IsEmpty():
		return tableRef{}, syntaxError("VSTREAM takes [keyspace.]table, not a three-part name")
	}
	p.Table = name.Name.String()
	if err := checkName("table", p.Table); err != nil {
		return tableRef{}, err
	}
	qualifier := name.DbQualifier.String()
	if qualifier == "" {
		if defaultKeyspace == "" {
			return tableRef{}, &Error{Kind: ErrNoDatabase, Msg: "No database selected: name the table as keyspace.table, or run USE keyspace first"}
		}
		qualifier = defaultKeyspace
	}
	var err error
	if p.Keyspace, p.Shard, err = splitQualifier(qualifier); err != nil {
		return tableRef{}, err
	}
	return tableRef{name: p.Table, qualifier: qualifier, keyspace: p.Keyspace}, nil
}

// splitQualifier reads a table qualifier: "keyspace" or "keyspace:shard".
func splitQualifier(q string) (keyspace, shard string, err error) {
	if strings.Contains(q, "@") {
		return "", "", syntaxError("`%s`: vstreamd has no tablet types (@primary, @replica, @rdonly); qualify the table with keyspace or `keyspace:shard`", q)
	}
	keyspace, shard, found := strings.Cut(q, ":")
	if found && (keyspace == "" || shard == "") {
		return "", "", syntaxError("`%s`: a shard is named as `keyspace:shard`, e.g. `ks:-80`.t", q)
	}
	return keyspace, shard, nil
}

// fromKind names a FROM item that is not a plain table.
func fromKind(e sqlparser.TableExpr) string {
	switch e.(type) {
	case *sqlparser.JoinTableExpr:
		return "joins are not supported"
	case *sqlparser.ParenTableExpr:
		return "parenthesised table lists are not supported"
	case *sqlparser.TableFuncExpr, sqlparser.TableFuncExpr, *sqlparser.JSONTableExpr:
		return "table functions are not supported"
	}
	return "subqueries and derived tables are not supported"
}
