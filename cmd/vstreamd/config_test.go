package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/vstreamd/vstreamd/integration"
	"github.com/vstreamd/vstreamd/server"
)

// repoConfig is the documented example config at the repository root.
const repoConfig = "../../config.toml"

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	shopURLFile := write("shop_url", "mysql://repl:fromfile@db:3306/shop\n")
	pwFile := write("ops_password", "s3cret\r\n")
	noFile := filepath.Join(dir, "config.toml") // never created

	demo := func(t *testing.T, cfg server.Config) {
		t.Helper()
		if len(cfg.Keyspaces) != 1 || cfg.Keyspaces[0].Name != "commerce" || cfg.Keyspaces[0].Source != "embedded:" {
			t.Fatalf("keyspaces = %+v, want the demo keyspace commerce (embedded:)", cfg.Keyspaces)
		}
		for _, table := range []string{"product", "customer", "corder"} {
			if !strings.Contains(cfg.Keyspaces[0].InitSQL, "CREATE TABLE "+table+" (") {
				t.Errorf("demo init_sql does not create %s:\n%s", table, cfg.Keyspaces[0].InitSQL)
			}
		}
	}
	defaults := func(t *testing.T, cfg server.Config) {
		t.Helper()
		if cfg.Listen != server.DefaultListen || cfg.DefaultLimit != server.DefaultLimit ||
			cfg.ChunkRows != 0 || cfg.RetainChanges != 0 || len(cfg.Users) != 0 {
			t.Errorf("got listen %q, default_limit %d, chunk_rows %d, retain_changes %d, %d users; want the defaults",
				cfg.Listen, cfg.DefaultLimit, cfg.ChunkRows, cfg.RetainChanges, len(cfg.Users))
		}
		if cfg.MaxSessions != server.DefaultMaxSessions || cfg.MaxStreamsPerUser != 0 || cfg.MaxStatementBytes != server.DefaultMaxStatementBytes ||
			cfg.HandshakeTimeout != server.DefaultHandshakeTimeout || cfg.TLSCert != "" || cfg.RequireSecureTransport {
			t.Errorf("got limits and TLS %+v; want the defaults", cfg)
		}
		if cfg.GCPercent != server.DefaultGCPercent || cfg.GCHeadroom != server.DefaultGCHeadroom || cfg.MemoryLimit != server.DefaultMemoryLimit {
			t.Errorf("got gc_percent %d, gc_headroom %d, memory_limit %d; want the defaults", cfg.GCPercent, cfg.GCHeadroom, cfg.MemoryLimit)
		}
	}

	cases := []struct {
		name     string
		config   string // written to a file and loaded explicitly; "" = none
		path     string // loaded instead of config (explicit only if explicit is set)
		explicit bool
		env      map[string]string
		level    slog.Level
		check    func(*testing.T, server.Config)
		wantErr  []string // substrings of the error; nil = no error
	}{
		{
			name: "no file: the demo", path: noFile,
			check: func(t *testing.T, cfg server.Config) { demo(t, cfg); defaults(t, cfg) },
		},
		{
			name: "config.toml", path: repoConfig, explicit: true,
			check: func(t *testing.T, cfg server.Config) { demo(t, cfg); defaults(t, cfg) },
		},
		{
			name: "config.toml as the default path", path: repoConfig,
			check: func(t *testing.T, cfg server.Config) { demo(t, cfg); defaults(t, cfg) },
		},
		{
			name: "env overrides config.toml", path: repoConfig, explicit: true,
			env: map[string]string{
				"VSTREAMD_SERVER_LISTEN":             "127.0.0.1:3307",
				"VSTREAMD_SERVER_DEFAULT_LIMIT":      "7",
				"VSTREAMD_SERVER_CHUNK_ROWS":         "50",
				"VSTREAMD_SERVER_RETAIN_CHANGES":     "1000",
				"VSTREAMD_LOG_LEVEL":                 "debug",
				"VSTREAMD_KEYSPACES_COMMERCE_SOURCE": "mysql://repl:secret@db:3306/commerce",
			},
			level: slog.LevelDebug,
			check: func(t *testing.T, cfg server.Config) {
				if cfg.Listen != "127.0.0.1:3307" || cfg.DefaultLimit != 7 || cfg.ChunkRows != 50 || cfg.RetainChanges != 1000 {
					t.Errorf("got listen %q, default_limit %d, chunk_rows %d, retain_changes %d; want the env values",
						cfg.Listen, cfg.DefaultLimit, cfg.ChunkRows, cfg.RetainChanges)
				}
				if len(cfg.Keyspaces) != 1 || cfg.Keyspaces[0].Source != "mysql://repl:secret@db:3306/commerce" {
					t.Errorf("keyspaces = %+v, want commerce's source from VSTREAMD_KEYSPACES_COMMERCE_SOURCE", cfg.Keyspaces)
				}
			},
		},
		{
			name: "env overrides the demo", path: noFile,
			env: map[string]string{"VSTREAMD_SERVER_LISTEN": "[::1]:15306", "VSTREAMD_SERVER_DEFAULT_LIMIT": "0"},
			check: func(t *testing.T, cfg server.Config) {
				demo(t, cfg)
				if cfg.Listen != "[::1]:15306" || cfg.DefaultLimit != 0 {
					t.Errorf("got listen %q, default_limit %d", cfg.Listen, cfg.DefaultLimit)
				}
			},
		},
		{
			name: "values from the file",
			config: `
[server]
listen = "localhost:4000"
default_limit = 0
chunk_rows = 500
retain_changes = 20
tls_cert = "/etc/vstreamd/cert.pem"
tls_key = "/etc/vstreamd/key.pem"
require_secure_transport = true
max_sessions = 50
max_streams_per_user = 4
max_statement_bytes = 65536
handshake_timeout = "3s"
gc_percent = 150
gc_headroom = "0"
memory_limit = "768MiB"
[log]
level = "warn"
[keyspaces.a]
source = "embedded:"
init_sql = "CREATE TABLE t (id INT PRIMARY KEY);"
[keyspaces.b]
source = "embedded:"
`,
			level: slog.LevelWarn,
			check: func(t *testing.T, cfg server.Config) {
				if cfg.Listen != "localhost:4000" || cfg.DefaultLimit != 0 || cfg.ChunkRows != 500 || cfg.RetainChanges != 20 {
					t.Errorf("got %+v", cfg)
				}
				if cfg.TLSCert != "/etc/vstreamd/cert.pem" || cfg.TLSKey != "/etc/vstreamd/key.pem" || !cfg.RequireSecureTransport ||
					cfg.MaxSessions != 50 || cfg.MaxStreamsPerUser != 4 || cfg.MaxStatementBytes != 65536 || cfg.HandshakeTimeout != 3*time.Second {
					t.Errorf("TLS and limits: got %+v", cfg)
				}
				if cfg.GCPercent != 150 || cfg.GCHeadroom != 0 || cfg.MemoryLimit != 768<<20 {
					t.Errorf("gc_percent %d, gc_headroom %d, memory_limit %d; want 150, 0, 768 MiB", cfg.GCPercent, cfg.GCHeadroom, cfg.MemoryLimit)
				}
				if len(cfg.Keyspaces) != 2 || cfg.Keyspaces[0].Name != "a" || cfg.Keyspaces[1].Name != "b" ||
					cfg.Keyspaces[0].InitSQL != "CREATE TABLE t (id INT PRIMARY KEY);" {
					t.Errorf("keyspaces = %+v, want a and b, sorted", cfg.Keyspaces)
				}
			},
		},
		{
			name: "secrets from env and files",
			config: `
[keyspaces.shop]
source_env = "SHOP_URL"
[keyspaces.stock]
source_file = "` + shopURLFile + `"
[[users]]
name = "app"
password_env = "APP_PASSWORD"
keyspaces = ["shop", "stock"]
[[users]]
name = "ops"
password_file = "` + pwFile + `"
keyspaces = ["*"]
[[users]]
name = "ro"
password_hash = "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
keyspaces = ["stock"]
[[users]]
name = "plain"
password = "pw"
keyspaces = ["shop"]
[[users]]
name = "narrow"
password_env = "APP_PASSWORD"
auth_plugin = "caching_sha2_password"
tables = ["stock.items", "shop.orders"]
`,
			env: map[string]string{"SHOP_URL": "mysql://repl:fromenv@db:3306/shop", "APP_PASSWORD": "apppw"},
			check: func(t *testing.T, cfg server.Config) {
				if len(cfg.Keyspaces) != 2 ||
					cfg.Keyspaces[0].Source != "mysql://repl:fromenv@db:3306/shop" ||
					cfg.Keyspaces[1].Source != "mysql://repl:fromfile@db:3306/shop" {
					t.Errorf("keyspaces = %+v", cfg.Keyspaces)
				}
				want := []server.User{
					{Name: "app", Password: "apppw", Keyspaces: []string{"shop", "stock"}},
					{Name: "ops", Password: "s3cret", Keyspaces: []string{"*"}},
					{Name: "ro", PasswordHash: "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19", Keyspaces: []string{"stock"}},
					{Name: "plain", Password: "pw", Keyspaces: []string{"shop"}},
					{Name: "narrow", Password: "apppw", AuthPlugin: "caching_sha2_password", Tables: []string{"stock.items", "shop.orders"}},
				}
				if len(cfg.Users) != len(want) {
					t.Fatalf("users = %+v, want %+v", cfg.Users, want)
				}
				for i := range want {
					g, w := cfg.Users[i], want[i]
					if g.Name != w.Name || g.Password != w.Password || g.PasswordHash != w.PasswordHash || g.AuthPlugin != w.AuthPlugin ||
						strings.Join(g.Keyspaces, ",") != strings.Join(w.Keyspaces, ",") || strings.Join(g.Tables, ",") != strings.Join(w.Tables, ",") {
						t.Errorf("users[%d] = %+v, want %+v", i, g, w)
					}
				}
			},
		},
		{
			name:    "source_env not set",
			config:  "[keyspaces.shop]\nsource_env = \"VSTREAMD_TEST_UNSET_URL\"\n",
			wantErr: []string{"keyspaces.shop.source_env", "VSTREAMD_TEST_UNSET_URL", "not set"},
		},
		{
			name:    "password_env not set",
			config:  "[keyspaces.a]\nsource = \"embedded:\"\n[[users]]\nname = \"app\"\npassword_env = \"VSTREAMD_TEST_UNSET_PW\"\nkeyspaces = [\"a\"]\n",
			wantErr: []string{"users.0 (app)", "password_env", "VSTREAMD_TEST_UNSET_PW", "not set"},
		},
		{
			name:    "source_file missing",
			config:  "[keyspaces.shop]\nsource_file = \"" + filepath.Join(dir, "nope") + "\"\n",
			wantErr: []string{"keyspaces.shop.source_file", "no such file"},
		},
		{
			name:    "password_file missing",
			config:  "[keyspaces.a]\nsource = \"embedded:\"\n[[users]]\nname = \"ops\"\npassword_file = \"" + filepath.Join(dir, "nope") + "\"\nkeyspaces = [\"a\"]\n",
			wantErr: []string{"users.0 (ops)", "password_file", "no such file"},
		},
		{
			name:    "keyspace without a source",
			config:  "[keyspaces.shop]\ninit_sql = \"\"\n",
			wantErr: []string{"keyspaces.shop: set source, source_env or source_file"},
		},
		{
			name: "explicit --config that does not exist",
			path: noFile, explicit: true,
			wantErr: []string{"config:", noFile, "no such file"},
		},
		{
			name:    "not TOML",
			config:  "[server\nlisten = ",
			wantErr: []string{"config " + filepath.Join(dir, "not TOML.toml")},
		},
		{
			name:    "bad memory_limit",
			config:  "[server]\nmemory_limit = \"512Mi\"\n[keyspaces.a]\nsource = \"embedded:\"\n",
			wantErr: []string{"server.memory_limit", `"512Mi"`, "512MiB"},
		},
		{
			name:    "bad gc_headroom",
			config:  "[server]\ngc_headroom = \"lots\"\n[keyspaces.a]\nsource = \"embedded:\"\n",
			wantErr: []string{"server.gc_headroom", `"lots"`},
		},
		{
			name:    "negative gc_percent",
			config:  "[server]\ngc_percent = -5\n[keyspaces.a]\nsource = \"embedded:\"\n",
			wantErr: []string{"server.gc_percent", "-5"},
		},
		{
			name:    "bad log level",
			config:  "[log]\nlevel = \"loud\"\n[keyspaces.a]\nsource = \"embedded:\"\n",
			wantErr: []string{"log.level"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			path, explicit := c.path, c.explicit
			if c.config != "" {
				path, explicit = write(c.name+".toml", c.config), true
			}
			cfg, level, err := loadConfig(path, explicit, os.Getenv)
			if c.wantErr != nil {
				if err == nil {
					t.Fatalf("loadConfig(%s) = %+v, want an error with %q", path, cfg, c.wantErr)
				}
				for _, s := range c.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("loadConfig(%s): %v", path, err)
			}
			if level != c.level {
				t.Errorf("log level %v, want %v", level, c.level)
			}
			c.check(t, cfg)
			if err := cfg.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// clearEnv unsets every VSTREAMD_* variable for the test, so the
// environment of whoever runs the tests does not leak into them.
func clearEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "VSTREAMD_") {
			t.Setenv(k, "") // restores the value after the test
			os.Unsetenv(k)
		}
	}
}

