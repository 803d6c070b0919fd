package binlog

import (
	"context"
	"crypto/x509"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"syscall"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/go-sql-driver/mysql"

	"github.com/vstreamd/vstreamd/engines"
)

// ErrUnknownDatabase: the database of the source URL does not exist on the
// server. It refines engines.ErrMisconfigured (errors.Is matches both), so
// the server can answer MySQL's "Unknown database" (1049).
var ErrUnknownDatabase = fmt.Errorf("%w: unknown database", engines.ErrMisconfigured)

// MySQL and MariaDB error numbers the engine tells apart.
const (
	erDBAccessDenied       = 1044 // ER_DBACCESS_DENIED_ERROR
	erAccessDenied         = 1045 // ER_ACCESS_DENIED_ERROR
	erUnknownCom           = 1047 // ER_UNKNOWN_COM_ERROR
	erBadDB                = 1049 // ER_BAD_DB_ERROR
	erServerShutdown       = 1053 // ER_SERVER_SHUTDOWN
	erTooManyConnections   = 1040 // ER_CON_COUNT_ERROR
	erHostBlocked          = 1129 // ER_HOST_IS_BLOCKED
	erHostNotPrivileged    = 1130 // ER_HOST_NOT_PRIVILEGED
	erTableAccessDenied    = 1142 // ER_TABLEACCESS_DENIED_ERROR
	erColumnAccessDenied   = 1143 // ER_COLUMNACCESS_DENIED_ERROR
	erNetReadError         = 1158 // ER_NET_READ_ERROR … ER_NET_WRITE_INTERRUPTED (1161)
	erNetWriteInterrupted  = 1161
	erTooManyUserConns     = 1203 // ER_TOO_MANY_USER_CONNECTIONS
	erUserLimitReached     = 1226 // ER_USER_LIMIT_REACHED
	erSpecificAccessDenied = 1227 // ER_SPECIFIC_ACCESS_DENIED_ERROR
	erNotSupportedYet      = 1235 // ER_NOT_SUPPORTED_YET
	erMasterFatalReading   = 1236 // ER_MASTER_FATAL_ERROR_READING_BINLOG
	erQueryInterrupted     = 1317 // ER_QUERY_INTERRUPTED
	erMasterPurgedGTIDs    = 1789 // ER_MASTER_HAS_PURGED_REQUIRED_GTIDS (MySQL)
	erConnectionKilled     = 1927 // ER_CONNECTION_KILLED (MariaDB)
	erSlaveSameID          = 4052 // ER_SLAVE_SAME_ID (MariaDB 10.6+)
)

// errorf is engines.Errorf, the constructor of this engine's classified
// errors.
func errorf(kind error, format string, args ...any) error {
	return engines.Errorf(kind, format, args...)
}

// srcInfo is what the error messages say about the source.
type srcInfo struct {
	addr     string // host:port
	keyspace string
	user     string // user name of the source URL
	account  string // 'user'@'host' of CURRENT_USER(), if known
	database string
	idBase   uint32 // server_id of the URL, 0 = random
	flavor   string
}

func (s *Source) info() srcInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return srcInfo{addr: s.cfg.Addr(), keyspace: s.keyspace, user: s.cfg.User, account: s.account,
		database: s.cfg.Database, idBase: s.cfg.ServerIDBase, flavor: s.flavor}
}

// where names the source in messages.
func (i srcInfo) where() string {
	if i.keyspace == "" {
		return "source " + i.addr
	}
	return fmt.Sprintf("source %s of keyspace %s", i.addr, i.keyspace)
}

// who is the account to GRANT to: CURRENT_USER() when known, else the
// account a server message names, else the user at any host.
func (i srcInfo) who(serverMsg string) string {
	if i.account != "" {
		return i.account
	}
	if m := accountRE.FindStringSubmatch(serverMsg); m != nil && m[1] == i.user {
		return fmt.Sprintf("'%s'@'%s'", m[1], m[2])
	}
	return fmt.Sprintf("'%s'@'%%'", i.user)
}

