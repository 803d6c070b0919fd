package embedded_test

import (
	"context"
	"io"
	"testing"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/vstreamd/vstreamd/engines/embedded"
)

// session is a minimal GMS session with embedded transactions, as the
// server's session has.
type session struct {
	*sql.BaseSession
	embedded.Transactions
}

// sqlDB runs SQL against embedded databases through go-mysql-server.
type sqlDB struct {
	e *sqle.Engine
}

func newSQLDB(dbs ...sql.Database) *sqlDB {
	return &sqlDB{e: sqle.NewDefault(memory.NewDBProvider(dbs...))}
}

// conn is one client session.
type conn struct {
	t   testing.TB
	db  *sqlDB
	ctx *sql.Context
}

func (d *sqlDB) conn(t testing.TB, current string) *conn {
	s := &session{BaseSession: sql.NewBaseSession()}
	s.SetCurrentDatabase(current)
	ctx := sql.NewContext(context.Background(), sql.WithSession(s))
	return &conn{t: t, db: d, ctx: ctx}
}

// query runs one statement and returns its rows.
func (c *conn) query(q string) ([]sql.Row, error) {
	_, iter, _, err := c.db.e.Query(c.ctx, q)
	if err != nil {
		return nil, err
	}
	var rows []sql.Row
	for {
		r, err := iter.Next(c.ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			iter.Close(c.ctx)
			return rows, err
		}
		rows = append(rows, r)
	}
	return rows, iter.Close(c.ctx)
}

// exec runs statements and fails the test on error.
func (c *conn) exec(qs ...string) {
	c.t.Helper()
	for _, q := range qs {
		if _, err := c.query(q); err != nil {
			c.t.Fatalf("%s: %v", q, err)
		}
	}
}
