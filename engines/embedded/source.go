package embedded

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/vstreamd/vstreamd/engines"
)

var (
	_ engines.Source       = (*DB)(nil)
	_ engines.RowEstimator = (*DB)(nil)
)

// streamBatch bounds how much of the log one send carries.
const (
	streamBatchEntries = 256
	streamBatchChanges = 1024
)

// Tables implements engines.Source.
func (db *DB) Tables(ctx context.Context) ([]string, error) {
	return db.GetTableNames(nil) // every table: the engine's own list
}

// Table implements engines.Source.
func (db *DB) Table(ctx context.Context, name string) (*engines.Table, error) {
	db.mu.Lock()
	st := db.state(name)
	db.mu.Unlock()
	if st == nil {
		return nil, fmt.Errorf("%w: %s.%s", engines.ErrTableNotFound, db.name, name)
	}
	return describe(st.def), nil
}

func describe(def *tableDef) *engines.Table {
	t := &engines.Table{Name: def.name, Key: append([]int(nil), def.key...), KeyKind: engines.PrimaryKey, CompareKeys: def.compareKeys}
	if def.keyless {
		t.KeyKind = engines.AllColumns
	}
	for _, c := range def.schema.Schema {
		col := engines.Column{
			Name: c.Name, Type: c.Type.String(), Nullable: c.Nullable,
			AutoIncrement: c.AutoIncrement, Comment: c.Comment,
		}
		if st, ok := c.Type.(sql.StringType); ok {
			col.Collation = st.Collation().Name()
		}
		if c.Default != nil {
			col.Default = c.Default.String()
		}
		t.Columns = append(t.Columns, col)
	}
	return t
}

// Current implements engines.Source.
func (db *DB) Current(ctx context.Context) (engines.Position, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	return formatPos(db.log.seq), nil
}

func formatPos(seq uint64) engines.Position { return engines.Position(strconv.FormatUint(seq, 10)) }

func parsePos(p engines.Position) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(string(p)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not an embedded log position (a number such as 42)", engines.ErrBadPosition, string(p))
	}
	return n, nil
}

// ParsePosition implements engines.Source.
func (db *DB) ParsePosition(s string) (engines.Position, error) {
	n, err := parsePos(engines.Position(s))
	if err != nil {
		return "", err
	}
	return formatPos(n), nil
}

// ComparePositions implements engines.Source.
func (db *DB) ComparePositions(a, b engines.Position) (int, error) {
	x, err := parsePos(a)
	if err != nil {
		return 0, err
	}
	y, err := parsePos(b)
	if err != nil {
		return 0, err
	}
	switch {
	case x < y:
		return -1, nil
	case x > y:
		return 1, nil
	}
	return 0, nil
}

// EstimateRows implements engines.RowEstimator.
func (db *DB) EstimateRows(ctx context.Context, table string) (int64, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	st := db.state(table)
	if st == nil {
		return 0, fmt.Errorf("%w: %s.%s", engines.ErrTableNotFound, db.name, table)
	}
	return int64(st.tree.Len()), nil
}

// Close implements engines.Source.
func (db *DB) Close() error { return nil }

// Snapshot implements engines.Source: a clone of the committed tree, taken
// under the same lock as commits, so it is exactly the state at Position.
func (db *DB) Snapshot(ctx context.Context, table string) (engines.Snapshot, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	st := db.state(table)
	if st == nil {
		return nil, fmt.Errorf("%w: %s.%s", engines.ErrTableNotFound, db.name, table)
	}
	return &snapshot{def: st.def, tree: st.tree.Clone(), pos: formatPos(db.log.seq), at: db.now()}, nil
}

type snapshot struct {
	def  *tableDef
	tree *tree
	pos  engines.Position
	at   time.Time
}

func (s *snapshot) Position() engines.Position { return s.pos }
func (s *snapshot) Time() time.Time            { return s.at }
func (s *snapshot) Close() error               { return nil }
func (s *snapshot) Columns() []string          { return s.def.columns }

func (s *snapshot) Scan(ctx context.Context, after []any, limit int, send func([]any) error) error {
	c := s.def.newCursor(s.tree, after)
	for n := 0; limit <= 0 || n < limit; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return context.Cause(ctx)
		}
		it, ok := c.next()
		if !ok {
			return nil
		}
		if err := send(it.row); err != nil {
			return err
		}
	}
	return nil
}

// Stream implements engines.Source over the change log.
func (db *DB) Stream(ctx context.Context, from engines.Position, tables []string, send func([]engines.Event) error) error {
	pos, err := parsePos(from)
	if err != nil {
		return err
	}
	db.mu.Lock()
	oldest, last := db.log.oldest(), db.log.seq
	db.mu.Unlock()
	if pos < oldest {
		return fmt.Errorf("%w: keyspace %s keeps changes after position %d only (retain_changes); start a fresh copy with pos > ''",
			engines.ErrPositionUnavailable, db.name, oldest)
	}
	if pos > last {
		return fmt.Errorf("%w: position %d is ahead of keyspace %s (at %d)", engines.ErrBadPosition, pos, db.name, last)
	}
	if err := send(nil); err != nil {
		return err
	}
	want := make(map[string]bool, len(tables))
	for _, t := range tables {
		want[strings.ToLower(t)] = true
	}
	var buf []engines.Event
	for {
		db.mu.Lock()
		entries, notify, ok := db.log.after(pos, streamBatchEntries, streamBatchChanges)
		db.mu.Unlock()
		if !ok {
			return engines.AtPosition(formatPos(pos), fmt.Errorf("%w: the stream fell behind the change log of keyspace %s (raise retain_changes)",
				engines.ErrPositionUnavailable, db.name))
		}
		if len(entries) == 0 {
			select {
			case <-notify:
				continue
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		buf = appendEvents(buf[:0], entries, want)
		pos = entries[len(entries)-1].seq
		if err := send(buf); err != nil {
			return err
		}
	}
}

// appendEvents turns log entries into events for the wanted tables: the row
// changes of a transaction then its Commit; a DDL of a wanted table as a
// SchemaChange; runs of entries without wanted rows as one Commit.
func appendEvents(buf []engines.Event, entries []*entry, want map[string]bool) []engines.Event {
	rowless := false // the last event is a Commit with no rows before it
	for _, e := range entries {
		p := formatPos(e.seq)
		hit := false
		for _, c := range e.changes {
			if want[strings.ToLower(c.table)] {
				buf = append(buf, engines.Event{Kind: engines.RowChange, Table: c.table, Columns: c.columns, Before: c.before, After: c.after, Time: e.time})
				hit = true
			}
		}
		for _, t := range e.ddl {
			if want[strings.ToLower(t)] {
				buf = append(buf, engines.Event{Kind: engines.SchemaChange, Table: t, Pos: p})
				hit = true
			}
		}
		commit := engines.Event{Kind: engines.Commit, Pos: p, Time: e.time}
		if !hit && rowless {
			buf[len(buf)-1] = commit
			continue
		}
		buf = append(buf, commit)
		rowless = !hit
	}
	return buf
}
