package binlog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-sql-driver/mysql"

	"github.com/vstreamd/vstreamd/engines"
)

// Table-driven tests of preflight's judgement and of the classification of
// server errors: no server needed (the end-to-end cases are in
// integration/binlog_errors_test.go).

var preflightInfo = srcInfo{addr: "db:3306", keyspace: "shop", user: "repl", database: "shop", flavor: flavorMariaDB}

func TestSettingsProblems(t *testing.T) {
	mariadb := func(kv ...string) settings { return settings{flavor: flavorMariaDB, vars: varsOf(kv...)} }
	mysql8 := func(kv ...string) settings { return settings{flavor: flavorMySQL, vars: varsOf(kv...)} }
	good := []string{"log_bin", "ON", "binlog_format", "ROW", "binlog_row_image", "FULL"}
	tests := []struct {
		name  string
		st    settings
		level checkLevel
		want  []string // name=value of each problem
	}{
		{"MariaDB streams", mariadb(good...), checkStream, nil},
		{"MySQL streams", mysql8(append(good, "gtid_mode", "ON", "enforce_gtid_consistency", "ON", "binlog_row_value_options", "")...), checkStream, nil},
		{"MySQL without GTIDs streams", mysql8(append(good, "gtid_mode", "OFF", "enforce_gtid_consistency", "OFF")...), checkStream, nil},
		{"lower case values", mariadb("log_bin", "on", "binlog_format", "row", "binlog_row_image", "full"), checkStream, nil},
		{"nothing reported: nothing judged", mariadb(), checkStream, nil},
		{"binlog off", mariadb("log_bin", "OFF", "binlog_format", "ROW", "binlog_row_image", "FULL"), checkStream, []string{"log_bin=OFF"}},
		{"binlog off: read names every setting for one restart", mariadb("log_bin", "OFF", "binlog_format", "MIXED", "binlog_row_image", "FULL"), checkRead,
			[]string{"log_bin=OFF", "binlog_format=MIXED"}},
		{"STATEMENT is fine for a snapshot", mariadb("log_bin", "ON", "binlog_format", "STATEMENT"), checkRead, nil},
		{"STATEMENT", mariadb("log_bin", "ON", "binlog_format", "STATEMENT", "binlog_row_image", "FULL"), checkStream, []string{"binlog_format=STATEMENT"}},
		{"MIXED", mariadb("log_bin", "ON", "binlog_format", "MIXED", "binlog_row_image", "FULL"), checkStream, []string{"binlog_format=MIXED"}},
		{"MINIMAL", mariadb("log_bin", "ON", "binlog_format", "ROW", "binlog_row_image", "MINIMAL"), checkStream, []string{"binlog_row_image=MINIMAL"}},
		{"NOBLOB and MIXED", mariadb("log_bin", "ON", "binlog_format", "MIXED", "binlog_row_image", "NOBLOB"), checkStream,
			[]string{"binlog_format=MIXED", "binlog_row_image=NOBLOB"}},
		{"partial JSON", mysql8(append(good, "binlog_row_value_options", "PARTIAL_JSON")...), checkStream, []string{"binlog_row_value_options=PARTIAL_JSON"}},
		{"partial JSON on MariaDB is not a thing", mariadb(append(good, "binlog_row_value_options", "PARTIAL_JSON")...), checkStream, nil},
		{"GTIDs without consistency", mysql8(append(good, "gtid_mode", "ON", "enforce_gtid_consistency", "WARN")...), checkStream, []string{"enforce_gtid_consistency=WARN"}},
		{"permissive GTID mode streams (file positions)", mysql8(append(good, "gtid_mode", "ON_PERMISSIVE", "enforce_gtid_consistency", "WARN")...), checkStream, nil},
	}
	for _, tc := range tests {
		var got []string
		for _, p := range tc.st.problems(tc.level) {
			got = append(got, p.name+"="+p.value)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: problems %q, want %q", tc.name, got, tc.want)
		}
	}
}

