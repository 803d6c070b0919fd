package sqlerr

import (
	"context"
	"errors"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/binlog"
	"github.com/vstreamd/vstreamd/engines/embedded"
	"github.com/vstreamd/vstreamd/planner"
	"github.com/vstreamd/vstreamd/vstream"
)

// Sentinels of the server itself.
var (
	// ErrWorkload: VSTREAM outside the OLAP workload.
	ErrWorkload = errors.New("wrong workload")
	// ErrAccessDenied: the user may not use that keyspace.
	ErrAccessDenied = errors.New("access denied")
	// ErrTableAccessDenied: the user may use other tables of that
	// keyspace, not this one.
	ErrTableAccessDenied = errors.New("table access denied")
	// ErrSpecificAccessDenied: a statement needs an administrative
	// privilege no vstreamd user has (SET GLOBAL).
	ErrSpecificAccessDenied = errors.New("administrative privilege needed")
	// ErrKillDenied: KILL of another user's connection.
	ErrKillDenied = errors.New("kill denied")
	// ErrUnknownThread: KILL of a connection that does not exist.
	ErrUnknownThread = errors.New("unknown thread")
	// ErrNotPreparable: a statement that cannot be a prepared statement.
	ErrNotPreparable = errors.New("not preparable")
	// ErrInsecureTransport: a client without TLS while TLS is required.
	ErrInsecureTransport = errors.New("insecure transport")
	// ErrTooManySessions: max_sessions reached.
	ErrTooManySessions = errors.New("too many sessions")
	// ErrUserLimit: a user's max_streams_per_user reached.
	ErrUserLimit = errors.New("user limit reached")
	// ErrStatementTooLarge: a statement over max_statement_bytes.
	ErrStatementTooLarge = errors.New("statement too large")
)

// MySQL error numbers vstreamd uses that the mysql package does not name.
const (
	ERSyntaxError              = 1149    // ER_SYNTAX_ERROR
	ERLockWaitTimeout          = 1205    // ER_LOCK_WAIT_TIMEOUT
	ERTableDefChanged          = 1412    // ER_TABLE_DEF_CHANGED
	ERConnectToForeignSource   = 1429    // ER_CONNECT_TO_FOREIGN_DATA_SOURCE
	ERNotSupportedYet          = 1235    // ER_NOT_SUPPORTED_YET
	ERUnsupportedPS            = 1295    // ER_UNSUPPORTED_PS
	ERSecureTransportRequired  = 3159    // ER_SECURE_TRANSPORT_REQUIRED
	SSTooManyConnections       = "08004" // SQLSTATE of ER_CON_COUNT_ERROR
	ERMasterFatalReadingBinlog = mysql.ERMasterFatalReadingBinlog
)

type rule struct {
	kind  error
	code  int
	state string
}

// rules are checked in order; the first sentinel found in the chain wins.
var rules = []rule{
	{planner.ErrSyntax, mysql.ERParseError, mysql.SSClientError},
	{planner.ErrPos, ERSyntaxError, mysql.SSClientError},
	{planner.ErrNoDatabase, mysql.ERNoDb, mysql.SSNoDB},
	{vstream.ErrBadToken, ERSyntaxError, mysql.SSClientError},
	{engines.ErrBadPosition, ERSyntaxError, mysql.SSClientError},
	{ErrWorkload, mysql.EROptionPreventsStatement, mysql.SSUnknownSQLState},
	{ErrAccessDenied, mysql.ERDBAccessDenied, mysql.SSClientError},
	{ErrTableAccessDenied, ERTableAccessDenied, mysql.SSClientError},
	{ErrSpecificAccessDenied, mysql.ERSpecifiedAccessDenied, mysql.SSClientError},
	{ErrKillDenied, mysql.ERKillDenied, mysql.SSUnknownSQLState},
	{ErrUnknownThread, mysql.ERNoSuchThread, mysql.SSUnknownSQLState},
	{ErrNotPreparable, ERUnsupportedPS, mysql.SSUnknownSQLState},
	{ErrInsecureTransport, ERSecureTransportRequired, mysql.SSUnknownSQLState},
	{ErrTooManySessions, mysql.ERConCount, SSTooManyConnections},
	{ErrUserLimit, mysql.ERUserLimitReached, mysql.SSClientError},
	{ErrStatementTooLarge, mysql.ERNetPacketTooLarge, mysql.SSNetError},
	{catalog.ErrUnknownKeyspace, mysql.ERBadDb, mysql.SSClientError},
	// The source URL names a database its server does not have: what a
	// MySQL client gets connecting to a missing database. (Before
	// ErrMisconfigured, which it refines.)
	{binlog.ErrUnknownDatabase, mysql.ERBadDb, mysql.SSClientError},
	{engines.ErrTableNotFound, mysql.ERNoSuchTable, mysql.SSUnknownTable},
	{engines.ErrPositionUnavailable, ERMasterFatalReadingBinlog, mysql.SSUnknownSQLState},
	{vstream.ErrSchemaChanged, ERTableDefChanged, mysql.SSUnknownSQLState},
	{vstream.ErrTruncated, ERTableDefChanged, mysql.SSUnknownSQLState},
	{embedded.ErrLockWaitTimeout, ERLockWaitTimeout, mysql.SSUnknownSQLState},
	// A source that cannot be reached or refuses the login (bad password
	// included: 1045 would read as a failed login to vstreamd itself, and
	// MySQL's FEDERATED engine answers 1429 for both too).
	{engines.ErrSourceUnavailable, ERConnectToForeignSource, mysql.SSUnknownSQLState},
	// A source reachable but not set up for streaming: binary log settings,
	// privileges of the source user, a proxy, a server_id collision.
	{engines.ErrMisconfigured, mysql.EROptionPreventsStatement, mysql.SSUnknownSQLState},
	{engines.ErrUnsupported, ERNotSupportedYet, mysql.SSClientError},
	{context.Canceled, mysql.ERQueryInterrupted, mysql.SSQueryInterrupted},
	// A panic recovered at a stream's goroutine: the bug ends the
	// statement, not the server.
	{engines.ErrInternal, mysql.ERUnknownError, mysql.SSUnknownSQLState},
}

// Of converts err to the *mysql.SQLError the client sees. Errors that carry
// none of vstreamd's sentinels go through go-mysql-server's own mapping.
func Of(err error) error {
	if err == nil {
		return nil
	}
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return se
	}
	// GMS wraps insert failures without Unwrap.
	var wrapped sql.WrappedInsertError
	if errors.As(err, &wrapped) && wrapped.Cause != nil {
		return Of(wrapped.Cause)
	}
	for _, r := range rules {
		if errors.Is(err, r.kind) {
			msg := err.Error()
			if r.kind == context.Canceled {
				msg = "Query execution was interrupted"
			}
			return mysql.NewSQLError(r.code, r.state, "%s", msg)
		}
	}
	if e := gmsKind(err); e != nil {
		return e
	}
	return sql.CastSQLError(err)
}

// Code returns the MySQL error number err maps to.
func Code(err error) int {
	var se *mysql.SQLError
	if errors.As(Of(err), &se) {
		return se.Number()
	}
	return mysql.ERUnknownError
}

// Warning returns the code and message of a failure that ended a result
// set after its header, where MySQL can only leave a warning. The message
// keeps the whole chain (it names the position to resume from).
func Warning(err error) (int, string) {
	code := Code(err)
	msg := err.Error()
	if errors.Is(err, context.Canceled) {
		msg = "Query execution was interrupted; " + msg
	}
	return code, msg
}
