package pgoutput_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/integration/testdb"
)

// TestPreflight: each way a server can be unready for streaming is an
// error of the right kind that names the fix.
func TestPreflight(t *testing.T) {
	ctx := context.Background()
	t.Run("NoFreeSlot", func(t *testing.T) {
		p := testdb.StartPostgres(t, testdb.PostgresOptions{Conf: []string{"max_replication_slots = 1"}})
		p.CreateDatabase(t, "shop")
		p.Exec(t, "shop", "CREATE TABLE t (id int PRIMARY KEY)")
		src := openSource(t, p, testdb.PGSuperUser, testdb.PGSuperPass, "shop", "")
		h1, err := src.Hold(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		defer h1.Close()
		if _, err := h1.Current(ctx); err != nil {
			t.Fatal(err)
		}
		h2, err := src.Hold(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		defer h2.Close()
		_, err = h2.Current(ctx)
		wantErr(t, err, engines.ErrMisconfigured, "max_replication_slots")
	})
	t.Run("WalLevel", func(t *testing.T) {
		p := testdb.StartPostgres(t, testdb.PostgresOptions{WalLevel: "replica"})
		p.CreateDatabase(t, "shop")
		p.Exec(t, "shop", "CREATE TABLE t (id int PRIMARY KEY)")
		src := openSource(t, p, testdb.PGSuperUser, testdb.PGSuperPass, "shop", "")
		_, err := src.Hold(ctx, "t")
		wantErr(t, err, engines.ErrMisconfigured, "wal_level = logical")
	})
	t.Run("NoReplicationRole", func(t *testing.T) {
		p := testdb.StartPostgres(t, testdb.PostgresOptions{})
		p.CreateDatabase(t, "shop")
		p.Exec(t, "shop", "CREATE TABLE t (id int PRIMARY KEY)", "CREATE ROLE reader LOGIN PASSWORD 'pw'", "GRANT SELECT ON t TO reader")
		src := openSource(t, p, "reader", "pw", "shop", "")
		_, err := src.Hold(ctx, "t")
		wantErr(t, err, engines.ErrMisconfigured, "ALTER ROLE reader REPLICATION")
	})
	t.Run("NoPrimaryKey", func(t *testing.T) {
		p := testdb.StartPostgres(t, testdb.PostgresOptions{})
		p.CreateDatabase(t, "shop")
		p.Exec(t, "shop", "CREATE TABLE t (id int, v text)")
		src := openSource(t, p, testdb.PGSuperUser, testdb.PGSuperPass, "shop", "")
		_, err := src.Hold(ctx, "t")
		wantErr(t, err, engines.ErrMisconfigured, "REPLICA IDENTITY FULL")
	})
	t.Run("WrongPassword", func(t *testing.T) {
		p := testdb.StartPostgres(t, testdb.PostgresOptions{})
		p.CreateDatabase(t, "shop")
		src := openSource(t, p, testdb.PGSuperUser, "wrong", "shop", "")
		_, err := src.Tables(ctx)
		wantErr(t, err, engines.ErrSourceUnavailable, "refused the login")
		if strings.Contains(err.Error(), "wrong") {
			t.Fatalf("the password shows in the error: %v", err)
		}
	})
}

func wantErr(t *testing.T, err, kind error, fix string) {
	t.Helper()
	if !errors.Is(err, kind) || !strings.Contains(err.Error(), fix) {
		t.Fatalf("got %v, want %v naming %q", err, kind, fix)
	}
}