func varsOf(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestMisconfiguredMessages(t *testing.T) {
	tests := []struct {
		st    settings
		level checkLevel
		want  string
	}{
		{settings{flavor: flavorMariaDB, vars: varsOf("log_bin", "ON", "binlog_format", "STATEMENT", "binlog_row_image", "FULL")}, checkStream,
			"source db:3306 of keyspace shop cannot stream changes: it has binlog_format=STATEMENT, vstreamd needs binlog_format=ROW. " +
				"Fix: run SET GLOBAL binlog_format=ROW (it applies only to sessions opened afterwards: reconnect the applications that write) " +
				"and add binlog_format=ROW under [mysqld] in my.cnf"},
		{settings{flavor: flavorMariaDB, vars: varsOf("log_bin", "OFF", "binlog_format", "MIXED", "binlog_row_image", "MINIMAL")}, checkRead,
			"source db:3306 of keyspace shop cannot stream changes: it has log_bin=OFF, binlog_format=MIXED, binlog_row_image=MINIMAL, " +
				"vstreamd needs log_bin=ON, binlog_format=ROW, binlog_row_image=FULL. " +
				"Fix: add log_bin=mariadb-bin, binlog_format=ROW, binlog_row_image=FULL under [mysqld] in my.cnf and restart the server (log_bin cannot be changed at runtime)"},
		{settings{flavor: flavorMySQL, vars: varsOf("log_bin", "OFF")}, checkRead,
			"source db:3306 of keyspace shop cannot stream changes: it has log_bin=OFF, vstreamd needs log_bin=ON. " +
				"Fix: add log_bin=binlog under [mysqld] in my.cnf and restart the server (log_bin cannot be changed at runtime)"},
		{settings{flavor: flavorMySQL, vars: varsOf("log_bin", "ON", "binlog_format", "ROW", "binlog_row_image", "FULL", "binlog_row_value_options", "PARTIAL_JSON")}, checkStream,
			"source db:3306 of keyspace shop cannot stream changes: it has binlog_row_value_options=PARTIAL_JSON, vstreamd needs binlog_row_value_options=''. " +
				"Fix: run SET GLOBAL binlog_row_value_options='' (it applies only to sessions opened afterwards: reconnect the applications that write) " +
				"and add binlog_row_value_options=\"\" under [mysqld] in my.cnf"},
	}
	for _, tc := range tests {
		err := misconfigured(preflightInfo, tc.st.problems(tc.level))
		if !errors.Is(err, engines.ErrMisconfigured) {
			t.Errorf("%v: not ErrMisconfigured", err)
		}
		if err.Error() != tc.want {
			t.Errorf("message\n got  %s\n want %s", err, tc.want)
		}
	}
}

func TestSettingsNotes(t *testing.T) {
	st := settings{flavor: flavorMySQL, vars: varsOf("binlog_row_metadata", "MINIMAL", "gtid_mode", "OFF_PERMISSIVE")}
	notes := strings.Join(st.notes(), "\n")
	for _, want := range []string{"binlog_row_metadata is MINIMAL", "binlog_row_metadata=FULL", "gtid_mode is OFF_PERMISSIVE"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	if n := (settings{flavor: flavorMariaDB, vars: varsOf("binlog_row_metadata", "FULL")}).notes(); len(n) != 0 {
		t.Errorf("notes %q, want none", n)
	}
}

// my is a go-sql-driver error (SQL connections), rep a go-mysql one
// (replication connections), wrapped as go-mysql wraps its errors.
func sqlErrOf(code uint16, msg string) error { return &mysql.MySQLError{Number: code, Message: msg} }
func replErrOf(code uint16, msg string) error {
	return fmt.Errorf("start sync: %w", &gomysql.MyError{Code: code, Message: msg, State: "HY000"})
}

func TestClassifyError(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	based := preflightInfo
	based.idBase = 4242
	known := preflightInfo
	known.account = "'repl'@'10.%'"
	mysqlInfo := preflightInfo
	mysqlInfo.flavor = flavorMySQL
	yes := func() bool { return true }
	no := func() bool { return false }
	tests := []struct {
		name   string
		err    error
		in     srcInfo
		stream bool
		login  func() bool
		kind   error // nil: returned unchanged
		parts  []string
	}{
		{"closed port", fmt.Errorf("dial: %w", refused), preflightInfo, false, nil, engines.ErrSourceUnavailable,
			[]string{"cannot connect to source db:3306 of keyspace shop (connection refused)", "is the server running, and are the host and port of the source URL right?"}},
		{"closed port, replication", fmt.Errorf("dial: %w", refused), preflightInfo, true, nil, engines.ErrSourceUnavailable,
			[]string{"lost the replication connection to source db:3306 of keyspace shop (connection refused)"}},
		{"server gone mid-stream", fmt.Errorf("read: %w", io.EOF), preflightInfo, true, nil, engines.ErrSourceUnavailable,
			[]string{"lost the replication connection", "closed the connection"}},
		{"invalid connection", mysql.ErrInvalidConn, preflightInfo, false, nil, engines.ErrSourceUnavailable, []string{"invalid connection"}},
		{"timeout", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, preflightInfo, true, nil, engines.ErrSourceUnavailable, []string{"lost the replication connection"}},
		{"bad password", sqlErrOf(1045, "Access denied for user 'repl'@'10.0.0.9' (using password: YES)"), preflightInfo, false, nil, engines.ErrSourceUnavailable,
			[]string{"source db:3306 of keyspace shop refused the login: Access denied for user 'repl'@'10.0.0.9' (using password: YES)", "fix the user and password of the source URL"}},
		{"bad password, replication", replErrOf(1045, "Access denied for user 'repl'@'10.0.0.9' (using password: YES)"), preflightInfo, true, no, engines.ErrSourceUnavailable,
			[]string{"refused the login"}},
		{"no REPLICATION SLAVE (MariaDB answers 1045)", replErrOf(1045, "Access denied for user 'repl'@'%' (using password: YES)"), preflightInfo, true, yes, engines.ErrMisconfigured,
			[]string{"refused to stream its binary log", "needs REPLICATION SLAVE", "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'"}},
		{"no REPLICATION SLAVE (MySQL answers 1227)", replErrOf(1227, "Access denied; you need (at least one of) the REPLICATION SLAVE privilege(s) for this operation"), mysqlInfo, true, nil,
			engines.ErrMisconfigured, []string{"GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'"}},
		{"no BINLOG MONITOR", sqlErrOf(1227, "Access denied; you need (at least one of) the SUPER, BINLOG MONITOR privilege(s) for this operation"), preflightInfo, false, nil,
			engines.ErrMisconfigured, []string{"needs BINLOG MONITOR", "GRANT BINLOG MONITOR ON *.* TO 'repl'@'%'"}},
		{"no REPLICATION CLIENT", sqlErrOf(1227, "Access denied; you need (at least one of) the SUPER, REPLICATION CLIENT privilege(s) for this operation"), mysqlInfo, false, nil,
			engines.ErrMisconfigured, []string{"GRANT REPLICATION CLIENT ON *.* TO 'repl'@'%'"}},
		{"no SUPER", sqlErrOf(1227, "Access denied; you need (at least one of) the SUPER privilege(s) for this operation"), known, false, nil,
			engines.ErrMisconfigured, []string{"GRANT SUPER ON *.* TO 'repl'@'10.%'"}},
		{"1227 without names", sqlErrOf(1227, "Access denied"), mysqlInfo, false, nil,
			engines.ErrMisconfigured, []string{"GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.*"}},
		{"unknown database", sqlErrOf(1049, "Unknown database 'shop'"), preflightInfo, false, nil, ErrUnknownDatabase,
			[]string{"Unknown database 'shop' on source db:3306 of keyspace shop", "fix the database of the source URL"}},
		{"no SELECT on the database", sqlErrOf(1044, "Access denied for user 'repl'@'%' to database 'shop'"), preflightInfo, false, nil, engines.ErrMisconfigured,
			[]string{"Access denied for user 'repl'@'%' to database 'shop'", "GRANT SELECT ON `shop`.* TO 'repl'@'%'"}},
		{"no SELECT, account known", sqlErrOf(1142, "SELECT command denied to user 'repl'@'10.0.0.9' for table `shop`.`t`"), known, false, nil, engines.ErrMisconfigured,
			[]string{"GRANT SELECT ON `shop`.* TO 'repl'@'10.%'"}},
		{"no SELECT on a column", sqlErrOf(1143, "SELECT command denied to user 'repl'@'h' for column 'c' in table 't'"), preflightInfo, false, nil, engines.ErrMisconfigured,
			[]string{"GRANT SELECT ON `shop`.*"}},
		{"host not allowed", sqlErrOf(1130, "Host '10.0.0.9' is not allowed to connect to this MariaDB server"), preflightInfo, false, nil, engines.ErrSourceUnavailable,
			[]string{"is not allowed to connect", "CREATE USER 'repl'@"}},
		{"host blocked", sqlErrOf(1129, "Host '10.0.0.9' is blocked because of many connection errors; unblock with 'mariadb-admin flush-hosts'"), preflightInfo, false, nil,
			engines.ErrSourceUnavailable, []string{"FLUSH HOSTS"}},
		{"too many connections", sqlErrOf(1040, "Too many connections"), preflightInfo, false, nil, engines.ErrSourceUnavailable, []string{"max_connections"}},
		{"shutdown", replErrOf(1053, "Server shutdown in progress"), preflightInfo, true, nil, engines.ErrSourceUnavailable, []string{"lost the connection", "Server shutdown in progress"}},
		{"killed", replErrOf(1927, "Connection was killed"), preflightInfo, true, nil, engines.ErrSourceUnavailable, []string{"Connection was killed"}},
		{"proxy: unknown command", replErrOf(1047, "Unknown command"), preflightInfo, true, nil, engines.ErrMisconfigured,
			[]string{"answers SQL but refused to stream its binary log (1047 Unknown command)", "proxy", "point the source URL at the database server itself"}},
		{"proxy: not supported", replErrOf(1235, "This version of MySQL doesn't yet support 'COM_BINLOG_DUMP'"), preflightInfo, true, nil, engines.ErrMisconfigured,
			[]string{"point the source URL at the database server itself"}},
		{"proxy: other code, message says so", replErrOf(1105, "unknown command: 18"), preflightInfo, true, nil, engines.ErrMisconfigured, []string{"proxy"}},
		{"1047 of SQL is not about proxies", sqlErrOf(1047, "Unknown command"), preflightInfo, false, nil, nil, nil},
		{"server_id collision, MariaDB", replErrOf(4052, "A slave with the same server_uuid/server_id is already connected; the first event '.' at 0, the last event read from 'b.000001' at 1424"),
			based, true, nil, engines.ErrMisconfigured,
			[]string{"another replica connected to source db:3306 of keyspace shop with this stream's server_id", "(A slave with the same server_uuid/server_id is already connected)",
				"set ?server_id=N in the source URL (now server_id=4242", "or leave it out for a random base"}},
		{"server_id collision, MySQL", replErrOf(1236, "A replica with the same server_uuid/server_id as this replica has connected to the source; the first event 'binlog.000001' at 4"),
			preflightInfo, true, nil, engines.ErrMisconfigured, []string{"now a random base"}},
		{"purged GTID, MariaDB", replErrOf(1236, "Could not find GTID state requested by slave in any binlog files. Probably the slave state is too old and required binlog files have been purged."),
			preflightInfo, true, nil, engines.ErrPositionUnavailable,
			[]string{"source db:3306 of keyspace shop no longer has the binary logs from that position (Could not find GTID state requested by slave in any binlog files)",
				"they were purged", "start a fresh copy with WHERE pos > ''"}},
		{"purged GTID, MySQL", replErrOf(1236, "Cannot replicate because the source purged required binary logs. Replicate the missing transactions from elsewhere"),
			mysqlInfo, true, nil, engines.ErrPositionUnavailable, []string{"they were purged", "pos > ''"}},
		{"purged file", replErrOf(1236, "Could not find first log file name in binary log index file"), preflightInfo, true, nil, engines.ErrPositionUnavailable, []string{"they were purged"}},
		{"purged GTIDs, 1789", replErrOf(1789, "The slave is connecting using CHANGE MASTER TO MASTER_AUTO_POSITION = 1, but the master has purged binary logs containing GTIDs that the slave requires."),
			mysqlInfo, true, nil, engines.ErrPositionUnavailable, []string{"they were purged"}},
		{"bad offset", replErrOf(1236, "Client requested master to start replication from position > file size"), preflightInfo, true, nil, engines.ErrPositionUnavailable,
			[]string{"cannot stream its binary log from that position (Client requested master to start replication from position > file size)", "pos > ''"}},
		{"tls asked, server without", fmt.Errorf("connect: %w", mysql.ErrNoTLS), preflightInfo, false, nil, engines.ErrMisconfigured,
			[]string{"source db:3306 of keyspace shop does not offer TLS", "enable TLS on the server", "drop tls from the source URL"}},
		{"tls, unknown CA", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, preflightInfo, true, nil, engines.ErrMisconfigured,
			[]string{"TLS certificate of source db:3306 of keyspace shop is not trusted", "tls=skip-verify"}},
		{"tls, other name", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "db"}, preflightInfo, false, nil, engines.ErrMisconfigured,
			[]string{"connect by the name the certificate carries"}},
		{"cancellation passes", fmt.Errorf("x: %w", context.Canceled), preflightInfo, true, nil, nil, nil},
		{"deadline passes", context.DeadlineExceeded, preflightInfo, false, nil, nil, nil},
		{"unknown error passes", errors.New("something else"), preflightInfo, true, nil, nil, nil},
		{"unknown server error passes", sqlErrOf(1064, "You have an error in your SQL syntax"), preflightInfo, false, nil, nil, nil},
	}
	for _, tc := range tests {
		got := classifyError(tc.err, tc.in, tc.stream, tc.login)
		if tc.kind == nil {
			if got != tc.err {
				t.Errorf("%s: got %v, want the error unchanged", tc.name, got)
			}
			continue
		}
		if !errors.Is(got, tc.kind) {
			t.Errorf("%s: %v does not wrap %v", tc.name, got, tc.kind)
			continue
		}
		for _, p := range tc.parts {
			if !strings.Contains(got.Error(), p) {
				t.Errorf("%s: %q lacks %q", tc.name, got, p)
			}
		}
		if len(got.Error()) > 450 {
			t.Errorf("%s: message of %d bytes; with a prefix it must fit MySQL's 512", tc.name, len(got.Error()))
		}
		if again := classifyError(got, tc.in, tc.stream, tc.login); again != got {
			t.Errorf("%s: classifying twice changed %v into %v", tc.name, got, again)
		}
		if !errors.Is(got, tc.kind) {
			t.Errorf("%s: %v is not %v", tc.name, got, tc.kind)
		}
	}
}

func TestUnknownDatabaseIsMisconfigured(t *testing.T) {
	err := classifyError(sqlErrOf(1049, "Unknown database 'x'"), preflightInfo, false, nil)
	if !errors.Is(err, ErrUnknownDatabase) || !errors.Is(err, engines.ErrMisconfigured) {
		t.Fatalf("%v", err)
	}
}

func TestPrivilegesOf(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"Access denied; you need (at least one of) the SUPER, BINLOG MONITOR privilege(s) for this operation", "BINLOG MONITOR"},
		{"Access denied; you need (at least one of) the SUPER, REPLICATION CLIENT privilege(s) for this operation", "REPLICATION CLIENT"},
		{"Access denied; you need (at least one of) the REPLICATION SLAVE privilege(s) for this operation", "REPLICATION SLAVE"},
		{"Access denied; you need (at least one of) the SUPER privilege(s) for this operation", "SUPER"},
		{"Access denied; you need (at least one of) the REPLICATION SLAVE ADMIN, SUPER privilege(s) for this operation", "REPLICATION SLAVE ADMIN"},
		{"Access denied", ""},
	}
	for _, tc := range tests {
		if got := strings.Join(privilegesOf(tc.msg), ","); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.msg, got, tc.want)
		}
	}
}