// TestConfigDemoSchema keeps the three copies of the demo schema equal: the
// built-in demo, config.toml and the integration tests' DemoSchema.
func TestConfigDemoSchema(t *testing.T) {
	demo := initSQL(t, "demoConfig", strings.NewReader(demoConfig))
	f, err := os.Open(repoConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := initSQL(t, repoConfig, f); got != demo {
		t.Errorf("%s: [keyspaces.commerce] init_sql differs from demoConfig's\n--- config.toml\n%s\n--- demoConfig\n%s", repoConfig, got, demo)
	}
	if got := strings.TrimSpace(integration.DemoSchema); got != strings.TrimSpace(demo) {
		t.Errorf("integration.DemoSchema differs from demoConfig's init_sql\n--- DemoSchema\n%s\n--- demoConfig\n%s", got, demo)
	}
}

func initSQL(t *testing.T, name string, r io.Reader) string {
	t.Helper()
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(r); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	s := v.GetString("keyspaces.commerce.init_sql")
	if s == "" {
		t.Fatalf("%s: no [keyspaces.commerce] init_sql", name)
	}
	return s
}

// exampleLine is a commented-out line of config.toml's examples: a table
// header, a key = value, or a comment inside the example ("# # ...").
var exampleLine = regexp.MustCompile(`^# (\[.*\]|[a-z_]+ = .*|# .*)$`)

// TestConfigExamples uncomments the examples of config.toml (the mysql
// keyspace and the users) and checks that they load and validate.
func TestConfigExamples(t *testing.T) {
	clearEnv(t)
	b, err := os.ReadFile(repoConfig)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if exampleLine.MatchString(line) {
			line = strings.TrimPrefix(line, "# ")
			n++
		}
		out = append(out, line)
	}
	if n < 8 {
		t.Fatalf("%s: found %d example lines, want the commented keyspace and users examples", repoConfig, n)
	}
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(strings.Join(out, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SHOP_URL", "mysql://repl:secret@db:3306/shop")
	t.Setenv("APP_PASSWORD", "apppw")
	t.Setenv("REPORTING_PASSWORD", "reportingpw")
	cfg, _, err := loadConfig(p, true, os.Getenv)
	if err != nil {
		t.Fatalf("uncommented examples: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("uncommented examples: %v", err)
	}
	if len(cfg.Keyspaces) != 2 || cfg.Keyspaces[1].Name != "shop" || cfg.Keyspaces[1].Source != "mysql://repl:secret@db:3306/shop" {
		t.Errorf("keyspaces = %+v, want commerce and shop (from SHOP_URL)", cfg.Keyspaces)
	}
	if len(cfg.Users) != 3 || cfg.Users[0].Password != "apppw" || len(cfg.Users[1].Tables) != 2 || cfg.Users[2].PasswordHash == "" {
		t.Errorf("users = %+v, want app (password from APP_PASSWORD), reporting (tables) and ops (password_hash)", cfg.Users)
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		var out bytes.Buffer
		err := run([]string{arg}, &out)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("run(%s) = %v, want flag.ErrHelp (exit 0)", arg, err)
		}
		for _, s := range []string{"Usage: vstreamd [--config PATH] [--listen ADDR]", "-config", "-listen", "VSTREAMD_<SECTION>_<KEY>"} {
			if !strings.Contains(out.String(), s) {
				t.Errorf("run(%s) printed\n%s\nwant it to contain %q", arg, out.String(), s)
			}
		}
	}
}

func TestRunConfigErrors(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.toml")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--config", missing}, missing},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--nope"}, "flag provided but not defined"},
		{[]string{"--config", repoConfig, "--listen", "0.0.0.0:0"}, "only listens on a loopback address"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := run(c.args, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", c.args, err, c.want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"0", 0, false}, {"1048576", 1 << 20, false}, {"512MiB", 512 << 20, false}, {"512 mb", 512 << 20, false},
		{"2GiB", 2 << 30, false}, {"64KB", 64 << 10, false}, {" 1GB ", 1 << 30, false},
		{"", 0, true}, {"512Mi", 0, true}, {"-1", 0, true}, {"1.5GiB", 0, true}, {"lots", 0, true},
	} {
		got, err := parseBytes(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}
