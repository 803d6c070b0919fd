package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"

	sqle "github.com/dolthub/go-mysql-server"
	gmsserver "github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/sirupsen/logrus"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/binlog"
	"github.com/vstreamd/vstreamd/engines/embedded"
	"github.com/vstreamd/vstreamd/engines/mssqlcdc"
	"github.com/vstreamd/vstreamd/engines/pgoutput"
	"github.com/vstreamd/vstreamd/server/sqlerr"
	"github.com/vstreamd/vstreamd/vstream"
)

// Server is a running vstreamd: keyspaces, GMS engine and listener.
type Server struct {
	cfg    Config
	log    *slog.Logger
	cat    *catalog.Catalog
	engine *sqle.Engine
	gms    *gmsserver.Server
	users  map[string]*grants // user → what it may use; nil: no users
	// streams is the source each keyspace's streams read (keyspace in
	// lower case): its engine through a vstream.Fanout, so that sessions
	// following the same table share one engine stream.
	streams map[string]engines.Source
	// encodings lets sessions that stream the same table encode each
	// change once (see shared_encoding.go).
	encodings encodings

	redact   *redactor    // takes secrets out of logs and client messages
	sessions sessionCount // logged-in connections (max_sessions)
	slots    streamSlots  // running streams per user (max_streams_per_user)
}

// loginHeadroom is how many connections beyond max_sessions may be in the
// middle of logging in; more are closed at once.
const loginHeadroom = 64

// New opens the keyspaces, builds the SQL engine and binds the listener.
// It does not serve yet (see Serve). Its errors, as everything the server
// logs and tells clients, show no source URL or password.
func New(ctx context.Context, cfg Config) (*Server, error) {
	r := newRedactor(cfg)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Logger = slog.New(r.handler(cfg.Logger.Handler()))
	s, err := newServer(ctx, cfg, r)
	return s, r.error(err)
}

