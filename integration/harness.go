package integration

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/server"
)

// DemoSchema is the commerce keyspace of the demo (cmd/vstreamd).
const DemoSchema = `
CREATE TABLE product (sku VARBINARY(128), description VARBINARY(128), price BIGINT, PRIMARY KEY (sku));
CREATE TABLE customer (customer_id BIGINT NOT NULL AUTO_INCREMENT, email VARBINARY(128), PRIMARY KEY (customer_id));
CREATE TABLE corder (order_id BIGINT NOT NULL AUTO_INCREMENT, customer_id BIGINT, sku VARBINARY(128), price BIGINT, PRIMARY KEY (order_id));
`

// Server is a vstreamd running in the test process.
type Server struct {
	*server.Server
	Addr string
	stop context.CancelFunc
	done chan error
}

// Embedded returns a config with one embedded keyspace per name, each
// created with schema.
func Embedded(schema string, keyspaces ...string) server.Config {
	cfg := server.Config{Listen: "127.0.0.1:0", DefaultLimit: server.DefaultLimit}
	for _, ks := range keyspaces {
		cfg.Keyspaces = append(cfg.Keyspaces, catalog.KeyspaceConfig{Name: ks, Source: "embedded:", InitSQL: schema})
	}
	return cfg
}

// Start runs a vstreamd with cfg until the test ends.
func Start(tb testing.TB, cfg server.Config) *Server {
	tb.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		tb.Fatalf("starting vstreamd: %v", err)
	}
	ts := &Server{Server: s, Addr: s.Addr().String(), stop: cancel, done: make(chan error, 1)}
	go func() { ts.done <- s.Serve(ctx) }()
	tb.Cleanup(ts.Stop)
	return ts
}

// Stop shuts the server down and waits for it.
func (s *Server) Stop() {
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}

// DSN returns a go-sql-driver DSN for the server.
func (s *Server) DSN(user, password, db string, params map[string]string) string {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = user, password, "tcp", s.Addr, db
	c.Params = params
	return c.FormatDSN()
}

// DB opens a connection pool as root (no users configured) on db.
func (s *Server) DB(tb testing.TB, db string) *sql.DB {
	tb.Helper()
	return s.DBWith(tb, db, nil)
}

// DBWith is DB with extra go-sql-driver DSN parameters.
func (s *Server) DBWith(tb testing.TB, db string, params map[string]string) *sql.DB {
	tb.Helper()
	h, err := sql.Open("mysql", s.DSN("root", "", db, params))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// Conn returns one dedicated connection (a session) as root on db.
func (s *Server) Conn(tb testing.TB, db string) *sql.Conn {
	tb.Helper()
	return s.ConnWith(tb, db, nil)
}

// ConnWith is Conn with extra go-sql-driver DSN parameters.
func (s *Server) ConnWith(tb testing.TB, db string, params map[string]string) *sql.Conn {
	tb.Helper()
	c, err := s.DBWith(tb, db, params).Conn(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// Required reports whether integration prerequisites must be present
// (./test.sh and CI set VSTREAMD_REQUIRE_INTEGRATION).
func Required() bool { return os.Getenv("VSTREAMD_REQUIRE_INTEGRATION") != "" }

// NeedCommand returns the path of a command the test needs; without it the
// test skips, or fails when integration is required.
func NeedCommand(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := fmt.Sprintf("%s not found on PATH (./test.sh installs it)", name)
		if Required() {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return p
}
