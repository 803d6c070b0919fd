package server

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/vstreamd/vstreamd/server/sqlerr"
)

// planningError gives an error of a table function's planning its MySQL
// code. go-mysql-server plans a prepared statement itself (COM_STMT_PREPARE)
// and answers any error it does not know with 1105; one that already is a
// MySQL error passes unchanged.
func planningError(err error) error {
	if err == nil {
		return nil
	}
	return sqlerr.Of(err)
}

// tableFunc holds what every vstreamd table function shares: name,
// database and argument expressions, and the sql.Node boilerplate.
type tableFunc struct {
	name string
	db   sql.Database
	args []sql.Expression
}

func (f *tableFunc) Name() string                  { return f.name }
func (f *tableFunc) Description() string           { return f.name }
func (f *tableFunc) Database() sql.Database        { return f.db }
func (f *tableFunc) Expressions() []sql.Expression { return f.args }
func (f *tableFunc) Children() []sql.Node          { return nil }
func (f *tableFunc) IsReadOnly() bool              { return true }

func (f *tableFunc) Resolved() bool {
	for _, a := range f.args {
		if !a.Resolved() {
			return false
		}
	}
	return true
}

func (f *tableFunc) String() string {
	parts := make([]string, len(f.args))
	for i, a := range f.args {
		parts[i] = a.String()
	}
	return fmt.Sprintf("%s(%s)", f.name, strings.Join(parts, ", "))
}

// CollationCoercibility implements sql.CollationCoercible.
func (f *tableFunc) CollationCoercibility(*sql.Context) (sql.CollationID, byte) {
	return sql.Collation_binary, 7
}

// stringArg evaluates argument i to a string; ok is false for NULL or a
// missing argument.
func (f *tableFunc) stringArg(ctx *sql.Context, i int, row sql.Row) (string, bool, error) {
	if i >= len(f.args) {
		return "", false, nil
	}
	v, err := f.args[i].Eval(ctx, row)
	if err != nil {
		return "", false, err
	}
	if v == nil {
		return "", false, nil
	}
	s, _, err := types.LongText.Convert(ctx, v)
	if err != nil {
		return "", false, err
	}
	return fmt.Sprint(s), true, nil
}

// Column types of the table functions' own columns.
var (
	varchar64 = types.MustCreateStringWithDefaults(sqltypes.VarChar, 64)
	varchar16 = types.MustCreateStringWithDefaults(sqltypes.VarChar, 16)
	opType    = types.MustCreateStringWithDefaults(sqltypes.VarChar, 1)
	datetime6 = types.MustCreateDatetimeType(sqltypes.Datetime, 6)
)

func col(name string, t sql.Type, nullable bool) *sql.Column {
	return &sql.Column{Name: name, Type: t, Nullable: nullable}
}