func TestAccounts(t *testing.T) {
	for in, want := range map[string]string{"repl@%": "'repl'@'%'", "a@b@10.0.0.1": "'a@b'@'10.0.0.1'", "x": "'x'@'%'", "": ""} {
		if got := accountOf(in); got != want {
			t.Errorf("accountOf(%q) = %q, want %q", in, got, want)
		}
	}
	in := preflightInfo
	if got := in.who("Access denied for user 'repl'@'10.%' to database 'shop'"); got != "'repl'@'10.%'" {
		t.Errorf("who from the message: %q", got)
	}
	if got := in.who("Access denied for user 'other'@'h'"); got != "'repl'@'%'" {
		t.Errorf("who of another user's message: %q", got)
	}
	in.account = "'repl'@'localhost'"
	if got := in.who("Access denied for user 'repl'@'10.%'"); got != "'repl'@'localhost'" {
		t.Errorf("who with CURRENT_USER known: %q", got)
	}
}

func TestFirstSentence(t *testing.T) {
	for in, want := range map[string]string{
		"A slave with the same server_uuid/server_id is already connected; the first event '.' at 0":             "A slave with the same server_uuid/server_id is already connected",
		"Could not find GTID state requested by slave in any binlog files. Probably the slave state is too old.": "Could not find GTID state requested by slave in any binlog files",
		"Unknown command": "Unknown command",
		"":                "",
	} {
		if got := firstSentence(in); got != want {
			t.Errorf("firstSentence(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPreflightCache: a success is trusted until it expires (the source is
// not asked: this Source has no connections at all), for its level and the
// levels below; a misconfigured or unreachable classification forgets it.
func TestPreflightCache(t *testing.T) {
	s := &Source{cfg: Config{Host: "db", Port: 3306, User: "repl", Database: "shop"}, keyspace: "shop"}
	s.pre.okUntil[checkStream] = time.Now().Add(time.Minute)
	s.pre.okUntil[checkRead] = time.Now().Add(time.Minute)
	for _, l := range []checkLevel{checkRead, checkStream} {
		if err := s.preflight(context.Background(), l); err != nil {
			t.Fatalf("level %d: %v", l, err)
		}
	}
	if err := s.classify(sqlErrOf(1045, "Access denied for user 'repl'@'h' (using password: YES)")); !errors.Is(err, engines.ErrSourceUnavailable) {
		t.Fatalf("%v", err)
	}
	if s.pre.okUntil != [numLevels]time.Time{} {
		t.Fatalf("a failure must forget the cached success: %v", s.pre.okUntil)
	}
	s.pre.okUntil[checkRead] = time.Now().Add(time.Minute)
	if err := s.classify(sqlErrOf(1146, "Table 'shop.x' doesn't exist")); err == nil || s.pre.okUntil[checkRead].IsZero() {
		t.Fatalf("an unrelated error must keep the cache: %v", err)
	}
}
