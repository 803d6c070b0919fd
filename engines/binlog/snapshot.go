package binlog

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/internal/box"
)

// Snapshot implements engines.Source: a consistent-snapshot transaction on
// a connection of its own, at a known binlog position.
//
// MariaDB reports the binlog position of a consistent snapshot itself
// (binlog_snapshot_file/position), without locks. MySQL does not: the
// table is locked for reading, the position read, the snapshot started and
// the lock released at once (Vitess's way), so no commit to the table can
// fall between the position and the snapshot.
func (s *Source) Snapshot(ctx context.Context, table string) (engines.Snapshot, error) {
	if err := s.preflight(ctx, checkRead); err != nil {
		return nil, err
	}
	flavor, err := s.ready(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.cachedTable(ctx, table)
	if err != nil {
		return nil, err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, s.classify(err)
	}
	snap := &snapshot{s: s, conn: conn, t: t}
	if flavor == flavorMariaDB {
		err = snap.startMariaDB(ctx)
	} else {
		err = snap.startMySQL(ctx)
	}
	if err != nil {
		snap.Close()
		return nil, err
	}
	return snap, nil
}

type snapshot struct {
	s    *Source
	conn *sql.Conn
	t    *tableInfo
	pos  position
	at   time.Time
}

func (sn *snapshot) startMariaDB(ctx context.Context) error {
	if _, err := sn.conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		return sn.s.classify(err)
	}
	sn.at = time.Now()
	var file string
	var offset uint32
	rows, err := sn.conn.QueryContext(ctx, "SHOW STATUS LIKE 'binlog_snapshot_%'")
	if err != nil {
		return sn.s.classify(err)
	}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			rows.Close()
			return err
		}
		switch strings.ToLower(name) {
		case "binlog_snapshot_file":
			file = value
		case "binlog_snapshot_position":
			fmt.Sscan(value, &offset)
		}
	}
	rows.Close()
	if file == "" {
		return fmt.Errorf("%w: %s has binary logging off: start it with log_bin (and binlog_format=ROW, binlog_row_image=FULL)", engines.ErrMisconfigured, sn.s.cfg.Addr())
	}
	// BINLOG_GTID_POS reads the binlog file up to the offset: remember it,
	// since the chunks of a copy of a quiet table share one offset.
	key := fmt.Sprintf("%s:%d", file, offset)
	var gtid sql.NullString
	if g, ok := sn.s.gtidPos.get(key); ok {
		gtid = sql.NullString{String: g, Valid: true}
	} else {
		if err := sn.conn.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", file, offset).Scan(&gtid); err != nil {
			return sn.s.classify(err)
		}
		if gtid.Valid {
			sn.s.gtidPos.put(key, gtid.String)
		}
	}
	if !gtid.Valid {
		sn.pos = position{flavor: flavorMariaDB, file: file, offset: offset}
		return nil
	}
	p, err := parsePosition(prefixMariaDB+gtid.String, flavorMariaDB)
	if err != nil {
		return err
	}
	sn.pos = p
	return nil
}

// startMySQL takes the snapshot on MySQL: LOCK TABLES … READ on a
// connection of its own (it waits for the transactions writing the table
// to end, and keeps new ones out), the position (@@global.gtid_executed,
// which MySQL 8 prints with a newline after each comma, or SHOW MASTER
// STATUS), the snapshot, UNLOCK TABLES.
//
// Tested against recorded MySQL 8 binary logs and live on Dolt, which
// speaks MySQL 8 but takes LOCK TABLES without locking anything (writers
// go on): there a commit between the position and the snapshot may be in
// both, and its rows then come twice (never not at all).
func (sn *snapshot) startMySQL(ctx context.Context) error {
	lock, err := sn.s.db.Conn(ctx)
	if err != nil {
		return sn.s.classify(err)
	}
	defer lock.Close()
	name := quoteName(sn.s.cfg.Database) + "." + quoteName(sn.t.desc.Name)
	if _, err := lock.ExecContext(ctx, "LOCK TABLES "+name+" READ"); err != nil {
		if code, msg, ok := serverError(err); ok && (code == erDBAccessDenied || code == erTableAccessDenied) {
			in := sn.s.info()
			return errorf(engines.ErrMisconfigured, "%s: LOCK TABLES %s READ: %s: the MySQL copy phase locks each table for an instant to read its position: the source user needs LOCK TABLES (and SELECT): GRANT SELECT, LOCK TABLES ON %s.* TO %s",
				in.where(), name, msg, quoteName(in.database), in.who(msg))
		}
		return sn.s.classify(err)
	}
	defer lock.ExecContext(context.WithoutCancel(ctx), "UNLOCK TABLES")
	p, err := sn.s.current(ctx, lock)
	if err != nil {
		return err
	}
	if err := startSnapshot(ctx, sn.conn); err != nil {
		return sn.s.classify(err)
	}
	sn.at = time.Now()
	sn.pos = p
	return nil
}

