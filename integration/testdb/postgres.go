package testdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/jackc/pgx/v5/pgconn"
)

// Superuser of every PostgreSQL server (TCP logins use scram-sha-256).
const (
	PGSuperUser = "postgres"
	PGSuperPass = "postgres"
)

// PostgresVersion is the major version looked for first (Debian 12's).
const PostgresVersion = "15"

// Postgres is a running throwaway PostgreSQL server configured as a
// logical replication source: wal_level=logical, 20 replication slots and
// WAL senders, fsync off. The cluster lives in Dir/data, the unix socket in
// Dir, the server log in Dir/postgres.log. Connections over TCP (normal and
// replication) need a password; the superuser is PGSuperUser/PGSuperPass.
type Postgres struct {
	Port int
	Dir  string

	bin   string // directory holding initdb and postgres
	cred  *syscall.Credential
	conf  []byte // postgresql.conf as initdb wrote it
	extra []string
	cmd   *exec.Cmd
	done  chan struct{}
}

// PostgresOptions tune a server.
type PostgresOptions struct {
	// WalLevel is wal_level: "" means "logical"; "replica" or "minimal"
	// make servers a logical replication consumer must refuse.
	WalLevel string
	// Conf lines are appended to postgresql.conf after the defaults, so
	// they override them, e.g. "max_replication_slots = 1".
	Conf []string
}

// pgNotInstalled is ErrNotInstalled with PostgreSQL's own hint.
type pgNotInstalled struct{ what string }

func (e pgNotInstalled) Error() string {
	return e.what + ": PostgreSQL not installed (./test.sh installs postgresql)"
}
func (e pgNotInstalled) Is(target error) bool { return target == ErrNotInstalled }

// postgresBin finds the directory holding initdb and postgres: the Debian
// versioned directory (PostgresVersion first, then the newest), else the
// directory initdb on PATH links to.
func postgresBin() (string, error) {
	ok := func(dir string) bool {
		for _, n := range []string{"initdb", "postgres"} {
			if st, err := os.Stat(filepath.Join(dir, n)); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	dirs := []string{filepath.Join("/usr/lib/postgresql", PostgresVersion, "bin")}
	others, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(others, func(i, j int) bool { // newest major first
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(others[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(others[j])))
		return vi > vj
	})
	dirs = append(dirs, others...)
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(r))
		}
	}
	for _, d := range dirs {
		if ok(d) {
			return d, nil
		}
	}
	return "", pgNotInstalled{"initdb, postgres"}
}

// postgresCredential is the OS user the server runs as: nil (the current
// user) unless we are root, which PostgreSQL refuses; then user postgres.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses to run as root: it must run as OS user postgres, "+
			"which does not exist (%v); install the postgresql package (it creates the user) or run the tests as another user", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("OS user postgres: %v", err)
	}
	c := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				c.Groups = append(c.Groups, uint32(n))
			}
		}
	}
	return c, nil
}

