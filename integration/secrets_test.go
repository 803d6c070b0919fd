package integration

import (
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/embedded"
	"github.com/vstreamd/vstreamd/integration/faultproxy"
	"github.com/vstreamd/vstreamd/integration/testdb"
	"github.com/vstreamd/vstreamd/server"
	"github.com/vstreamd/vstreamd/server/sqlerr"
)

// Secrets (contract §5): source URLs and passwords never appear in logs,
// errors, warnings, SHOW PROCESSLIST, table functions or panics. Every
// source and user here has a password of its own; the test drives every
// error it can (logins with wrong passwords, a source down, wrong
// passwords to real MariaDB and PostgreSQL servers, TLS refused, bad
// tokens, bad URL parameters at start-up, a source lost mid-stream, an
// engine that panics with its URL before and after the header), through
// text, prepared and multi-statement queries and the vstreamd command,
// collects everything a client or an operator sees (errors, warnings,
// rows, SHOW PROCESSLIST, the table functions, the log), and looks for the
// passwords, their hashes and the URLs in it.

// secretsSeen collects what a client or the log showed.
type secretsSeen struct {
	t   *testing.T
	out []string // "what: text"
}

func (s *secretsSeen) add(what, text string) { s.out = append(s.out, what+": "+text) }

// query runs q (a prepared statement when there are args) and records its
// rows, error and warnings.
func (s *secretsSeen) query(c querier, q string, args ...any) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	rows, err := c.QueryContext(ctx, q, args...)
	if err != nil {
		s.add(q+" error", err.Error())
	} else {
		cols, _ := rows.Columns()
		for rows.Next() {
			s.add(q+" row", strings.Join(scanStrings(s.t, rows), " ")+" "+strings.Join(cols, " "))
		}
		if err := rows.Err(); err != nil {
			s.add(q+" error", err.Error())
		}
		rows.Close()
	}
	rows, err = c.QueryContext(ctx, "SHOW WARNINGS")
	if err != nil {
		s.t.Fatalf("SHOW WARNINGS after %s: %v (the statement broke the connection)", q, err)
	}
	defer rows.Close()
	for rows.Next() {
		s.add(q+" warning", strings.Join(scanStrings(s.t, rows), " "))
	}
}

// check fails the test if any secret shows (in any case: hashes are hex).
func (s *secretsSeen) check(secrets []string) {
	s.t.Helper()
	n := 0
	for _, line := range s.out {
		lower := strings.ToLower(line)
		for _, sec := range secrets {
			if strings.Contains(lower, strings.ToLower(sec)) || strings.Contains(lower, strings.ToLower(url.QueryEscape(sec))) {
				s.t.Errorf("secret %q shows in %s", sec, line)
				n++
			}
		}
	}
	if n == 0 {
		s.t.Logf("%d outputs checked for %d secrets", len(s.out), len(secrets))
	}
	if testing.Verbose() {
		for _, line := range s.out {
			s.t.Log(line)
		}
	}
}

// shows fails the test unless some output contains every part: the
// scenario happened.
func (s *secretsSeen) shows(parts ...string) {
	s.t.Helper()
	for _, line := range s.out {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return
		}
	}
	s.t.Errorf("no output shows %q", parts)
}

