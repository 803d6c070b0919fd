package integration

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"

	"github.com/vstreamd/vstreamd/server"
)

// TestServersInOneProcess: several vstreamd servers start and serve
// concurrently in one process (as the tests of this package do). Run with
// -race: go-mysql-server's process-wide status variables must not race.
func TestServersInOneProcess(t *testing.T) {
	t.Parallel()
	const n = 6
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// No t.Fatal here: errors go through errs.
			errs <- runOneServer(ctx, i)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// runOneServer starts a server, streams from it in a few sessions and
// stops it.
func runOneServer(ctx context.Context, i int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := server.New(ctx, Embedded(DemoSchema, "commerce"))
	if err != nil {
		return fmt.Errorf("server %d: %w", i, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	ts := &Server{Server: s, Addr: s.Addr().String()}
	db, err := sql.Open("mysql", ts.DSN("root", "", "commerce", nil))
	if err != nil {
		return err
	}
	defer db.Close()
	for j := 0; j < 3; j++ {
		c, err := db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("server %d: %w", i, err)
		}
		var got string
		if _, err = c.ExecContext(ctx, fmt.Sprintf("INSERT INTO corder (customer_id, price) VALUES (%d, %d)", i, j)); err == nil {
			if _, err = c.ExecContext(ctx, "SET WORKLOAD=OLAP"); err == nil {
				err = c.QueryRowContext(ctx, "SELECT COUNT(*) FROM vstream('commerce.corder', '', 'current')").Scan(&got)
			}
		}
		c.Close()
		if err != nil {
			return fmt.Errorf("server %d session %d: %w", i, j, err)
		}
		if got != fmt.Sprint(j+1) {
			return fmt.Errorf("server %d session %d: %s rows copied, want %d", i, j, got, j+1)
		}
	}
	return nil
}
