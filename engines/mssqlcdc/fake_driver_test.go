package mssqlcdc

// The fake SQL Server as a database/sql driver: each connection is a
// session of one user; parameters are @p1, @p2 … as go-mssqldb names
// positional arguments; values come back in go-mssqldb's Go types (see
// driverValue); errors are go-mssqldb's mssql.Error.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
)

type fakeConnector struct {
	srv  *fakeServer
	user string
}

func (s *fakeServer) connector(user string) driver.Connector {
	return &fakeConnector{srv: s, user: user}
}

// open returns a database handle on the fake for user.
func (s *fakeServer) open(user string) *sql.DB { return sql.OpenDB(s.connector(user)) }

func (c *fakeConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.srv.down.Load() {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	c.srv.mu.Lock()
	u := c.srv.users[c.user]
	c.srv.mu.Unlock()
	if u == nil {
		return nil, sqlErr(errLoginFailed, "Login failed for user '%s'.", c.user)
	}
	return &fconn{srv: c.srv, user: u}, nil
}

func (c *fakeConnector) Driver() driver.Driver { return fakeDriver{} }

type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) {
	return nil, errors.New("the fake SQL Server opens through its connector")
}

type fconn struct {
	srv  *fakeServer
	user *fakeUser
	tx   *ftxn
}

var (
	_ driver.ConnBeginTx        = (*fconn)(nil)
	_ driver.QueryerContext     = (*fconn)(nil)
	_ driver.ExecerContext      = (*fconn)(nil)
	_ driver.NamedValueChecker  = (*fconn)(nil)
	_ driver.ConnPrepareContext = (*fconn)(nil)
)

func (c *fconn) Prepare(q string) (driver.Stmt, error) { return &fstmt{c: c, q: q}, nil }
func (c *fconn) PrepareContext(_ context.Context, q string) (driver.Stmt, error) {
	return &fstmt{c: c, q: q}, nil
}
func (c *fconn) Close() error {
	if c.tx != nil {
		c.tx.rollback()
		c.tx = nil
	}
	return nil
}
func (c *fconn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *fconn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.ReadOnly {
		return nil, errors.New("read-only transactions are not supported") // as go-mssqldb
	}
	if c.srv.down.Load() {
		return nil, driver.ErrBadConn
	}
	c.tx = c.srv.begin(c.user, sql.IsolationLevel(opts.Isolation) == sql.LevelSnapshot)
	return &ftx{c: c}, nil
}

func (c *fconn) CheckNamedValue(*driver.NamedValue) error { return nil }

func (c *fconn) do(ctx context.Context, q string, args []driver.NamedValue) (*result, error) {
	if c.srv.down.Load() {
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	}
	if strings.Contains(q, "fn_cdc_get_max_lsn") {
		c.srv.polls.Add(1)
	}
	m := map[string]any{}
	for _, a := range args {
		name := "@p" + strconv.Itoa(a.Ordinal)
		if a.Name != "" {
			name = "@" + strings.ToLower(a.Name)
		}
		m[name] = a.Value
	}
	tx := c.tx
	if tx == nil {
		tx = c.srv.begin(c.user, false)
	}
	res, err := c.run(ctx, tx, q, m)
	if c.tx == nil {
		if err != nil {
			tx.rollback()
		} else {
			tx.commit()
		}
	}
	return res, err
}

func (c *fconn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	res, err := c.do(ctx, q, args)
	if err != nil {
		return nil, err
	}
	rel := res.rel
	if rel == nil {
		rel = &relation{}
	}
	return &frows{srv: c.srv, rel: rel}, nil
}

func (c *fconn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.do(ctx, q, args)
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(res.affected), nil
}

type ftx struct{ c *fconn }

func (t *ftx) Commit() error {
	if t.c.tx != nil {
		t.c.tx.commit()
		t.c.tx = nil
	}
	return nil
}

func (t *ftx) Rollback() error {
	if t.c.tx != nil {
		t.c.tx.rollback()
		t.c.tx = nil
	}
	return nil
}

type fstmt struct {
	c *fconn
	q string
}

func (s *fstmt) Close() error  { return nil }
func (s *fstmt) NumInput() int { return -1 }
func (s *fstmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.c.ExecContext(context.Background(), s.q, named(args))
}
func (s *fstmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.c.QueryContext(context.Background(), s.q, named(args))
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, a := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return out
}

type frows struct {
	srv *fakeServer
	rel *relation
	i   int
}

func (r *frows) Columns() []string { return r.rel.cols }
func (r *frows) Close() error      { return nil }

func (r *frows) Next(dest []driver.Value) error {
	if r.i >= len(r.rel.rows) {
		return io.EOF
	}
	if r.srv != nil && r.srv.failRows.Load() > 0 && r.srv.failRows.Add(-1) == 0 {
		return &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	}
	row := r.rel.rows[r.i]
	r.i++
	for j := range dest {
		var t *ftype
		if r.rel.types != nil && j < len(r.rel.types) {
			t = r.rel.types[j]
		}
		dest[j] = driverValue(row[j], t)
	}
	return nil
}
