package main

import (
	"context"
	"database/sql"
	"fmt"

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

func startServer(ctx context.Context, schema string) (*vstreamd, error) {
	cfg := server.Config{
		Listen:       "127.0.0.1:0",
		DefaultLimit: 0,
		Keyspaces:    []catalog.KeyspaceConfig{{Name: "bench", Source: "embedded:", InitSQL: schema}},
	}
	ctx, cancel := context.WithCancel(ctx)
	s, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		return nil, err
	}
	v := &vstreamd{srv: s, cancel: cancel, done: make(chan error, 1)}
	go func() { v.done <- s.Serve(ctx) }()
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
