package binlog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// Preflight: before a snapshot or a change stream starts, the source's
// settings are checked, so that a server that cannot stream is a clear
// error naming the setting, its value and the fix, instead of a stream
// that fails later or silently misses changes.
//
// Where each problem is found:
//   - unreachable server, bad credentials, unknown database, no access to
//     the database: the first statement that connects (Tables, Table,
//     Current, Snapshot …), by classify. Open never connects, so a server
//     that is down when vstreamd starts does not stop vstreamd.
//   - binary log off: preflight at checkRead (Current, Snapshot): a
//     position needs it.
//   - binlog_format, binlog_row_image, partial JSON, GTID consistency:
//     preflight at checkStream (Stream). A plain SELECT through vstreamd
//     reads a snapshot and does not need them.
//   - missing SELECT: the server's 1044/1142 where they surface, and
//     invisibleTable for a table the user may not see.
//   - missing REPLICATION SLAVE, a proxy that does not serve the binary
//     log, a server_id collision, a purged position: the replication
//     connection's errors, by classifyStream (the server is the authority;
//     SHOW GRANTS is not parsed, so roles, ALL PRIVILEGES and partial
//     revokes are never misjudged).
//   - missing REPLICATION CLIENT / BINLOG MONITOR: SHOW MASTER STATUS's
//     1227, where it is needed (MySQL without GTIDs).

// preflightTTL is how long a successful check is trusted, so statements
// that start streams often do not pay for it each time.
const preflightTTL = 10 * time.Second

// checkLevel says what the caller is about to start.
type checkLevel int

const (
	// checkRead: a position or a snapshot at a position; the binary log
	// must be on.
	checkRead checkLevel = iota
	// checkStream: a change stream; the binary log must be in a form the
	// engine can turn into row changes.
	checkStream
	numLevels
)

// preflightState caches successful checks of a Source.
type preflightState struct {
	mu      sync.Mutex
	okUntil [numLevels]time.Time
	noted   bool // informative findings were logged
}

// invalidatePreflight makes the next statement check the source again.
func (s *Source) invalidatePreflight() {
	s.pre.mu.Lock()
	s.pre.okUntil = [numLevels]time.Time{}
	s.pre.mu.Unlock()
}

// preflight checks that the source can serve level, at most once per
// preflightTTL while it succeeds. A failure is never cached.
func (s *Source) preflight(ctx context.Context, level checkLevel) error {
	now := time.Now()
	s.pre.mu.Lock()
	ok := now.Before(s.pre.okUntil[level])
	s.pre.mu.Unlock()
	if ok {
		return nil
	}
	err := s.runPreflight(ctx, level)
	if err != nil {
		s.invalidatePreflight()
		return err
	}
	s.pre.mu.Lock()
	for l := checkRead; l <= level; l++ {
		s.pre.okUntil[l] = now.Add(preflightTTL)
	}
	s.pre.mu.Unlock()
	return nil
}

// preflightVariables are the server settings preflight reads.
var preflightVariables = []string{
	"log_bin", "binlog_format", "binlog_row_image", "binlog_row_metadata", "binlog_row_value_options",
	"gtid_mode", "enforce_gtid_consistency", "server_id",
}

func (s *Source) runPreflight(ctx context.Context, level checkLevel) error {
	flavor, err := s.ready(ctx)
	if err != nil {
		return err
	}
	vars, err := s.readVariables(ctx)
	if err != nil {
		return err
	}
	st := settings{flavor: flavor, vars: vars}
	if problems := st.problems(level); len(problems) > 0 {
		return misconfigured(s.info(), problems)
	}
	s.pre.mu.Lock()
	noted := s.pre.noted
	s.pre.noted = true
	s.pre.mu.Unlock()
	if !noted {
		for _, n := range st.notes() {
			s.log.Warn(n, "source", s.cfg.Addr())
		}
	}
	return nil
}

// readVariables reads the global values of preflightVariables that the
// server has (SHOW VARIABLES needs no privilege and skips unknown names).
func (s *Source) readVariables(ctx context.Context) (map[string]string, error) {
	q := "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('" + strings.Join(preflightVariables, "', '") + "')"
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, s.classify(err)
	}
	defer rows.Close()
	vars := make(map[string]string)
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return nil, s.classify(err)
		}
		vars[strings.ToLower(name)] = value
	}
	if err := rows.Err(); err != nil {
		return nil, s.classify(err)
	}
	return vars, nil
}

// settings are a server's flavor and global variables (lower-case names).
type settings struct {
	flavor string
	vars   map[string]string
}

// problem is one setting the engine cannot stream with.
type problem struct {
	name    string // variable
	value   string // its value now
	want    string // the value needed
	line    string // the my.cnf line that fixes it
	set     string // the SET GLOBAL value ("" when it cannot change at runtime)
	restart bool   // only a restart fixes it
}

// value returns a variable and whether the server has it.
func (st settings) value(name string) (string, bool) {
	v, ok := st.vars[name]
	return strings.TrimSpace(v), ok
}