// reachable checks that cred can traverse every parent of dir, so that the
// failure is explained instead of surfacing as initdb's "Permission denied".
func reachable(dir string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	in := func(g uint32) bool {
		if g == cred.Gid {
			return true
		}
		for _, x := range cred.Groups {
			if x == g {
				return true
			}
		}
		return false
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		s := st.Sys().(*syscall.Stat_t)
		m := st.Mode().Perm()
		if !(m&0o001 != 0 || s.Uid == cred.Uid && m&0o100 != 0 || in(s.Gid) && m&0o010 != 0) {
			return fmt.Errorf("OS user postgres (uid %d) cannot traverse %s (mode %v) to reach %s; "+
				"chmod 755 it or point TMPDIR elsewhere", cred.Uid, d, m, dir)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// StartPostgres starts a server for the test; it is stopped and removed at
// cleanup. Without PostgreSQL the test skips, or fails when Required().
func StartPostgres(tb testing.TB, opts PostgresOptions) *Postgres {
	tb.Helper()
	if _, err := postgresBin(); err != nil {
		if Required() {
			tb.Fatal(err)
		}
		tb.Skip(err)
	}
	p, err := NewPostgres(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	return p
}

// NewPostgres starts a server outside a test (benchmarks, tools); Close
// stops it and removes its directory. The error wraps ErrNotInstalled when
// the machine has no PostgreSQL.
func NewPostgres(opts PostgresOptions) (p *Postgres, err error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vstreamd-postgres-")
	if err != nil {
		return nil, err
	}
	p = &Postgres{Dir: dir, bin: bin, cred: cred}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	// MkdirTemp makes the directory 0700; the server's user must reach it.
	if err := os.Chmod(dir, 0o755); err != nil {
		return p, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return p, err
		}
		if err := reachable(dir, cred); err != nil {
			return p, err
		}
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(PGSuperPass+"\n"), 0o600); err != nil {
		return p, err
	}
	if cred != nil {
		if err := os.Chown(pwfile, int(cred.Uid), int(cred.Gid)); err != nil {
			return p, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := p.command(filepath.Join(bin, "initdb"), "-U", PGSuperUser, "--pwfile="+pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync", "-D", data)
	out, err := initdb.CombinedOutput()
	os.Remove(pwfile)
	if err != nil {
		return p, fmt.Errorf("initdb: %v\n%s", err, tail(out, 20))
	}
	if err := p.allowReplication(); err != nil {
		return p, err
	}
	if p.conf, err = os.ReadFile(filepath.Join(data, "postgresql.conf")); err != nil {
		return p, err
	}
	wal := opts.WalLevel
	if wal == "" {
		wal = "logical"
	}
	senders := 20
	if wal == "minimal" { // minimal WAL cannot feed WAL senders
		senders = 0
	}
	p.extra = append([]string{
		"listen_addresses = '127.0.0.1'",
		"unix_socket_directories = '" + dir + "'",
		"max_connections = 200",
		"shared_buffers = 128MB",
		"wal_level = " + wal,
		"max_replication_slots = 20",
		"max_wal_senders = " + strconv.Itoa(senders),
		"wal_sender_timeout = 60s",
		"fsync = off",
		"full_page_writes = off",
		"synchronous_commit = on", // off would delay walsenders by up to wal_writer_delay
		"logging_collector = off",
	}, opts.Conf...)
	for attempt := 0; ; attempt++ {
		if p.Port, err = pickPort(); err != nil {
			return p, err
		}
		if err = p.writeConf(); err != nil {
			return p, err
		}
		if err = p.start(); err == nil {
			return p, nil
		}
		if attempt == 2 {
			return p, err
		}
	}
}

// command runs a PostgreSQL program as the server's OS user, in Dir.
func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Dir = p.Dir
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.cred}
	return c
}

// allowReplication makes sure pg_hba.conf lets replication connections in
// over TCP with a password (initdb's default file already does).
func (p *Postgres) allowReplication() error {
	name := filepath.Join(p.Dir, "data", "pg_hba.conf")
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && f[0] == "host" && f[1] == "replication" && f[2] == "all" && f[3] == "127.0.0.1/32" {
			return nil
		}
	}
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString("host    replication     all             127.0.0.1/32            scram-sha-256\n")
	return errors.Join(err, f.Close())
}

// writeConf writes postgresql.conf: initdb's file plus ours with the port.
func (p *Postgres) writeConf() error {
	var b strings.Builder
	b.Write(p.conf)
	b.WriteString("\n# ---- vstreamd integration/testdb ----\nport = " + strconv.Itoa(p.Port) + "\n")
	for _, l := range p.extra {
		b.WriteString(l + "\n")
	}
	// Rewrite in place: the file keeps its owner (the server's user).
	return os.WriteFile(filepath.Join(p.Dir, "data", "postgresql.conf"), []byte(b.String()), 0o600)
}

// start launches postgres and waits until it accepts connections.
func (p *Postgres) start() error {
	logName := filepath.Join(p.Dir, "postgres.log")
	log, err := os.OpenFile(logName, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer log.Close() // the child has its own descriptor
	p.cmd = p.command(filepath.Join(p.bin, "postgres"), "-D", filepath.Join(p.Dir, "data"))
	p.cmd.Stdout, p.cmd.Stderr = log, log
	if err := p.cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	p.done = done
	cmd := p.cmd
	go func() { cmd.Wait(); close(done) }()
	failed := func(why string) error {
		b, _ := os.ReadFile(logName)
		return fmt.Errorf("postgres %s (port %d):\n%s", why, p.Port, tail(b, 20))
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return failed("exited during start-up")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := pgconn.Connect(ctx, p.DSN(PGSuperUser, PGSuperPass, "postgres"))
		if err == nil {
			c.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		time.Sleep(25 * time.Millisecond)
	}
	p.Stop()
	return failed("not ready after 60 s")
}

// Stop stops the server by PID: SIGINT (fast shutdown: open sessions are
// ended, WAL is flushed), SIGKILL to its process group after 30 s. The
// directory stays, so Restart can start it again.
func (p *Postgres) Stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) // postmaster and its backends
		<-p.done
	}
}

// Close stops the server and removes its directory. Calling it twice is
// harmless.
func (p *Postgres) Close() {
	p.Stop()
	if p.Dir != "" {
		os.RemoveAll(p.Dir)
	}
}

// Restart stops the server and starts it again on the same port and data
// (crash-free: Stop is a fast shutdown).
func (p *Postgres) Restart(tb testing.TB) {
	tb.Helper()
	p.Stop()
	if err := p.start(); err != nil {
		tb.Fatalf("restarting postgres: %v", err)
	}
}

// PID is the postmaster's process id.
func (p *Postgres) PID() int { return p.cmd.Process.Pid }

// Addr is host:port.
func (p *Postgres) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)) }