var accountRE = regexp.MustCompile(`user '([^']*)'@'([^']*)'`)

// accountOf turns CURRENT_USER()'s user@host into 'user'@'host'.
func accountOf(current string) string {
	i := strings.LastIndexByte(current, '@')
	if i < 0 {
		if current == "" {
			return ""
		}
		return fmt.Sprintf("'%s'@'%%'", current)
	}
	return fmt.Sprintf("'%s'@'%s'", current[:i], current[i+1:])
}

// serverError extracts the number and message of an error the server sent,
// from either driver (go-sql-driver for SQL, go-mysql for replication).
func serverError(err error) (code uint16, msg string, ok bool) {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number, me.Message, true
	}
	var ge *gomysql.MyError
	if errors.As(err, &ge) {
		return ge.Code, ge.Message, true
	}
	return 0, "", false
}

// classified reports whether err already carries an engines sentinel (or
// is a cancellation), so classifying it again must leave it alone.
func classified(err error) bool {
	for _, k := range []error{engines.ErrSourceUnavailable, engines.ErrMisconfigured, engines.ErrPositionUnavailable,
		engines.ErrBadPosition, engines.ErrTableNotFound, engines.ErrUnsupported, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// classify turns an error of the SQL connection pool into one of the
// engines sentinels, with a message that names the cause and the fix.
// Errors it does not recognise pass unchanged.
func (s *Source) classify(err error) error {
	if err == nil || classified(err) {
		return err
	}
	return s.noteFailure(classifyError(err, s.info(), false, nil))
}

// classifyStream turns an error of a replication connection into an
// engines sentinel. ErrSourceUnavailable means "try again" to Stream.
func (s *Source) classifyStream(err error) error {
	if err == nil || classified(err) {
		return err
	}
	return s.noteFailure(classifyError(err, s.info(), true, s.sqlLoginWorks))
}

// noteFailure forgets a successful preflight when the source turned out
// misconfigured or unreachable, so the next statement checks it again.
func (s *Source) noteFailure(err error) error {
	if errors.Is(err, engines.ErrMisconfigured) || errors.Is(err, engines.ErrSourceUnavailable) {
		s.invalidatePreflight()
	}
	return err
}

// sqlLoginWorks tells whether the source user can log in over SQL right
// now: a replication connection refused with "access denied" although the
// login works lacks REPLICATION SLAVE (MariaDB answers COM_REGISTER_SLAVE
// without it with 1045).
func (s *Source) sqlLoginWorks() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var one int
	return s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one) == nil
}

// classifyError is classify and classifyStream without a server: stream
// says the error came from a replication connection; loginWorks (stream
// only, may be nil) is asked when the server answered "access denied".
func classifyError(err error, in srcInfo, stream bool, loginWorks func() bool) error {
	if err == nil || classified(err) {
		return err
	}
	if code, msg, ok := serverError(err); ok {
		if out := classifyCode(code, msg, in, stream, loginWorks); out != nil {
			return out
		}
		return err
	}
	if out := tlsFailure(err, in); out != nil {
		return out
	}
	if reason, ok := connectionFailure(err); ok {
		if stream {
			return errorf(engines.ErrSourceUnavailable,
				"lost the replication connection to %s (%s): is the server running and reachable?", in.where(), reason)
		}
		return unreachable(in, reason)
	}
	return err
}

// tlsFailure classifies the failures of a connection the source URL asks
// to encrypt (tls=true or skip-verify); nil if err is none of them.
func tlsFailure(err error, in srcInfo) error {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.Is(err, mysql.ErrNoTLS):
		return errorf(engines.ErrMisconfigured,
			"%s does not offer TLS, which the source URL asks for (tls=true or skip-verify): enable TLS on the server (ssl_cert and ssl_key in its configuration), or drop tls from the source URL", in.where())
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid):
		return errorf(engines.ErrMisconfigured,
			"the TLS certificate of %s is not trusted (%v): install its CA among the system's trusted certificates, connect by the name the certificate carries, or use tls=skip-verify in the source URL (encrypted, not verified)", in.where(), err)
	}
	return nil
}