func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestSecretsNeverShow(t *testing.T) {
	t.Parallel()
	pw := func(name string) string { return "S3cr3t-" + name + "-Pw!" } // '!' is escaped in URLs
	m := testdb.StartMariaDB(t, testdb.MariaDBOptions{})
	m.Exec(t, "CREATE DATABASE shop",
		"CREATE TABLE shop.t (id BIGINT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO shop.t VALUES (1, 'one'), (2, 'two')",
		"CREATE USER 'vsecret'@'%' IDENTIFIED BY '"+pw("mgood")+"'",
		"GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'vsecret'@'%'")
	p := testdb.StartPostgres(t, testdb.PostgresOptions{})
	p.CreateDatabase(t, "shop")
	p.Exec(t, "shop", "CREATE TABLE t (id bigint PRIMARY KEY, v text)", "INSERT INTO t VALUES (1, 'one'), (2, 'two')",
		"CREATE ROLE vsecret LOGIN SUPERUSER REPLICATION PASSWORD '"+pw("pgood")+"'")
	mproxy, pproxy := faultproxy.Start(t, m.Addr()), faultproxy.Start(t, p.Addr())
	down := closedAddr(t)

	mysqlURL := func(user, pass, addr, params string) string {
		return (&url.URL{Scheme: "mysql", User: url.UserPassword(user, pass), Host: addr, Path: "/shop", RawQuery: params}).String()
	}
	pgURL := func(user, pass, addr, params string) string {
		return (&url.URL{Scheme: "postgres", User: url.UserPassword(user, pass), Host: addr, Path: "/shop", RawQuery: params}).String()
	}
	sources := map[string]string{
		"mdown":   mysqlURL("repl", pw("mdown"), down, "timeout=2s"),
		"mwrong":  mysqlURL("repl", pw("mwrong"), m.Addr(), ""),
		"mtls":    mysqlURL("vsecret", pw("mgood"), m.Addr(), "tls=true"),
		"mgood":   mysqlURL("vsecret", pw("mgood"), mproxy.Addr(), "reconnect=1s"),
		"pdown":   pgURL("postgres", pw("pdown"), down, "connect_timeout=2"),
		"pwrong":  pgURL("postgres", pw("pwrong"), p.Addr(), ""),
		"ptls":    pgURL("vsecret", pw("pgood"), p.Addr(), "sslmode=require"),
		"pgood":   pgURL("vsecret", pw("pgood"), pproxy.Addr(), ""),
		"sdown":   (&url.URL{Scheme: "sqlserver", User: url.UserPassword("sa", pw("sdown")), Host: down, RawQuery: "database=shop&dial+timeout=2"}).String(),
		"panicky": "leaky://u:" + pw("leaky") + "@nowhere/x",
	}
	// The users' passwords, and their mysql_native_password hashes (with
	// which a client can log in as well).
	var secrets []string
	for _, name := range []string{"user", "other-user", "hashed"} {
		secrets = append(secrets, pw(name), nativeHash(pw(name)))
	}
	for _, u := range sources {
		pu, _ := url.Parse(u)
		p, _ := pu.User.Password()
		secrets = append(secrets, p, u)
	}

	cfg := server.Config{DefaultLimit: server.DefaultLimit, Listen: "127.0.0.1:0"}
	for name, src := range sources {
		cfg.Keyspaces = append(cfg.Keyspaces, catalog.KeyspaceConfig{Name: name, Source: src})
	}
	cfg.Keyspaces = append(cfg.Keyspaces, catalog.KeyspaceConfig{Name: "commerce", Source: "embedded:", InitSQL: DemoSchema})
	cfg.Users = []server.User{
		{Name: "app", Password: pw("user"), Keyspaces: []string{"*"}},
		{Name: "other", Password: pw("other-user"), Tables: []string{"commerce.corder"}},
		{Name: "hashed", PasswordHash: nativeHash(pw("hashed")), Keyspaces: []string{"commerce"}},
	}
	// An engine with a bug: it panics with its own URL.
	cfg.Engines = map[string]catalog.Opener{"leaky": func(_ context.Context, keyspace string, u *url.URL) (engines.Source, error) {
		return leaky{DB: embedded.New(keyspace, embedded.Options{SQLError: sqlerr.Of}), url: u.String()}, nil
	}}
	logs := &logBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := Start(t, cfg)
	seen := &secretsSeen{t: t}

	// Logins with wrong passwords.
	for _, u := range []struct{ user, pass string }{{"app", pw("other-user")}, {"other", pw("user")}, {"nobody", pw("user")}, {"hashed", pw("user")}} {
		if _, err := userConn(t, s, u.user, u.pass, ""); err != nil {
			seen.add("login "+u.user, err.Error())
		} else {
			t.Fatalf("login as %s with the wrong password succeeded", u.user)
		}
	}
	// Logins into a keyspace whose source is down or refuses vstreamd.
	for _, db := range []string{"mdown", "pwrong"} {
		if lc, err := userConn(t, s, "app", pw("user"), db); err != nil {
			seen.add("login into "+db, err.Error())
		} else {
			seen.query(lc, "SELECT * FROM t /* logged into "+db+" */")
		}
	}
	// What could show a user's password hash.
	hc := mustUser(t, s, "hashed", pw("hashed"), "")
	for _, q := range []string{"SELECT user, authentication_string FROM mysql.user", "SELECT * FROM mysql.user",
		"SHOW GRANTS", "SHOW GRANTS FOR hashed", "SHOW CREATE USER hashed", "SELECT * FROM information_schema.user_privileges"} {
		seen.query(hc, q)
	}
	c := mustUser(t, s, "app", pw("user"), "")
	// Prepared statements (COM_STMT_PREPARE and COM_STMT_EXECUTE) of
	// vstream(): go-mysql-server prepares table functions in a database.
	pc := mustUser(t, s, "app", pw("user"), "commerce")
	mustExec(t, c, "SET WORKLOAD=OLAP", "CREATE TABLE panicky.t (id BIGINT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO panicky.t VALUES (1, 'x')")
	for name := range sources {
		for _, q := range []string{
			"VSTREAM * FROM %s.t WHERE pos <= 'current'",
			"VSTREAM * FROM %s.t WHERE pos > 'current' AND pos <= 'current'",
			"VSTREAM * FROM %s.t WHERE pos > 'vs1.garbage'",
			"VSTREAM * FROM %s.t WHERE pos > 'MariaDB/0-1-1' AND pos <= 'current'",
			"SELECT * FROM vstream('%s.t', '', 'current')",
			"SELECT * FROM %s.t",
			"SHOW TABLES FROM %s",
			"DESCRIBE %s.t",
			"SELECT table_name FROM information_schema.tables WHERE table_schema = '%s'",
			"SELECT * FROM vstream_positions('%s')",
		} {
			seen.query(c, fmt.Sprintf(q, name))
		}
		seen.query(pc, "SELECT * FROM vstream('"+name+".t', ?, 'current') /* prepared */", "")
	}
	// A multi-statement packet.
	mc, err := sql.Open("mysql", s.DSN("app", pw("user"), "", map[string]string{"multiStatements": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	mconn, err := mc.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer mconn.Close()
	for _, name := range []string{"mwrong", "pwrong", "panicky"} {
		q := "SET WORKLOAD=OLAP; VSTREAM * FROM " + name + ".t WHERE pos <= 'current' /* multi */"
		if _, err := resultSets(t, mconn, q); err != nil {
			seen.add(q+" error", err.Error())
		}
	}
	seen.query(mustUser(t, s, "other", pw("other-user"), ""), "SELECT * FROM mgood.t")

	// A panic after the header: the statement ends with a warning.
	wc := mustUser(t, s, "app", pw("user"), "")
	mustExec(t, wc, "SET WORKLOAD=OLAP")
	mustExec(t, c, "CREATE TABLE panicky.w (id BIGINT PRIMARY KEY, v VARCHAR(20))")
	wls := startLive(t, wc, "VSTREAM * FROM panicky.w")
	mustExec(t, c, "INSERT INTO panicky.w VALUES (1, 'x')")
	wls.waitRows(t, 1)
	mustExec(t, c, "INSERT INTO panicky.w VALUES (2, 'leak')")
	got, err := wls.waitEnd(t)
	seen.add(wls.q+" end", fmt.Sprint(got, err))
	_, ws := query(t, wc, "SHOW WARNINGS")
	for _, r := range ws {
		seen.add("after the panic", strings.Join(r, " "))
	}

	// Streams that run, then lose their source.
	ms, ps := mustUser(t, s, "app", pw("user"), ""), mustUser(t, s, "app", pw("user"), "")
	mustExec(t, ms, "SET WORKLOAD=OLAP")
	mustExec(t, ps, "SET WORKLOAD=OLAP")
	mls := startLive(t, ms, "VSTREAM *, pos FROM mgood.t")
	pls := startLive(t, ps, "VSTREAM *, pos FROM pgood.t")
	mls.waitRows(t, 2)
	pls.waitRows(t, 2)
	for _, q := range []string{"SHOW FULL PROCESSLIST", "SELECT * FROM information_schema.processlist",
		"SELECT * FROM vstream_positions()", "SELECT * FROM vstream_copy_state()", "SHOW STATUS", "SHOW VARIABLES"} {
		seen.query(c, q)
	}
	for _, pr := range []*faultproxy.Proxy{mproxy, pproxy} {
		pr.Refuse(true)
		pr.Cut()
	}
	for _, ls := range []*liveStream{mls, pls} {
		got, err := ls.waitEnd(t)
		seen.add(ls.q+" end", fmt.Sprint(got, err))
	}
	for _, cc := range []querier{ms, ps} {
		_, ws := query(t, cc, "SHOW WARNINGS")
		for _, r := range ws {
			seen.add("after the outage", strings.Join(r, " "))
		}
		seen.query(cc, "VSTREAM * FROM mgood.t WHERE pos <= 'current'")
		seen.query(cc, "VSTREAM * FROM pgood.t WHERE pos <= 'current'")
	}

	// Start-up errors of bad source URLs.
	for i, bad := range []string{
		"mysql://repl:%s@db.example:notaport/shop",
		"mysql://repl:%s@db.example/shop?timeout=bogus",
		"mysql://repl:%s@db.example/",
		"postgres://u:%s@/shop",
		"postgres://u:%s@db.example/shop?slot=Bad-Name",
		"sqlserver://sa:%s@db.example?database=",
		"sqlserver://sa:%s@db.example?database=x&poll=bogus",
		"nosuch://u:%s@db.example/x",
		"mysql://repl:%s@db.example/shop\x7f",
		"%%zz%s",
	} {
		secret := pw(fmt.Sprintf("start%d", i))
		src := fmt.Sprintf(bad, secret)
		secrets = append(secrets, secret, src)
		bcfg := server.Config{Listen: "127.0.0.1:0", Keyspaces: []catalog.KeyspaceConfig{{Name: "bad", Source: src}}, Logger: cfg.Logger}
		srv, err := server.New(context.Background(), bcfg)
		if err != nil {
			seen.add("start-up with "+bad, err.Error())
		} else {
			srv.Close()
		}
	}
	time.Sleep(100 * time.Millisecond)
	seen.add("log", logs.String())
	if !strings.Contains(logs.String(), "a panic ended a statement") {
		t.Fatalf("the leaky engine did not panic:\n%s", logs.String())
	}
	// The scenarios happened.
	seen.shows("login app", "1045")
	seen.shows("login hashed", "1045")
	seen.shows("/* logged into mdown */ error", "1429")
	seen.shows("/* logged into pwrong */ error", "1429")
	seen.shows("SHOW GRANTS FOR hashed", "hashed")
	// (The prepared statements' source errors are 1105, not 1429: the
	// error code is not what this test is about.)
	seen.shows("vstream('mwrong.t', ?, 'current') /* prepared */ error", "keyspace mwrong refused the login")
	seen.shows("vstream('pwrong.t', ?, 'current') /* prepared */ error", "refused the login of postgres")
	seen.shows("vstream('panicky.t', ?, 'current') /* prepared */ error", "1105", "[redacted]")
	seen.shows("FROM mwrong.t WHERE pos <= 'current' /* multi */ error", "1429")
	seen.shows("FROM panicky.t WHERE pos <= 'current' /* multi */ error", "1105", "[redacted]")
	for _, ks := range []string{"mdown", "mwrong", "pdown", "pwrong", "sdown"} {
		seen.shows("FROM "+ks+".t WHERE pos <= 'current' error", "1429")
	}
	seen.shows("FROM mtls.t WHERE pos <= 'current' error", "TLS")
	seen.shows("FROM ptls.t WHERE pos <= 'current' error", "tls error")
	seen.shows("FROM panicky.t WHERE pos <= 'current' error", "1105", "cannot stream from leaky://u:"+"[redacted]@nowhere")
	seen.shows("SHOW FULL PROCESSLIST row", "VSTREAM *, pos FROM mgood.t")
	seen.shows("vstream_positions() row", "mgood", "vs1.")
	seen.shows("after the panic", "1105", "cannot stream from leaky://u:[redacted]@nowhere")
	seen.shows("after the outage", "1429", "pos > 'vs1.")
	seen.shows("after the outage", "1236", "pos > 'vs1.") // the session's temporary slot is gone with its connection
	seen.shows("start-up with mysql://repl:%s@db.example/shop?timeout=bogus", "timeout")
	seen.shows("start-up with postgres://u:%s@/shop", "no host", "postgres://user:pass@host:port/db")
	seen.check(secrets)
}

// leaky is an embedded keyspace whose change stream panics with the
// source URL in the panic value (a bug that formats its configuration):
// that of table t as it starts, that of other tables at a row whose value
// is 'leak', after sending the rows before it.
type leaky struct {
	*embedded.DB
	url string
}

func (l leaky) Stream(ctx context.Context, from engines.Position, tables []string, send func([]engines.Event) error) error {
	if slices.Contains(tables, "t") {
		panic("cannot stream from " + l.url)
	}
	return l.DB.Stream(ctx, from, tables, func(evs []engines.Event) error {
		for i, e := range evs {
			if marked(e.After, "leak") {
				if err := send(evs[:i]); err != nil {
					return err
				}
				panic("cannot stream from " + l.url)
			}
		}
		return send(evs)
	})
}

// nativeHash is MySQL's mysql_native_password hash of a password.
func nativeHash(pw string) string {
	h1 := sha1.Sum([]byte(pw))
	h2 := sha1.Sum(h1[:])
	return "*" + strings.ToUpper(hex.EncodeToString(h2[:]))
}

// The vstreamd command: what it prints when a source URL is wrong, and its
// log while clients fail to reach sources that are down.
func TestSecretsNeverShowBinary(t *testing.T) {
	t.Parallel()
	bin := buildVStreamd(t)
	const srcPw, userPw = "Bin-S3cret-Pw!", "Bin-User-Pw1"
	down := closedAddr(t)
	mysqlSrc := (&url.URL{Scheme: "mysql", User: url.UserPassword("repl", srcPw), Host: down, Path: "/shop", RawQuery: "timeout=2s"}).String()
	pgSrc := (&url.URL{Scheme: "postgres", User: url.UserPassword("repl", srcPw), Host: down, Path: "/shop", RawQuery: "connect_timeout=2"}).String()
	secrets := []string{srcPw, userPw, nativeHash(userPw), mysqlSrc, pgSrc}
	seen := &secretsSeen{t: t}

	dir := t.TempDir()
	addr := freeAddr(t)
	config := filepath.Join(dir, "config.toml")
	// writeConfig writes the config with the user's password and the
	// source of keyspace shop given as TOML (key = value).
	writeConfig := func(password, shopSource string) {
		t.Helper()
		toml := fmt.Sprintf(`[server]
listen = %q
[log]
level = "debug"
[[users]]
name = "app"
%s
keyspaces = ["*"]
[keyspaces.shop]
%s
[keyspaces.pg]
source = %q
`, addr, password, shopSource, pgSrc)
		if err := os.WriteFile(config, []byte(toml), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// A start-up error: a bad parameter in the URL of source_env.
	writeConfig(`password_env = "APP_PASSWORD"`, `source_env = "SHOP_URL"`)
	cmd := exec.Command(bin, "--config", config)
	cmd.Dir = dir
	bad := strings.Replace(mysqlSrc, "timeout=2s", "timeout=bogus", 1)
	secrets = append(secrets, bad)
	cmd.Env = append(os.Environ(), "SHOP_URL="+bad, "APP_PASSWORD="+userPw)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("vstreamd started with a bad source URL:\n%s", out)
	}
	seen.add("start-up", string(out))
	seen.shows("start-up", "vstreamd:", "keyspace shop", `timeout="bogus"`)

	// Serving, with both sources down: errors to the client, the log.
	writeConfig(fmt.Sprintf("password = %q", userPw), fmt.Sprintf("source = %q", mysqlSrc))
	p := startBinary(t, bin, "--config", config)
	ts := &Server{Addr: addr}
	if _, err := userConn(t, ts, "app", srcPw, ""); err != nil {
		seen.add("login app", err.Error())
	}
	c := mustUser(t, ts, "app", userPw, "")
	mustExec(t, c, "SET WORKLOAD=OLAP")
	for _, q := range []string{"VSTREAM * FROM shop.t WHERE pos <= 'current'", "VSTREAM * FROM pg.t WHERE pos <= 'current'",
		"SHOW TABLES FROM pg", "SHOW FULL PROCESSLIST", "SELECT * FROM vstream_positions()"} {
		seen.query(c, q)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("vstreamd did not exit within 10 s of SIGTERM\n%s", p.output())
	}
	seen.add("log", p.output())
	seen.shows("login app", "1045")
	seen.shows("FROM shop.t WHERE pos <= 'current' error", "1429", down)
	seen.shows("FROM pg.t WHERE pos <= 'current' error", "1429", "postgres://repl@"+down)
	seen.shows("log", "msg=serving", "shutting down")
	seen.check(secrets)
}
