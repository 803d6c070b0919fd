package mssqlcdc

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/vstreamd/vstreamd/engines"
)

// serverError is what go-mssqldb's mssql.Error says of a SQL Server error.
type serverError interface {
	SQLErrorNumber() int32
	SQLErrorMessage() string
}

// SQL Server error numbers the engine tells apart.
const (
	errInvalidObject     = 208   // Invalid object name (a capture instance's function is gone)
	errPermission        = 229   // The %ls permission was denied on the object …
	errPermissionSchema  = 230   // … denied on the column …
	errNoPermission      = 297   // The user does not have permission to perform this action.
	errServerPermission  = 300   // VIEW … STATE permission was denied …
	errCDCRange          = 313   // An insufficient number of arguments … (LSN range outside the validity interval)
	errCannotOpenDB      = 4060  // Cannot open database … requested by the login.
	errSnapshotNotAllow  = 3952  // Snapshot isolation transaction failed … not allowed in this database.
	errLoginFailed       = 18456 // Login failed for user …
	errCapturedColsNoObj = 22981 // Object does not exist or access is denied.
	errShutdown          = 6005  // SHUTDOWN is in progress.
	errAzureUnavailable  = 40613 // Database … on server … is not currently available.
)

func errNumber(err error) (int32, string, bool) {
	var se serverError
	if errors.As(err, &se) {
		return se.SQLErrorNumber(), se.SQLErrorMessage(), true
	}
	return 0, "", false
}

// classify turns a driver or server error into one wrapping the engines
// sentinel that says what went wrong, naming the fix where there is one.
// Errors already classified pass through.
func (s *Source) classify(err error) error {
	if err == nil || isClassified(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	where := "SQL Server " + s.cfg.Redacted
	user := quoteName(s.cfg.User)
	if n, msg, ok := errNumber(err); ok {
		switch n {
		case errLoginFailed:
			return engines.Errorf(engines.ErrSourceUnavailable, "%s refused the login of %s: %s (check the user and password of the source URL)", where, s.cfg.User, msg)
		case errCannotOpenDB:
			return engines.Errorf(engines.ErrMisconfigured, "%s: %s (the URL's database must exist and %s must be a user in it: CREATE USER %s FOR LOGIN …)", where, msg, s.cfg.User, user)
		case errPermission, errPermissionSchema, errCapturedColsNoObj:
			return engines.Errorf(engines.ErrMisconfigured, "%s: %s: %s needs SELECT on every captured column of the streamed tables, and membership in each capture instance's gating role if it has one (GRANT SELECT ON SCHEMA::%s TO %s; ALTER ROLE <role_name> ADD MEMBER %s)",
				where, msg, s.cfg.User, quoteName(s.cfg.Schema), user, user)
		case errNoPermission, errServerPermission:
			return engines.Errorf(engines.ErrMisconfigured, "%s: %s: %s needs VIEW DATABASE STATE to read the log and capture-job positions (GRANT VIEW DATABASE STATE TO %s)", where, msg, s.cfg.User, user)
		case errSnapshotNotAllow:
			return engines.Errorf(engines.ErrMisconfigured, "%s: %s: the copy phase reads in SNAPSHOT isolation: ALTER DATABASE %s SET ALLOW_SNAPSHOT_ISOLATION ON", where, msg, quoteName(s.cfg.Database))
		case errShutdown, errAzureUnavailable:
			return engines.Errorf(engines.ErrSourceUnavailable, "%s is unavailable: %s", where, msg)
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "broken pipe") ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "unable to open tcp connection") {
		return engines.Errorf(engines.ErrSourceUnavailable, "%s is unreachable: %s", where, engines.Scrub(err.Error(), s.password))
	}
	return fmt.Errorf("%s: %s", where, engines.Scrub(err.Error(), s.password))
}

func isClassified(err error) bool {
	for _, k := range []error{engines.ErrSourceUnavailable, engines.ErrMisconfigured, engines.ErrPositionUnavailable,
		engines.ErrTableNotFound, engines.ErrBadPosition, engines.ErrUnsupported} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// quoteName quotes an identifier as T-SQL's QUOTENAME does.
func quoteName(s string) string { return "[" + strings.ReplaceAll(s, "]", "]]") + "]" }

// quoteString quotes a Unicode string literal.
func quoteString(s string) string { return "N'" + strings.ReplaceAll(s, "'", "''") + "'" }