// unreachable is the message of a source that does not answer.
func unreachable(in srcInfo, reason string) error {
	return errorf(engines.ErrSourceUnavailable,
		"cannot connect to %s (%s): is the server running, and are the host and port of the source URL right?", in.where(), reason)
}

// classifyCode classifies a server error; nil means "not recognised".
func classifyCode(code uint16, msg string, in srcInfo, stream bool, loginWorks func() bool) error {
	short := firstSentence(msg)
	switch code {
	case erAccessDenied:
		if stream && loginWorks != nil && loginWorks() {
			return missingPrivilege(in, msg, []string{"REPLICATION SLAVE"}, "refused to stream its binary log")
		}
		return errorf(engines.ErrSourceUnavailable,
			"%s refused the login: %s: fix the user and password of the source URL (mysql://user:password@host:port/db)", in.where(), msg)
	case erBadDB:
		return errorf(ErrUnknownDatabase,
			"Unknown database '%s' on %s: fix the database of the source URL, or create it on the server", in.database, in.where())
	case erDBAccessDenied, erTableAccessDenied, erColumnAccessDenied:
		return errorf(engines.ErrMisconfigured, "%s: %s: the source user needs SELECT: GRANT SELECT ON %s.* TO %s",
			in.where(), msg, quoteName(in.database), in.who(msg))
	case erSpecificAccessDenied:
		privs := privilegesOf(msg)
		if len(privs) == 0 {
			privs = []string{"REPLICATION SLAVE", replicationClient(in.flavor)}
		}
		return missingPrivilege(in, msg, privs, "refused")
	case erHostNotPrivileged:
		return errorf(engines.ErrSourceUnavailable,
			"%s refused the login: %s: create the source user for the host vstreamd connects from (CREATE USER '%s'@'<vstreamd host>' …) or use '%s'@'%%'",
			in.where(), msg, in.user, in.user)
	case erHostBlocked:
		return errorf(engines.ErrSourceUnavailable,
			"%s refused the login: %s: run FLUSH HOSTS on the server (or raise max_connect_errors)", in.where(), short)
	case erTooManyConnections, erTooManyUserConns, erUserLimitReached:
		return errorf(engines.ErrSourceUnavailable,
			"%s refused a connection: %s: raise max_connections (or the user's connection limit) on the server", in.where(), short)
	case erServerShutdown, erConnectionKilled, erQueryInterrupted:
		return errorf(engines.ErrSourceUnavailable, "lost the connection to %s (%s): is the server running?", in.where(), short)
	}
	if code >= erNetReadError && code <= erNetWriteInterrupted {
		return errorf(engines.ErrSourceUnavailable, "lost the connection to %s (%s)", in.where(), short)
	}
	if !stream {
		return nil
	}
	lower := strings.ToLower(msg)
	switch {
	case code == erSlaveSameID || sameServerID(lower):
		return serverIDCollision(in, short)
	case code == erUnknownCom || code == erNotSupportedYet || strings.Contains(lower, "unknown command"):
		return errorf(engines.ErrMisconfigured,
			"%s answers SQL but refused to stream its binary log (%d %s): a proxy or load balancer is probably in front of the database: point the source URL at the database server itself",
			in.where(), code, short)
	case code == erMasterFatalReading || code == erMasterPurgedGTIDs:
		return positionGone(in, short, lower)
	}
	return nil
}

// sameServerID recognises the message of a replica pushed out by another
// with its server_id (MySQL: 1236 "A replica/slave with the same
// server_uuid/server_id as this replica has connected to the source").
func sameServerID(lowerMsg string) bool {
	return strings.Contains(lowerMsg, "same server_uuid") || strings.Contains(lowerMsg, "same server_id") ||
		strings.Contains(lowerMsg, "same server id")
}