// problems lists what keeps the server from serving level. A variable the
// server does not report is not judged (the replication connection will
// tell).
func (st settings) problems(level checkLevel) []problem {
	var out []problem
	if v, ok := st.value("log_bin"); ok && !isOn(v) {
		line := "log_bin=binlog"
		if st.flavor == flavorMariaDB {
			line = "log_bin=mariadb-bin"
		}
		out = append(out, problem{name: "log_bin", value: v, want: "ON", line: line, restart: true})
	}
	// With the binary log off the server needs a restart anyway: name
	// every setting streaming needs, so one restart fixes them all.
	if level < checkStream && len(out) == 0 {
		return out
	}
	if v, ok := st.value("binlog_format"); ok && !strings.EqualFold(v, "ROW") {
		out = append(out, problem{name: "binlog_format", value: v, want: "ROW", line: "binlog_format=ROW", set: "ROW"})
	}
	if v, ok := st.value("binlog_row_image"); ok && !strings.EqualFold(v, "FULL") {
		out = append(out, problem{name: "binlog_row_image", value: v, want: "FULL", line: "binlog_row_image=FULL", set: "FULL"})
	}
	if st.flavor == flavorMySQL {
		// Partial JSON updates log a diff, not the after image.
		if v, ok := st.value("binlog_row_value_options"); ok && strings.Contains(strings.ToUpper(v), "PARTIAL_JSON") {
			out = append(out, problem{name: "binlog_row_value_options", value: v, want: "''", line: "binlog_row_value_options=\"\"", set: "''"})
		}
		mode, _ := st.value("gtid_mode")
		if v, ok := st.value("enforce_gtid_consistency"); ok && strings.EqualFold(mode, "ON") && !isOn(v) {
			out = append(out, problem{name: "enforce_gtid_consistency", value: v, want: "ON", line: "enforce_gtid_consistency=ON", set: "ON"})
		}
	}
	return out
}

// notes are findings that do not stop streaming but are worth a log line.
func (st settings) notes() []string {
	var out []string
	if v, ok := st.value("binlog_row_metadata"); ok && !strings.EqualFold(v, "FULL") {
		out = append(out, fmt.Sprintf("binlog_row_metadata is %s: changes read back from before a column change are matched to columns by position; "+
			"SET GLOBAL binlog_row_metadata=FULL (and binlog_row_metadata=FULL in my.cnf) lets vstreamd match them by name", v))
	}
	if st.flavor == flavorMySQL {
		if v, ok := st.value("gtid_mode"); ok && strings.Contains(strings.ToUpper(v), "PERMISSIVE") {
			out = append(out, fmt.Sprintf("gtid_mode is %s: positions are binlog file offsets until gtid_mode=ON; tokens taken before the switch cannot resume after it", v))
		}
	}
	return out
}

func isOn(v string) bool {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "ON", "1", "YES", "TRUE":
		return true
	}
	return false
}

// misconfigured is the error of a failed preflight: every setting with its
// value and the one needed, then the fix. A restart fix (log_bin) lists
// every my.cnf line at once; otherwise SET GLOBAL, with the caveat that
// it reaches only new sessions, plus the my.cnf lines for the next
// restart.
func misconfigured(in srcInfo, ps []problem) error {
	var have, need, lines, sets []string
	restart := false
	for _, p := range ps {
		have = append(have, p.name+"="+p.value)
		need = append(need, p.name+"="+p.want)
		lines = append(lines, p.line)
		if p.restart {
			restart = true
		} else {
			sets = append(sets, p.name+"="+p.set)
		}
	}
	var fix string
	if restart {
		fix = fmt.Sprintf("add %s under [mysqld] in my.cnf and restart the server (log_bin cannot be changed at runtime)", strings.Join(lines, ", "))
	} else {
		fix = fmt.Sprintf("run SET GLOBAL %s (it applies only to sessions opened afterwards: reconnect the applications that write) and add %s under [mysqld] in my.cnf",
			strings.Join(sets, ", "), strings.Join(lines, ", "))
	}
	return errorf(engines.ErrMisconfigured, "%s cannot stream changes: it has %s, vstreamd needs %s. Fix: %s",
		in.where(), strings.Join(have, ", "), strings.Join(need, ", "), fix)
}

// invisibleTable explains a table the source does not list: without any
// privilege on a table, MySQL hides it from information_schema, so a
// missing SELECT looks like a missing table. The server's own answer to a
// SELECT of it tells which (1142 for both a hidden and an absent table
// when the user has no database-wide SELECT).
func (s *Source) invisibleTable(ctx context.Context, name string, notFound error) error {
	if _, err := s.ready(ctx); err != nil {
		return err
	}
	q := "SELECT 1 FROM " + quoteName(s.cfg.Database) + "." + quoteName(name) + " LIMIT 0"
	rows, err := s.db.QueryContext(ctx, q)
	if err == nil {
		rows.Close()
		return notFound
	}
	if code, msg, ok := serverError(err); ok && (code == erTableAccessDenied || code == erColumnAccessDenied) {
		in := s.info()
		return errorf(engines.ErrMisconfigured,
			"table %s.%s is not visible to the source user (%s): if it exists, GRANT SELECT ON %s.* TO %s",
			in.database, name, msg, quoteName(in.database), in.who(msg))
	}
	if cerr := s.classify(err); errors.Is(cerr, engines.ErrSourceUnavailable) {
		return cerr
	}
	return notFound
}
