package sqlerr

import (
	"errors"
	"regexp"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	gmserrors "gopkg.in/src-d/go-errors.v1"
)

// GMS answers some errors of the statements it serves itself with the
// catch-all 1105, and hands them to vstreamd already converted. These
// rules recognise them by their GMS error kind's message format and give
// them MySQL's code.
var gmsRules = []struct {
	kind  *gmserrors.Kind
	code  int
	state string
	re    *regexp.Regexp
}{
	{kind: sql.ErrInvalidSystemVariableValue, code: mysql.ERWrongValueForVar, state: mysql.SSClientError},
	{kind: sql.ErrDatabaseAccessDeniedForUser, code: mysql.ERDBAccessDenied, state: mysql.SSClientError},
	{kind: sql.ErrTableAccessDeniedForUser, code: ERTableAccessDenied, state: mysql.SSClientError},
	{kind: sql.ErrPrivilegeCheckFailed, code: ERTableAccessDenied, state: mysql.SSClientError},
	{kind: sql.ErrColumnNotFound, code: mysql.ERBadFieldError, state: mysql.SSBadFieldError},
	{kind: sql.ErrTableColumnNotFound, code: mysql.ERBadFieldError, state: mysql.SSBadFieldError},
	{kind: sql.ErrAmbiguousColumnName, code: ERNonUniq, state: mysql.SSConstraintViolation},
}

// ERNonUniq is ER_NON_UNIQ_ERROR.
const ERNonUniq = 1052

// gmsKind maps an error of one of the kinds above, as GMS returned it (not
// yet converted), to its MySQL error.
func gmsKind(err error) error {
	for _, r := range gmsRules {
		if r.kind.Is(err) {
			return mysql.NewSQLError(r.code, r.state, "%s", err.Error())
		}
	}
	return nil
}

// ERTableAccessDenied is ER_TABLEACCESS_DENIED_ERROR.
const ERTableAccessDenied = 1142

func init() {
	for i := range gmsRules {
		gmsRules[i].re = kindPattern(gmsRules[i].kind.Message)
	}
}

// kindPattern turns a format such as "Access denied for user %s to
// database '%s'" into a regexp matching its messages.
func kindPattern(format string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(format); i++ {
		if format[i] == '%' && i+1 < len(format) {
			b.WriteString("(.*)")
			i++
			continue
		}
		b.WriteString(regexp.QuoteMeta(format[i : i+1]))
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// Refine gives an error GMS returned as 1105 its proper MySQL code, when it
// is one of the kinds above; other errors pass unchanged.
func Refine(err error) error {
	var se *mysql.SQLError
	if err == nil || !errors.As(err, &se) || se.Number() != mysql.ERUnknownError {
		return err
	}
	for _, r := range gmsRules {
		if r.re.MatchString(se.Message) {
			// GMS prints a NULL value as Go's <nil>; MySQL says NULL.
			msg := strings.ReplaceAll(se.Message, "'<nil>'", "'NULL'")
			return mysql.NewSQLError(r.code, r.state, "%s", msg)
		}
	}
	return err
}