// URL is postgres://user:pass@127.0.0.1:port/db, the form a vstreamd
// source URL takes.
func (p *Postgres) URL(user, pass, db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, pass), Host: p.Addr(), Path: "/" + db}
	return u.String()
}

// DSN is URL plus sslmode=disable, for sql.Open("pgx", ...) (with
// github.com/jackc/pgx/v5/stdlib imported) and pgconn.Connect; append
// "&replication=database" for a logical replication connection.
func (p *Postgres) DSN(user, pass, db string) string {
	return p.URL(user, pass, db) + "?sslmode=disable"
}

// Admin returns a pool on db ("" = postgres) as the superuser, closed at
// cleanup. The database must exist (CreateDatabase).
func (p *Postgres) Admin(tb testing.TB, db string) *sql.DB {
	tb.Helper()
	if db == "" {
		db = "postgres"
	}
	h := p.open(PGSuperUser, PGSuperPass, db)
	tb.Cleanup(func() { h.Close() })
	return h
}

// Exec runs statements on db ("" = postgres) as the superuser, one by
// one; an error fails the test.
func (p *Postgres) Exec(tb testing.TB, db string, stmts ...string) {
	tb.Helper()
	if db == "" {
		db = "postgres"
	}
	h := p.open(PGSuperUser, PGSuperPass, db)
	defer h.Close()
	for _, q := range stmts {
		if _, err := h.ExecContext(context.Background(), q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
}

// CreateDatabase creates database name.
func (p *Postgres) CreateDatabase(tb testing.TB, name string) {
	tb.Helper()
	p.Exec(tb, "", "CREATE DATABASE "+quoteIdent(name))
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// open is a database/sql pool on db through pgconnDriver.
//
// Why not github.com/jackc/pgx/v5/stdlib: it imports pgxpool and so
// github.com/jackc/puddle/v2, which go.mod/go.sum do not list yet. Once they
// do, this can become sql.Open("pgx", p.DSN(user, pass, db)).
func (p *Postgres) open(user, pass, db string) *sql.DB {
	d, err := sql.Open("pgx", p.DSN(user, pass, db))
	if err != nil {
		panic(err) // only a malformed DSN, which DSN never builds
	}
	return d
}
