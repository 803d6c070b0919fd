package testdb

import (
	"context"
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

// MariaDB is a running throwaway MariaDB server configured as a binlog
// source: ROW format, FULL images, GTIDs (strict mode, domain 0).
type MariaDB struct {
	Dir  string
	Port int
	Sock string
	cmd  *exec.Cmd
	args []string
	done chan struct{}
}

// Users created on every server.
const (
	ReplUser  = "repl" // REPLICATION SLAVE, REPLICATION CLIENT, SELECT
	ReplPass  = "repl"
	AdminUser = "admin" // ALL PRIVILEGES
	AdminPass = "admin"
)

// MariaDBOptions tune a server.
type MariaDBOptions struct {
	// Extra mariadbd options, e.g. "--binlog-format=STATEMENT".
	Extra []string
	// NoBinlog starts the server without a binary log.
	NoBinlog bool
}

// Required reports whether missing servers fail the test.
func Required() bool { return os.Getenv("VSTREAMD_REQUIRE_INTEGRATION") != "" }

// ErrNotInstalled: the server's programs are not on this machine.
var ErrNotInstalled = errors.New("not installed (./test.sh installs mariadb-server)")

// programs finds the named programs on PATH or in the sbin directories.
func programs(names ...string) ([]string, error) {
	paths := make([]string, len(names))
	for i, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/bin"} {
				if _, e := os.Stat(filepath.Join(dir, n)); e == nil {
					p, err = filepath.Join(dir, n), nil
					break
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, ErrNotInstalled)
		}
		paths[i] = p
	}
	return paths, nil
}

func need(tb testing.TB, names ...string) []string {
	tb.Helper()
	paths, err := programs(names...)
	if err != nil {
		if Required() {
			tb.Fatal(err)
		}
		tb.Skip(err)
	}
	return paths
}

// StartMariaDB starts a server for the test; it is stopped at cleanup.
func StartMariaDB(tb testing.TB, opts MariaDBOptions) *MariaDB {
	tb.Helper()
	need(tb, "mariadbd", "mariadb-install-db")
	m, err := NewMariaDB(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(m.Close)
	return m
}

// NewMariaDB starts a server outside a test (benchmarks, tools), as
// httptest.NewServer does; Close stops it and removes its directory. The
// error wraps ErrNotInstalled when the machine has no MariaDB.
func NewMariaDB(opts MariaDBOptions) (m *MariaDB, err error) {
	bins, err := programs("mariadbd", "mariadb-install-db")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vstreamd-mariadb-")
	if err != nil {
		return nil, err
	}
	m = &MariaDB{Dir: dir, Sock: filepath.Join(dir, "mysqld.sock"), done: make(chan struct{})}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	common := []string{"--no-defaults", "--datadir=" + filepath.Join(dir, "data"), "--socket=" + m.Sock,
		"--pid-file=" + filepath.Join(dir, "mariadbd.pid"), "--tmpdir=" + dir}
	if os.Geteuid() == 0 {
		common = append(common, "--user=root")
	}
	install := exec.Command(bins[1], append(common, "--auth-root-authentication-method=normal", "--skip-test-db")...)
	if out, err := install.CombinedOutput(); err != nil {
		return m, fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
	}
	for attempt := 0; ; attempt++ {
		if m.Port, err = pickPort(); err != nil {
			return m, err
		}
		args := append(append([]string{}, common...),
			"--bind-address=127.0.0.1", "--port="+strconv.Itoa(m.Port), "--skip-name-resolve",
			"--log-error="+filepath.Join(dir, "error.log"), "--character-set-server=utf8mb4",
			"--collation-server=utf8mb4_general_ci", "--server-id=1", "--innodb-buffer-pool-size=128M",
			"--max-connections=300", "--innodb-flush-log-at-trx-commit=2", "--sync-binlog=0")
		if !opts.NoBinlog {
			args = append(args, "--log-bin=mariadb-bin", "--log-bin-index=mariadb-bin.index", "--binlog-format=ROW",
				"--binlog-row-image=FULL", "--binlog-checksum=CRC32", "--gtid-strict-mode=ON", "--gtid-domain-id=0",
				"--max-binlog-size=64M")
		}
		args = append(args, opts.Extra...)
		m.args = append([]string{bins[0]}, args...)
		err = m.start()
		if err == nil {
			break
		}
		if attempt == 2 {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return m, fmt.Errorf("starting mariadbd: %v\n%s", err, tail(log, 20))
		}
	}
	root, err := m.root()
	if err != nil {
		return m, err
	}
	defer root.Close()
	for _, q := range []string{
		"SET SESSION sql_log_bin=0",
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", ReplUser, ReplPass),
		fmt.Sprintf("GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO '%s'@'%%'", ReplUser),
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", AdminUser, AdminPass),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'%%' WITH GRANT OPTION", AdminUser),
	} {
		if _, err := root.Exec(q); err != nil {
			return m, fmt.Errorf("%s: %w", q, err)
		}
	}
	return m, nil
}

