package testdb

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// DoltInstall is the command that installs the Dolt version the Dolt
// tests were written against (Dolt 2.2.0, which reports MySQL 8.0.31).
const DoltInstall = "go install github.com/dolthub/dolt/go/cmd/dolt@v0.40.5-0.20260715172757-a6690826d767"

// Dolt is a running throwaway Dolt sql-server configured as a
// MySQL-flavoured binary log primary: log_bin=1, gtid_mode=ON,
// enforce_gtid_consistency=ON, server_id=1. It serves the replication
// protocol by GTID only (COM_BINLOG_DUMP_GTID).
//
// Users: ReplUser with SELECT,
// REPLICATION SLAVE, REPLICATION CLIENT and LOCK TABLES, AdminUser with
// ALL.
type Dolt struct {
	Dir     string // DOLT_ROOT_PATH is Dir/root, the data dir Dir/data
	Port    int
	Bin     string // the dolt binary
	Version string // "dolt version 2.2.0"
	// StopWait is how long Stop waits after SIGTERM before SIGKILL. Dolt
	// waits up to 30 s for open binlog dump connections; a test server's
	// data does not matter, so the default is short.
	StopWait time.Duration
	cmd      *exec.Cmd
	done     chan struct{}
	env      []string
}

// DoltRequired reports whether a missing dolt fails the test instead of
// skipping it. Dolt is not installed by ./test.sh (its build takes minutes),
// so VSTREAMD_REQUIRE_INTEGRATION does not require it.
func DoltRequired() bool { return os.Getenv("VSTREAMD_REQUIRE_DOLT") != "" }

// FindDolt returns the dolt binary: $DOLT_BIN, else dolt on PATH, else
// $GOPATH/bin/dolt.
func FindDolt() (string, error) {
	if b := os.Getenv("DOLT_BIN"); b != "" {
		if _, err := os.Stat(b); err != nil {
			return "", fmt.Errorf("DOLT_BIN=%s: %v", b, err)
		}
		return b, nil
	}
	if p, err := exec.LookPath("dolt"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "dolt")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("dolt not found on PATH, in $DOLT_BIN or in $GOPATH/bin")
}

// needDolt finds dolt or skips (fails with VSTREAMD_REQUIRE_DOLT).
func needDolt(tb testing.TB) string {
	tb.Helper()
	bin, err := FindDolt()
	if err != nil {
		msg := fmt.Sprintf("%v: the Dolt tests are optional (CI does not install Dolt; its build takes minutes); install with `%s`, set VSTREAMD_REQUIRE_DOLT=1 to fail instead of skipping", err, DoltInstall)
		if DoltRequired() {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return bin
}

// StartDolt starts a Dolt sql-server for the test; it is stopped at
// cleanup. Each of persist is set before the server starts, as
// SET @@PERSIST.<persist> (e.g. "binlog_row_metadata='FULL'").
func StartDolt(tb testing.TB, persist ...string) *Dolt {
	tb.Helper()
	bin := needDolt(tb)
	dir, err := os.MkdirTemp("", "vstreamd-dolt-")
	if err != nil {
		tb.Fatal(err)
	}
	d := &Dolt{Dir: dir, Bin: bin, StopWait: 3 * time.Second}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	data := filepath.Join(dir, "data")
	for _, sub := range []string{"root", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	// Dolt's global config (user name, metrics) lives under DOLT_ROOT_PATH:
	// keep it out of the user's home.
	d.env = append(os.Environ(), "DOLT_ROOT_PATH="+filepath.Join(dir, "root"))
	run := func(args ...string) string {
		tb.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = data, d.env
		out, err := cmd.CombinedOutput()
		if err != nil {
			tb.Fatalf("dolt %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("config", "--global", "--add", "user.name", "vstreamd-test")
	run("config", "--global", "--add", "user.email", "vstreamd-test@example.invalid")
	run("config", "--global", "--add", "metrics.disabled", "true")
	for _, line := range strings.Split(run("version"), "\n") {
		if strings.HasPrefix(line, "dolt version") {
			d.Version = strings.TrimSpace(line)
		}
	}
	run("init")
	// Binary log settings must be persisted before the server starts (as
	// Dolt's own binlog tests do); the users are created before the binary
	// log exists, so it starts empty.
	for _, q := range []string{
		"SET @@PERSIST.log_bin=1",
		"SET @@PERSIST.gtid_mode=ON",
		"SET @@PERSIST.enforce_gtid_consistency=ON",
		"SET @@PERSIST.server_id=1",
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", ReplUser, ReplPass),
		fmt.Sprintf("GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES ON *.* TO '%s'@'%%'", ReplUser),
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", AdminUser, AdminPass),
		fmt.Sprintf("GRANT ALL ON *.* TO '%s'@'%%' WITH GRANT OPTION", AdminUser),
	} {
		run("sql", "-q", q)
	}
	for _, p := range persist {
		run("sql", "-q", "SET @@PERSIST."+p)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		d.Port = freePort(tb)
		if lastErr = d.start(data); lastErr == nil {
			tb.Cleanup(d.Stop)
			return d
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
	tb.Fatalf("starting dolt sql-server: %v\n%s", lastErr, tail(log, 30))
	return nil
}

func (d *Dolt) start(data string) error {
	logf, err := os.OpenFile(filepath.Join(d.Dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	d.cmd = exec.Command(d.Bin, "sql-server", "--host=127.0.0.1", "--port="+strconv.Itoa(d.Port),
		"--socket="+filepath.Join(d.Dir, "dolt.sock"), "--data-dir="+data, "--loglevel=info")
	d.cmd.Dir, d.cmd.Env = data, d.env
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = doltProcAttr()
	if err := d.cmd.Start(); err != nil {
		return err
	}
	d.done = make(chan struct{})
	go func() { d.cmd.Wait(); close(d.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			return errors.New("dolt sql-server exited during start-up")
		default:
		}
		db, _ := sql.Open("mysql", d.DSN(AdminUser, AdminPass, ""))
		err := db.Ping()
		db.Close()
		if err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.Stop()
	return errors.New("dolt sql-server not ready after 60 s")
}

// Stop stops the server by PID: SIGTERM, then SIGKILL after StopWait.
func (d *Dolt) Stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(d.StopWait):
		d.cmd.Process.Kill()
		<-d.done
	}
}

// PID is the server's process id.
func (d *Dolt) PID() int { return d.cmd.Process.Pid }

// Addr is host:port.
func (d *Dolt) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(d.Port)) }

// DSN is a go-sql-driver DSN.
func (d *Dolt) DSN(user, pass, db string) string {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = user, pass, "tcp", d.Addr(), db
	c.MultiStatements = true
	return c.FormatDSN()
}

// URL is a vstreamd source URL for the server.
func (d *Dolt) URL(user, pass, db string) string {
	return fmt.Sprintf("mysql://%s:%s@%s/%s", user, pass, d.Addr(), db)
}

// Admin returns a pool on db as the admin user, creating db if needed.
func (d *Dolt) Admin(tb testing.TB, db string) *sql.DB {
	tb.Helper()
	if db != "" {
		admin, err := sql.Open("mysql", d.DSN(AdminUser, AdminPass, ""))
		if err != nil {
			tb.Fatal(err)
		}
		_, err = admin.Exec("CREATE DATABASE IF NOT EXISTS `" + db + "`")
		admin.Close()
		if err != nil {
			tb.Fatal(err)
		}
	}
	h, err := sql.Open("mysql", d.DSN(AdminUser, AdminPass, db))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// Log returns the server's log so far (for failure messages).
func (d *Dolt) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "server.log"))
	return string(bytes.TrimSpace(b))
}
