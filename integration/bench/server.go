package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/server"
)

// vstreamd runs in a process of its own, as in production: this bench
// binary started again with -serve (see serveChild). Its CPU time and
// memory are then its own (cpuUse.VStreamd, the slow-client RSS), and the
// clients' allocations do not make its garbage collector run.
type vstreamd struct {
	addr  string
	cmd   *exec.Cmd
	stdin io.WriteCloser // closing it stops the child
	done  chan error
}

// childPID is the pid of the running vstreamd child (0: none): the CPU
// meters sample it.
var childPID atomic.Int64

// children counts the vstreamd children started, to name their profiles.
var children atomic.Int64

// childGC is the garbage collector settings the last child reported: those
// cmd/vstreamd applies by default (server.TuneRuntime).
var childGC atomic.Pointer[string]

// childConfig is what the parent passes to -serve.
type childConfig struct {
	ChunkRows  int
	Keyspace   catalog.KeyspaceConfig
	CPUProfile string // "": none
	MemProfile string // "": none
}

// startServer serves an embedded keyspace bench created with schema.
func startServer(ctx context.Context, o options, schema string) (*vstreamd, error) {
	return startKeyspace(ctx, o, catalog.KeyspaceConfig{Name: "bench", Source: "embedded:", InitSQL: schema})
}

// startKeyspace starts a vstreamd child serving one keyspace, without a
// default LIMIT, logging warnings and errors to stderr. With -cpuprofile
// (-memprofile) the child profiles itself to <file>.vstreamd-<n>.
func startKeyspace(ctx context.Context, o options, ks catalog.KeyspaceConfig) (*vstreamd, error) {
	cfg := childConfig{ChunkRows: o.chunkRows, Keyspace: ks}
	n := children.Add(1)
	if o.cpuProfile != "" {
		cfg.CPUProfile = fmt.Sprintf("%s.vstreamd-%d", o.cpuProfile, n)
	}
	if o.memProfile != "" {
		cfg.MemProfile = fmt.Sprintf("%s.vstreamd-%d", o.memProfile, n)
	}
	arg, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-serve", string(arg))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting vstreamd: %w", err)
	}
	v := &vstreamd{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			a, gc, _ := strings.Cut(strings.TrimPrefix(sc.Text(), "listening "), " ")
			childGC.Store(&gc)
			addr <- a
		}
		close(addr)
		io.Copy(io.Discard, stdout)
		v.done <- cmd.Wait()
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			return nil, fmt.Errorf("vstreamd did not start: %v", <-v.done)
		}
		v.addr = a
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		return nil, errors.New("vstreamd did not start within 2 minutes")
	case <-ctx.Done():
		cmd.Process.Kill()
		return nil, ctx.Err()
	}
	childPID.Store(int64(cmd.Process.Pid))
	return v, nil
}

func (v *vstreamd) stop() {
	childPID.CompareAndSwap(int64(v.cmd.Process.Pid), 0)
	v.stdin.Close()
	select {
	case <-v.done:
	case <-time.After(30 * time.Second):
		v.cmd.Process.Kill()
		<-v.done
	}
}

// pid is the child's process id.
func (v *vstreamd) pid() int { return v.cmd.Process.Pid }

// db opens a pool on the bench keyspace with extra DSN parameters.
func (v *vstreamd) db(params map[string]string) (*sql.DB, error) {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr, c.DBName = "root", "tcp", v.addr, "bench"
	c.Params = params
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	return db, nil
}

// serveChild is the child's side of startKeyspace: it serves the keyspace
// on a loopback port, with cmd/vstreamd's default garbage collector
// settings, writes "listening <addr> <those settings>" to stdout, and stops when
// stdin closes (the parent stopped it, or died).
func serveChild(arg string) error {
	var cfg childConfig
	if err := json.Unmarshal([]byte(arg), &cfg); err != nil {
		return fmt.Errorf("-serve: %w", err)
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// The garbage collector as cmd/vstreamd sets it by default.
	gc := server.TuneRuntime(server.Config{GCPercent: server.DefaultGCPercent, GCHeadroom: server.DefaultGCHeadroom, MemoryLimit: server.DefaultMemoryLimit}, os.Getenv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := server.New(ctx, server.Config{
		Listen:       "127.0.0.1:0",
		DefaultLimit: 0,
		ChunkRows:    cfg.ChunkRows,
		Keyspaces:    []catalog.KeyspaceConfig{cfg.Keyspace},
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	fmt.Printf("listening %s %s\n", s.Addr(), gc)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if cfg.MemProfile != "" {
		return writeHeapProfile(cfg.MemProfile)
	}
	return nil
}