// startSnapshot starts a read-only consistent-snapshot transaction. A
// server that speaks MySQL but does not take both characteristics in one
// statement (Dolt: a syntax error) gets WITH CONSISTENT SNAPSHOT alone.
func startSnapshot(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
	if code, msg, ok := serverError(err); ok && (code == 1064 || code == 1105 && strings.Contains(strings.ToLower(msg), "syntax error")) {
		_, err = conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT")
	}
	return err
}

func (sn *snapshot) Position() engines.Position { return sn.pos.engine() }
func (sn *snapshot) Time() time.Time            { return sn.at }
func (sn *snapshot) Columns() []string          { return sn.t.names }

// Close ends the transaction and returns the connection.
func (sn *snapshot) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sn.conn.ExecContext(ctx, "ROLLBACK")
	return sn.conn.Close()
}

// Scan implements engines.Snapshot: rows after the key tuple after, in key
// order. A composite key is compared column by column,
// (a > ?) OR (a = ? AND b > ?) …, which MySQL turns into index ranges
// (a row constructor comparison it may not).
func (sn *snapshot) Scan(ctx context.Context, after []any, limit int, send func([]any) error) error {
	t := sn.t
	var q strings.Builder
	q.WriteString("SELECT ")
	for i, c := range t.cols {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(quoteName(c.name))
	}
	q.WriteString(" FROM " + quoteName(sn.s.cfg.Database) + "." + quoteName(t.desc.Name))
	var args []any
	if after != nil {
		q.WriteString(" WHERE ")
		for i := range t.desc.Key {
			if i > 0 {
				q.WriteString(" OR ")
			}
			q.WriteString("(")
			for j := 0; j < i; j++ {
				q.WriteString(quoteName(t.cols[t.desc.Key[j]].name) + " = ? AND ")
				args = append(args, argOf(after[j]))
			}
			q.WriteString(quoteName(t.cols[t.desc.Key[i]].name) + " > ?)")
			args = append(args, argOf(after[i]))
		}
	}
	q.WriteString(" ORDER BY ")
	for i, k := range t.desc.Key {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(quoteName(t.cols[k].name))
	}
	if limit > 0 {
		fmt.Fprintf(&q, " LIMIT %d", limit)
	}
	err := sn.conn.Raw(func(dc any) error {
		return sn.scanRows(ctx, dc, q.String(), args, send)
	})
	return sn.s.classify(err)
}

// scanRows runs a query on the driver's connection itself (database/sql's
// row scanning costs more than the rest of a copy row's reading) and sends
// each row in the engine representation.
func (sn *snapshot) scanRows(ctx context.Context, dc any, query string, args []any, send func([]any) error) error {
	q, ok := dc.(driver.QueryerContext)
	if !ok {
		return fmt.Errorf("the MySQL driver's connection %T cannot run queries", dc)
	}
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	rows, err := q.QueryContext(ctx, query, named)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols := sn.t.cols
	if n := len(rows.Columns()); n != len(cols) {
		return fmt.Errorf("reading %s: %d columns, expected %d", sn.t.desc.Name, n, len(cols))
	}
	dest := make([]driver.Value, len(cols))
	var text box.Arena // the rows' strings
	var bx box.Slab    // … and values and rows
	for {
		if err := rows.Next(dest); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		row := bx.Row(len(cols))
		for i, v := range dest {
			var err error
			if b, ok := v.([]byte); ok {
				var s string
				if cols[i].textIsString() {
					s = text.String(b)
				}
				row[i], err = cols[i].textValue(b, s, &bx)
			} else {
				row[i], err = cols[i].driverValue(v)
			}
			if err != nil {
				return fmt.Errorf("reading %s.%s: %w", sn.t.desc.Name, cols[i].name, err)
			}
		}
		if err := send(row); err != nil {
			return err
		}
	}
}

// argOf turns a key value into a query argument.
func argOf(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format("2006-01-02 15:04:05.999999")
	}
	return v
}
