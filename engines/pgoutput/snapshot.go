package pgoutput

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/vstreamd/vstreamd/engines"
)

// snapshot is a read-only REPEATABLE READ transaction that imported a
// slot's exported snapshot.
type snapshot struct {
	src   *Source
	conn  *sql.Conn
	pos   pglogrepl.LSN
	taken time.Time
	t     *table
}

// importSnapshot opens a transaction in the exported snapshot name, which
// is consistent with pos, and reads table's columns in it.
func (s *Source) importSnapshot(ctx context.Context, name string, pos pglogrepl.LSN, table string) (*snapshot, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, s.classify(err)
	}
	sn := &snapshot{src: s, conn: conn, pos: pos, taken: time.Now()}
	if _, err := conn.ExecContext(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		conn.Close()
		return nil, s.classify(err)
	}
	if _, err := conn.ExecContext(ctx, "SET TRANSACTION SNAPSHOT '"+name+"'"); err != nil {
		sn.Close()
		return nil, s.classify(err)
	}
	if sn.t, err = readTable(ctx, conn, s.cfg.Schema, table); err != nil {
		sn.Close()
		return nil, s.classify(err)
	}
	return sn, nil
}

func (sn *snapshot) Position() engines.Position { return position(sn.pos) }
func (sn *snapshot) Time() time.Time            { return sn.taken }
func (sn *snapshot) Columns() []string          { return sn.t.names() }

func (sn *snapshot) Close() error {
	sn.conn.ExecContext(context.Background(), "ROLLBACK")
	return sn.conn.Close()
}

// Scan reads up to limit rows after the key after, in key order.
func (sn *snapshot) Scan(ctx context.Context, after []any, limit int, send func(row []any) error) error {
	query, args, err := sn.t.scanQuery(sn.src.cfg.Schema, after, limit)
	if err != nil {
		return err
	}
	dec := newRowDecoder(sn.t.columns)
	return sn.conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn().PgConn()
		rr := pc.ExecParams(ctx, query, args, nil, nil, dec.formats)
		for rr.NextRow() {
			row, err := dec.decode(rr.Values())
			if err != nil {
				rr.Close()
				return err
			}
			if err := send(row); err != nil {
				rr.Close()
				return err
			}
		}
		_, err := rr.Close()
		return sn.src.classify(err)
	})
}

// scanQuery builds the chunk query: the rows after the key after, in key
// order, at most limit. Text key columns whose collation does not order by
// bytes are compared and ordered COLLATE "C", as CompareKeys does.
func (t *table) scanQuery(schema string, after []any, limit int) (string, [][]byte, error) {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range t.columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c.name))
	}
	b.WriteString(" FROM " + quoteIdent(schema) + "." + quoteIdent(t.name))
	keyExpr := func(i int) string {
		c := &t.columns[t.key[i]]
		if c.cText {
			return quoteIdent(c.name) + ` COLLATE "C"`
		}
		return quoteIdent(c.name)
	}
	var args [][]byte
	if after != nil {
		param := func(v any) (string, error) {
			p, err := paramText(v)
			if err != nil {
				return "", err
			}
			args = append(args, p)
			return "$" + strconv.Itoa(len(args)), nil
		}
		// (k1 > v1) OR (k1 = v1 AND k2 > v2) OR …, with NULLs last.
		var ors []string
		for i := range t.key {
			var ands []string
			for j := 0; j < i; j++ {
				if after[j] == nil {
					ands = append(ands, keyExpr(j)+" IS NULL")
					continue
				}
				p, err := param(after[j])
				if err != nil {
					return "", nil, err
				}
				ands = append(ands, keyExpr(j)+" = "+p)
			}
			if after[i] == nil {
				continue // nothing sorts after NULL
			}
			p, err := param(after[i])
			if err != nil {
				return "", nil, err
			}
			gt := keyExpr(i) + " > " + p
			if t.columns[t.key[i]].nullable {
				gt = "(" + gt + " OR " + keyExpr(i) + " IS NULL)"
			}
			ors = append(ors, strings.Join(append(ands, gt), " AND "))
		}
		if len(ors) == 0 {
			ors = []string{"false"}
		}
		b.WriteString(" WHERE (" + strings.Join(ors, ") OR (") + ")")
	}
	b.WriteString(" ORDER BY ")
	for i := range t.key {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(keyExpr(i))
	}
	if limit > 0 {
		b.WriteString(" LIMIT " + strconv.Itoa(limit))
	}
	return b.String(), args, nil
}

// paramText renders a key value as the text PostgreSQL reads back.
func paramText(v any) ([]byte, error) {
	switch x := v.(type) {
	case int64:
		return strconv.AppendInt(nil, x, 10), nil
	case float32:
		return strconv.AppendFloat(nil, float64(x), 'g', -1, 32), nil
	case float64:
		return strconv.AppendFloat(nil, x, 'g', -1, 64), nil
	case string:
		return []byte(x), nil
	case []byte:
		return []byte(`\x` + hex.EncodeToString(x)), nil
	case time.Time:
		return []byte(x.Format("2006-01-02 15:04:05.999999Z07:00")), nil
	}
	return nil, fmt.Errorf("a key value of type %T", v)
}

var _ = pgconn.Timeout
