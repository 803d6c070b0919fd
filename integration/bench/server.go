package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/go-sql-driver/mysql"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/server"
)

// vstreamd is a server started for one scenario.
type vstreamd struct {
	srv    *server.Server
	cancel context.CancelFunc
	done   chan error
}

// startServer serves an embedded keyspace bench created with schema.
func startServer(ctx context.Context, o options, schema string) (*vstreamd, error) {
	return startKeyspace(ctx, o, catalog.KeyspaceConfig{Name: "bench", Source: "embedded:", InitSQL: schema})
}

// startKeyspace serves one keyspace, without a default LIMIT, logging
// warnings and errors to stderr.
func startKeyspace(ctx context.Context, o options, ks catalog.KeyspaceConfig) (*vstreamd, error) {
	cfg := server.Config{
		Listen:       "127.0.0.1:0",
		DefaultLimit: 0,
		ChunkRows:    o.chunkRows,
		Keyspaces:    []catalog.KeyspaceConfig{ks},
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	ctx, cancel := context.WithCancel(ctx)
	s, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		return nil, err
	}
	v := &vstreamd{srv: s, cancel: cancel, done: make(chan error, 1)}
	// Every goroutine of the server inherits the label, so that a CPU
	// profile (-cpuprofile) tells vstreamd's share from its clients'.
	go pprof.Do(ctx, pprof.Labels("bench", "vstreamd"), func(ctx context.Context) { v.done <- s.Serve(ctx) })
	return v, nil
}

func (v *vstreamd) stop() {
	v.cancel()
	<-v.done
}

// db opens a pool on the bench keyspace with extra DSN parameters.
func (v *vstreamd) db(params map[string]string) (*sql.DB, error) {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr, c.DBName = "root", "tcp", v.srv.Addr().String(), "bench"
	c.Params = params
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	return db, nil
}