// Close stops the server and removes its directory.
func (m *MariaDB) Close() {
	m.Stop()
	if m.Dir != "" {
		os.RemoveAll(m.Dir)
	}
}

// start launches mariadbd and waits until it accepts connections.
func (m *MariaDB) start() error {
	m.cmd = exec.Command(m.args[0], m.args[1:]...)
	m.cmd.Stdout, m.cmd.Stderr = nil, nil
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		return err
	}
	m.done = make(chan struct{})
	go func() { m.cmd.Wait(); close(m.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-m.done:
			return errors.New("mariadbd exited during start-up")
		default:
		}
		c, err := net.DialTimeout("unix", m.Sock, time.Second)
		if err == nil {
			c.Close()
			db, _ := sql.Open("mysql", m.socketDSN("root", "", ""))
			err = db.Ping()
			db.Close()
			if err == nil {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	m.Stop()
	return errors.New("mariadbd not ready after 60 s")
}

// Stop stops the server by PID (SIGTERM, then SIGKILL after 30 s).
func (m *MariaDB) Stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	select {
	case <-m.done:
		return
	default:
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		m.cmd.Process.Kill()
		<-m.done
	}
}

// Restart stops the server and starts it again on the same port and data.
func (m *MariaDB) Restart(tb testing.TB) {
	tb.Helper()
	m.Stop()
	if err := m.start(); err != nil {
		tb.Fatalf("restarting mariadbd: %v", err)
	}
}

// PID is the server's process id.
func (m *MariaDB) PID() int { return m.cmd.Process.Pid }

func (m *MariaDB) socketDSN(user, pass, db string) string {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = user, pass, "unix", m.Sock, db
	return c.FormatDSN()
}

// DSN is a go-sql-driver DSN over TCP.
func (m *MariaDB) DSN(user, pass, db string) string {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = user, pass, "tcp", m.Addr(), db
	c.MultiStatements = true
	return c.FormatDSN()
}

// URL is a vstreamd source URL for the server.
func (m *MariaDB) URL(user, pass, db string) string {
	return fmt.Sprintf("mysql://%s:%s@%s/%s", user, pass, m.Addr(), db)
}

// Addr is host:port.
func (m *MariaDB) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.Port)) }

func (m *MariaDB) rootDB(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := m.root()
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// root is a pool on the server's socket as root.
func (m *MariaDB) root() (*sql.DB, error) { return sql.Open("mysql", m.socketDSN("root", "", "")) }

// Admin returns a pool on db as the admin user (creating db if needed).
func (m *MariaDB) Admin(tb testing.TB, db string) *sql.DB {
	tb.Helper()
	if db != "" {
		root := m.rootDB(tb)
		_, err := root.Exec("CREATE DATABASE IF NOT EXISTS `" + db + "`")
		root.Close()
		if err != nil {
			tb.Fatal(err)
		}
	}
	h, err := sql.Open("mysql", m.DSN(AdminUser, AdminPass, db))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// Exec runs statements as root (setup that must not need privileges).
func (m *MariaDB) Exec(tb testing.TB, stmts ...string) {
	tb.Helper()
	root := m.rootDB(tb)
	defer root.Close()
	for _, q := range stmts {
		if _, err := root.ExecContext(context.Background(), q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	p, err := pickPort()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// pickPort returns a loopback TCP port that was free a moment ago.
func pickPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
