package mssqlcdc

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"net/url"
	"os"
	"regexp"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/conformance"
)

// harness runs the conformance suite on a SQL Server: the simulated one, or
// a real one (VSTREAMD_TEST_MSSQL_URL).
type harness struct {
	db  *sql.DB
	src *Source
}

func (h *harness) Source(testing.TB) engines.Source { return h.src }
func (h *harness) DB(testing.TB) *sql.DB            { return h.db }
func (h *harness) Keyspace() string                 { return "ks" }

// Purge moves every capture instance's low end to the newest change:
// sys.sp_cdc_cleanup_change_table, as the cleanup job does when the
// retention period has passed.
func (h *harness) Purge(tb testing.TB) {
	ctx := context.Background()
	end, err := h.src.Current(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	want, _ := positionLSN(end)
	var max []byte
	for deadline := time.Now().Add(30 * time.Second); ; {
		// The changes to purge must have been captured first: the
		// capture job's last scan must have passed the log's end.
		var scanned any
		if err := h.db.QueryRowContext(ctx, qScanned).Scan(&scanned); err != nil && err != sql.ErrNoRows {
			tb.Fatal(err)
		}
		if err := h.db.QueryRowContext(ctx, "SELECT sys.fn_cdc_get_max_lsn()").Scan(&max); err != nil {
			tb.Fatal(err)
		}
		s, _ := lsnValue(scanned)
		if s.compare(want) >= 0 {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the capture job did not pass %s", end)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cis, err := h.src.captureInstances(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for _, ci := range cis {
		if _, err := h.db.ExecContext(ctx, "EXEC sys.sp_cdc_cleanup_change_table @capture_instance = @p1, @low_water_mark = @p2, @threshold = 5000", ci.name, max); err != nil {
			tb.Fatalf("cleanup of %s: %v", ci.name, err)
		}
	}
}

// TestConformanceFake runs the suite on the simulated SQL Server, its
// capture job running every 2ms.
func TestConformanceFake(t *testing.T) {
	f := newFixture(t)
	f.srv.runAgent(2 * time.Millisecond)
	db := sql.OpenDB(cdcEnabling{f.srv.connector("sa")})
	t.Cleanup(func() { db.Close() })
	conformance.Run(t, &harness{db: db, src: f.source("sa", "")})
}

// TestConformanceSQLServer runs the suite on a real SQL Server whose
// database has CDC enabled, SNAPSHOT isolation allowed and SQL Server
// Agent running; the URL's user must be db_owner (the suite creates
// tables and enables CDC on them). VSTREAMD_REQUIRE_INTEGRATION does not
// require it: no SQL Server can be installed where vstreamd is tested.
func TestConformanceSQLServer(t *testing.T) {
	raw := os.Getenv("VSTREAMD_TEST_MSSQL_URL")
	if raw == "" {
		t.Skip("VSTREAMD_TEST_MSSQL_URL is not set: no real SQL Server to test against (e.g. sqlserver://sa:pass@localhost:1433?database=vstreamd_test)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := mssql.NewConnector(cfg.ConnString)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(cdcEnabling{conn})
	t.Cleanup(func() { db.Close() })
	src, err := Open(context.Background(), "ks", u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	if _, err := src.Tables(context.Background()); err != nil {
		t.Fatalf("the SQL Server of VSTREAMD_TEST_MSSQL_URL is not ready for streaming: %v", err)
	}
	conformance.Run(t, &harness{db: db, src: src})
}

// cdcEnabling wraps a connector so that every CREATE TABLE is followed by
// sys.sp_cdc_enable_table for the new table: the suite creates its tables
// with portable SQL, and SQL Server streams only tables with CDC.
type cdcEnabling struct{ driver.Connector }

func (c cdcEnabling) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &enablingConn{Conn: conn}, nil
}

type enablingConn struct{ driver.Conn }

var createTable = regexp.MustCompile(`(?i)^\s*CREATE\s+TABLE\s+\[?(\w+)\]?`)

func (c *enablingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.exec(ctx, q, args)
	if m := createTable.FindStringSubmatch(q); err == nil && m != nil {
		_, err = c.exec(ctx, "EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'"+m[1]+"', @role_name = NULL", nil)
	}
	return res, err
}

func (c *enablingConn) exec(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := c.Conn.(driver.ExecerContext); ok {
		return e.ExecContext(ctx, q, args)
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *enablingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, q)
	}
	return c.Conn.Prepare(q)
}

func (c *enablingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *enablingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.Conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *enablingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if qc, ok := c.Conn.(driver.QueryerContext); ok {
		return qc.QueryContext(ctx, q, args)
	}
	return nil, driver.ErrSkip
}

func (c *enablingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *enablingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}
