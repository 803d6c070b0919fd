package pgoutput

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pglogrepl"

	"github.com/vstreamd/vstreamd/engines"
)

// relation is a table as the stream's Relation messages describe it.
type relation struct {
	name    string
	t       *table   // nil: not a streamed table
	cols    []column // decoders, in the relation's column order
	names   []string // nil when they equal the table's columns now
	changed bool     // a SchemaChange was sent for it
}

// message turns one pgoutput message into events.
func (r *replication) message(msg pglogrepl.Message) error {
	switch m := msg.(type) {
	case *pglogrepl.BeginMessage:
		r.inTxn, r.txnTime, r.xid, r.txnRows, r.txnSent, r.final = true, m.CommitTime, m.Xid, 0, 0, m.FinalLSN
	case *pglogrepl.CommitMessage:
		r.inTxn = false
		r.pos = m.TransactionEndLSN
		r.skipRows = 0
		r.received = max(r.received, m.TransactionEndLSN)
		r.add(engines.Event{Kind: engines.Commit, Pos: position(m.TransactionEndLSN), Time: m.CommitTime}, m.CommitLSN, false)
		return r.flush()
	case *pglogrepl.RelationMessage:
		return r.relation(m)
	case *pglogrepl.InsertMessage:
		rel := r.relations[m.RelationID]
		if rel == nil || rel.t == nil {
			return nil
		}
		after, err := r.tuple(rel, m.Tuple, nil, "")
		if err != nil {
			return err
		}
		r.remember(rel, after)
		return r.row(rel, nil, after)
	case *pglogrepl.UpdateMessage:
		rel := r.relations[m.RelationID]
		if rel == nil || rel.t == nil {
			return nil
		}
		var old []any
		var err error
		if m.OldTuple != nil {
			if old, err = r.tuple(rel, m.OldTuple, nil, ""); err != nil {
				return err
			}
		}
		after, err := r.tuple(rel, m.NewTuple, old, "update")
		if err != nil {
			return err
		}
		if old == nil || m.OldTupleType == pglogrepl.UpdateMessageTupleTypeKey {
			// Without the old row (REPLICA IDENTITY DEFAULT, key unchanged):
			// the before image carries the key, NULL elsewhere.
			old = keyImage(rel, old, after)
		}
		r.forget(rel, old)
		r.remember(rel, after)
		return r.row(rel, old, after)
	case *pglogrepl.DeleteMessage:
		rel := r.relations[m.RelationID]
		if rel == nil || rel.t == nil || m.OldTuple == nil {
			return nil
		}
		old, err := r.tuple(rel, m.OldTuple, nil, "")
		if err != nil {
			return err
		}
		r.forget(rel, old)
		return r.row(rel, old, nil)
	case *pglogrepl.TruncateMessage:
		for _, id := range m.RelationIDs {
			if rel := r.relations[id]; rel != nil && rel.t != nil {
				r.add(engines.Event{Kind: engines.SchemaChange, Table: rel.name, Pos: position(r.pos), Truncated: true}, r.final, false)
			}
		}
	}
	return nil
}

// row queues one row change; a reconnect replays the rows of the first
// transaction it had already sent, which are dropped.
func (r *replication) row(rel *relation, before, after []any) error {
	r.txnRows++
	if r.txnRows <= r.skipRows {
		return nil
	}
	r.add(engines.Event{Kind: engines.RowChange, Table: rel.name, Columns: rel.names,
		Before: before, After: after, Time: r.txnTime}, r.final, false)
	if len(r.batch) >= maxBatch {
		return r.flush()
	}
	return nil
}

// keyImage is a before image made of the key columns of key (or, without
// it, of after), NULL elsewhere.
func keyImage(rel *relation, key, after []any) []any {
	src := key
	if src == nil {
		src = after
	}
	img := make([]any, len(rel.cols))
	for _, k := range rel.t.key {
		name := rel.t.columns[k].name
		for i := range rel.cols {
			if rel.cols[i].name == name {
				img[i] = src[i]
			}
		}
	}
	return img
}