// serverIDCollision: another replica registered with this stream's
// server_id and the server dropped this stream.
func serverIDCollision(in srcInfo, serverMsg string) error {
	base := "now a random base"
	if in.idBase != 0 {
		base = fmt.Sprintf("now server_id=%d", in.idBase)
	}
	return errorf(engines.ErrMisconfigured,
		"another replica connected to %s with this stream's server_id, so the server dropped this stream (%s): give every vstreamd and replica of this server its own server_id range: set ?server_id=N in the source URL (%s; each stream takes the next number), or leave it out for a random base",
		in.where(), serverMsg, base)
}

// positionGone: the server cannot serve the binary log from the requested
// position.
func positionGone(in srcInfo, serverMsg, lowerMsg string) error {
	if strings.Contains(lowerMsg, "purged") || strings.Contains(lowerMsg, "could not find first log file") ||
		strings.Contains(lowerMsg, "could not find gtid state") {
		return errorf(engines.ErrPositionUnavailable,
			"%s no longer has the binary logs from that position (%s): they were purged (PURGE BINARY LOGS, binlog_expire_logs_seconds, expire_logs_days); start a fresh copy with WHERE pos > ''",
			in.where(), serverMsg)
	}
	return errorf(engines.ErrPositionUnavailable,
		"%s cannot stream its binary log from that position (%s); start a fresh copy with WHERE pos > ''", in.where(), serverMsg)
}

// missingPrivilege names the GRANT that gives the source user privs.
func missingPrivilege(in srcInfo, serverMsg string, privs []string, what string) error {
	return errorf(engines.ErrMisconfigured, "%s %s (%s): the source user needs %s: GRANT %s ON *.* TO %s",
		in.where(), what, serverMsg, strings.Join(privs, " and "), strings.Join(privs, ", "), in.who(serverMsg))
}

// replicationClient is the privilege that allows SHOW MASTER STATUS.
func replicationClient(flavor string) string {
	if flavor == flavorMariaDB {
		return "BINLOG MONITOR"
	}
	return "REPLICATION CLIENT"
}

var privilegesRE = regexp.MustCompile(`(?i)you need \(at least one of\) the (.+?) privilege`)

// privilegesOf reads the privileges a 1227 message asks for, leaving out
// SUPER when a narrower one is named (least privilege).
func privilegesOf(msg string) []string {
	m := privilegesRE.FindStringSubmatch(msg)
	if m == nil {
		return nil
	}
	var all, narrow []string
	for _, p := range strings.Split(m[1], ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		all = append(all, p)
		if !strings.EqualFold(p, "SUPER") {
			narrow = append(narrow, p)
		}
	}
	// "at least one of": one narrow privilege is enough.
	if len(narrow) > 0 {
		return narrow[:1]
	}
	return all
}

// firstSentence shortens a server message to its first sentence (MySQL
// and MariaDB append binlog coordinates to some).
func firstSentence(msg string) string {
	msg = strings.TrimSpace(msg)
	if i := strings.IndexAny(msg, ";"); i > 0 {
		msg = msg[:i]
	}
	if i := strings.Index(msg, ". "); i > 0 {
		msg = msg[:i]
	}
	return strings.TrimSuffix(msg, ".")
}

// connectionFailure recognises a network-level failure and returns a short
// reason ("connection refused", "i/o timeout", "EOF").
func connectionFailure(err error) (string, bool) {
	var op *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", true
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset", true
	case errors.As(err, &op):
		return op.Err.Error(), true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.Error(), true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "i/o timeout", true
	}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection", true
	case errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, driver.ErrBadConn), errors.Is(err, gomysql.ErrBadConn):
		return "invalid connection", true
	case errors.Is(err, replication.ErrSyncClosed), errors.Is(err, replication.ErrNeedSyncAgain):
		return err.Error(), true
	}
	msg := err.Error()
	for _, s := range []string{"connection refused", "connection reset", "broken pipe", "i/o timeout", "EOF", "use of closed network connection"} {
		if strings.Contains(msg, s) {
			return s, true
		}
	}
	return "", false
}