func newServer(ctx context.Context, cfg Config, r *redactor) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	// GMS logs through logrus; keep it quiet unless asked.
	logrus.SetLevel(logrus.WarnLevel)
	logrus.SetOutput(io.Discard)
	registerSystemVariables()

	s := &Server{cfg: cfg, log: cfg.Logger, redact: r}
	sqlError := func(err error) error { return r.error(sqlerr.Of(err)) }
	cat, err := catalog.Open(ctx, cfg.Keyspaces, s.openers(), catalog.Options{SQLError: sqlError, Visible: s.visible})
	if err != nil {
		return nil, err
	}
	s.cat = cat
	s.streams = make(map[string]engines.Source)
	for _, ks := range cat.Keyspaces() {
		s.streams[strings.ToLower(ks.Name)] = vstream.NewFanout(ks.Source)
	}

	fns := []sql.TableFunction{
		&vstreamFunc{s: s}, newPositionsFunc(s), newCopyStateFunc(s),
	}
	pro := cat.Provider(fns...)
	a := analyzer.NewBuilder(pro).Build()
	s.engine = sqle.New(a, &sqle.Config{})
	// init_sql runs as an administrator before the users are installed:
	// once they are, GMS checks every statement's privileges and the
	// internal session is nobody's.
	if err := s.runInitSQL(ctx); err != nil {
		cat.Close()
		return nil, err
	}
	if len(cfg.Users) > 0 {
		names := make([]string, 0, len(cfg.Keyspaces))
		for _, ks := range cat.Keyspaces() {
			names = append(names, ks.Name)
		}
		s.users = make(map[string]*grants)
		for _, u := range cfg.Users {
			s.users[u.Name] = newGrants(u, names)
		}
		if err := installUsers(s.engine.Analyzer.Catalog.MySQLDb, cfg.Users, s.users); err != nil {
			cat.Close()
			return nil, fmt.Errorf("configuration: %w", err)
		}
	}

	var chain gmsserver.InterceptorChain
	chain.WithInterceptor(&interceptor{s: s})
	gcfg := gmsserver.Config{
		Protocol: "tcp",
		Address:  cfg.Listen,
		Version:  "8.0.33-vstreamd",
		Options:  []gmsserver.Option{chain.Option(), s.connOption()},
	}
	if cfg.TLSCert != "" {
		if gcfg.TLSConfig, err = loadTLS(cfg.TLSCert, cfg.TLSKey); err != nil {
			cat.Close()
			return nil, fmt.Errorf("configuration: %w", err)
		}
	}
	if cfg.MaxSessions > 0 {
		gcfg.MaxConnections = uint64(cfg.MaxSessions + loginHeadroom)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		cat.Close()
		return nil, fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	timeout := cfg.HandshakeTimeout
	if timeout == 0 {
		timeout = DefaultHandshakeTimeout
	}
	gcfg.Listener = handshakeListener{Listener: ln, timeout: timeout}
	srv, err := gmsserver.NewServer(gcfg, s.engine, s.newContext, newSession, nil)
	if err != nil {
		ln.Close()
		cat.Close()
		return nil, fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	s.gms = srv
	return s, nil
}

// openers are the engines of this build, by URL scheme, and those of
// Config.Engines.
func (s *Server) openers() map[string]catalog.Opener {
	m := s.builtinOpeners()
	for scheme, open := range s.cfg.Engines {
		m[strings.ToLower(scheme)] = open
	}
	return m
}

func (s *Server) builtinOpeners() map[string]catalog.Opener {
	return map[string]catalog.Opener{
		"embedded": func(ctx context.Context, keyspace string, u *url.URL) (engines.Source, error) {
			return embedded.New(keyspace, embedded.Options{RetainChanges: s.cfg.RetainChanges, SQLError: sqlerr.Of}), nil
		},
		"mysql": func(ctx context.Context, keyspace string, u *url.URL) (engines.Source, error) {
			return binlog.Open(ctx, keyspace, u, binlog.Options{Logger: s.log})
		},
		"postgres":   openPostgres(s),
		"postgresql": openPostgres(s),
		"sqlserver": func(ctx context.Context, keyspace string, u *url.URL) (engines.Source, error) {
			return mssqlcdc.Open(ctx, keyspace, u, mssqlcdc.Options{Logger: s.log})
		},
	}
}

func openPostgres(s *Server) catalog.Opener {
	return func(ctx context.Context, keyspace string, u *url.URL) (engines.Source, error) {
		return pgoutput.Open(ctx, keyspace, u, pgoutput.Options{Logger: s.log})
	}
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.gms.Listener.Addr() }

// Logger is the server's logger: Config.Logger with secrets taken out of
// its records. A program may make it the default (slog.SetDefault), so
// that libraries logging through slog or the log package are redacted too.
func (s *Server) Logger() *slog.Logger { return s.log }

// Serve accepts connections until ctx ends, then closes the listener and
// every connection.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.gms.Start() }()
	s.log.Info("serving", "addr", s.Addr().String(), "keyspaces", len(s.cat.Keyspaces()), "users", len(s.cfg.Users))
	select {
	case err := <-errc:
		s.cat.Close()
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	err := s.gms.Close()
	<-errc
	s.cat.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Close stops a server that is not serving.
func (s *Server) Close() error {
	err := s.gms.Close()
	s.cat.Close()
	return err
}

// runInitSQL runs each keyspace's init_sql, statement by statement, as an
// administrator with the keyspace selected.
func (s *Server) runInitSQL(ctx context.Context) error {
	for _, ks := range s.cat.Keyspaces() {
		if strings.TrimSpace(ks.InitSQL) == "" {
			continue
		}
		stmts, err := sqlparser.SplitStatementToPieces(ks.InitSQL)
		if err != nil {
			return fmt.Errorf("keyspace %s: init_sql: %w", ks.Name, err)
		}
		sess := &Session{BaseSession: sql.NewBaseSession()}
		sess.SetCurrentDatabase(ks.Name)
		sqlCtx := sql.NewContext(ctx, sql.WithSession(sess))
		sqlCtx.SetClient(sql.Client{User: "root", Address: "localhost"})
		for _, q := range stmts {
			if strings.TrimSpace(q) == "" {
				continue
			}
			if err := s.exec(sqlCtx, q); err != nil {
				return fmt.Errorf("keyspace %s: init_sql: %s: %w", ks.Name, strings.TrimSpace(q), err)
			}
		}
	}
	return nil
}

// exec runs one statement to completion and discards its rows.
func (s *Server) exec(ctx *sql.Context, q string) error {
	_, iter, _, err := s.engine.Query(ctx, q)
	if err != nil {
		return err
	}
	for {
		if _, err := iter.Next(ctx); err != nil {
			cerr := iter.Close(ctx)
			if err == io.EOF {
				return cerr
			}
			return err
		}
	}
}

// Catalog returns the server's keyspaces.
func (s *Server) Catalog() *catalog.Catalog { return s.cat }