// relation records a Relation message. A streamed table whose columns
// differ from the ones the stream started with changed: a SchemaChange at
// the current position tells the reader.
func (r *replication) relation(m *pglogrepl.RelationMessage) error {
	rel := &relation{name: m.RelationName}
	if m.Namespace == r.src.cfg.Schema {
		rel.t = r.tables[m.RelationName]
	}
	if rel.t == nil {
		r.relations[m.RelationID] = rel
		return nil
	}
	names := make([]string, len(m.Columns))
	for i, c := range m.Columns {
		names[i] = c.Name
		col := column{name: c.Name, typ: pgType{oid: c.DataType, typmod: c.TypeModifier}, nullable: true}
		col.kind, col.mysql = mapType(col.typ)
		for _, tc := range rel.t.columns {
			if tc.name != c.Name {
				continue
			}
			same := tc.typ.oid == c.DataType
			if !same {
				// A domain column: pgoutput names the domain, the catalog
				// the type it is over.
				var err error
				if same, err = r.domainOf(c.DataType, tc.typ.oid); err != nil {
					return err
				}
			}
			if same {
				col = tc // the catalog's (enum labels, array elements, domains)
			}
		}
		rel.cols = append(rel.cols, col)
	}
	if !slices.Equal(names, rel.t.names()) {
		rel.names = names
		if old := r.relations[m.RelationID]; old == nil || !slices.Equal(old.names, names) {
			r.add(engines.Event{Kind: engines.SchemaChange, Table: rel.name, Pos: position(r.pos)}, r.final, false)
		}
	}
	r.relations[m.RelationID] = rel
	return nil
}

// domainOf reports whether oid is a domain over target (directly or
// through other domains).
func (r *replication) domainOf(oid, target uint32) (bool, error) {
	for range 16 {
		var typtype string
		err := r.src.db.QueryRowContext(context.Background(), `SELECT typtype::text, typbasetype FROM pg_type WHERE oid = $1`, oid).Scan(&typtype, &oid)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return false, nil
		case err != nil:
			return false, engines.AtPosition(position(r.pos), r.src.classify(err))
		case typtype != "d":
			return false, nil
		case oid == target:
			return true, nil
		}
	}
	return false, nil
}

// tuple decodes a row image. Unchanged TOASTed values of an update (not
// sent) come from the old row when PostgreSQL sent it, else from the row
// version this transaction wrote.
func (r *replication) tuple(rel *relation, td *pglogrepl.TupleData, old []any, what string) ([]any, error) {
	if td == nil {
		return nil, nil
	}
	// A row of a table with TOAST-able columns may be remembered (see
	// remember) long after the rows around it are gone: it and its values
	// have memory of their own, not a share of slabs they would keep alive.
	text, bx := &r.text, &r.box
	if rel.t.toast {
		text, bx = nil, nil
	}
	row := bx.Row(len(rel.cols))
	var missing []int
	for i, c := range td.Columns {
		if i >= len(rel.cols) {
			break
		}
		switch c.DataType {
		case pglogrepl.TupleDataTypeNull:
		case pglogrepl.TupleDataTypeToast:
			if old != nil && old[i] != nil {
				row[i] = old[i]
			} else {
				missing = append(missing, i)
			}
		default:
			v, err := rel.cols[i].decodeBoxed(c.Data, text, bx)
			if err != nil {
				return nil, engines.AtPosition(position(r.pos), fmt.Errorf("a change of %s: %w", rel.name, err))
			}
			row[i] = v
		}
	}
	if len(missing) > 0 {
		missing = r.recall(rel, row, missing)
	}
	if len(missing) > 0 {
		if err := r.fillToast(rel, row, missing); err != nil {
			return nil, err
		}
	}
	return row, nil
}

// The stream remembers the last image of the rows of tables with TOAST-able
// columns it saw, so that an update which leaves a large value unchanged
// (and unsent) takes it from there: it is the row's previous version.
const maxRemembered = 1000

// rememberedRow is a row image and the relation (column layout) it came
// in: an image from before a column change is read by column name.
type rememberedRow struct {
	rel *relation
	row []any
}

// rowKey identifies a row of rel by its key values.
func (r *replication) rowKey(rel *relation, row []any) string {
	b := append(r.keyBuf[:0], rel.name...)
	for _, k := range rel.t.key {
		name := rel.t.columns[k].name
		for i := range rel.cols {
			if rel.cols[i].name != name {
				continue
			}
			b = append(b, 0)
			switch v := row[i].(type) {
			case int64:
				b = strconv.AppendInt(b, v, 10)
			case string:
				b = append(b, v...)
			default:
				b = fmt.Append(b, v)
			}
		}
	}
	r.keyBuf = b
	return string(b)
}

func (r *replication) remember(rel *relation, row []any) {
	if !rel.t.toast || row == nil {
		return
	}
	if r.toastRows == nil || len(r.toastRows) >= maxRemembered {
		r.toastRows = map[string]rememberedRow{}
	}
	// Images are not changed once made: the row itself is kept.
	r.toastRows[r.rowKey(rel, row)] = rememberedRow{rel: rel, row: row}
}

func (r *replication) forget(rel *relation, row []any) {
	if r.toastRows != nil && row != nil {
		delete(r.toastRows, r.rowKey(rel, row))
	}
}

// recall fills missing values from the row's remembered image and returns
// those still missing.
func (r *replication) recall(rel *relation, row []any, missing []int) []int {
	m, ok := r.toastRows[r.rowKey(rel, row)]
	if !ok {
		return missing
	}
	var left []int
	for _, i := range missing {
		v := m.value(rel.cols[i].name)
		if v != nil {
			row[i] = v
		} else {
			left = append(left, i)
		}
	}
	return left
}

// value is the remembered value of the column name (nil: none).
func (m rememberedRow) value(name string) any {
	for i := range m.rel.cols {
		if m.rel.cols[i].name == name {
			return m.row[i]
		}
	}
	return nil
}

// fillToast reads the TOASTed values an update left unchanged from the row
// version the update wrote (its xmin is the transaction's), which holds
// them as long as no later transaction replaced it.
func (r *replication) fillToast(rel *relation, row []any, missing []int) error {
	t := rel.t
	var cols, where []string
	var args []any
	for _, i := range missing {
		cols = append(cols, quoteIdent(rel.cols[i].name)+"::text")
	}
	for _, k := range t.key {
		name := t.columns[k].name
		for i := range rel.cols {
			if rel.cols[i].name == name {
				p, err := paramText(row[i])
				if err != nil {
					return err
				}
				args = append(args, string(p))
				where = append(where, fmt.Sprintf("%s::text = $%d", quoteIdent(name), len(args)))
			}
		}
	}
	args = append(args, fmt.Sprint(r.xid))
	q := fmt.Sprintf("SELECT %s FROM %s.%s WHERE %s AND xmin::text = $%d", strings.Join(cols, ", "),
		quoteIdent(r.src.cfg.Schema), quoteIdent(t.name), strings.Join(where, " AND "), len(args))
	vals := make([]any, len(missing))
	ptrs := make([]any, len(missing))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	err := r.src.db.QueryRowContext(context.Background(), q, args...).Scan(ptrs...)
	if err != nil {
		return engines.AtPosition(position(r.pos), engines.Errorf(engines.ErrUnsupported,
			"an UPDATE of %s.%s left a large (TOASTed) value unchanged, PostgreSQL did not send it, and the row has changed since: ALTER TABLE %s.%s REPLICA IDENTITY FULL makes PostgreSQL send old values (%v)",
			r.src.cfg.Schema, t.name, r.src.cfg.Schema, t.name, err))
	}
	for j, i := range missing {
		if vals[j] == nil {
			continue
		}
		v, err := rel.cols[i].decode([]byte(fmt.Sprint(vals[j])))
		if err != nil {
			return err
		}
		row[i] = v
	}
	return nil
}
