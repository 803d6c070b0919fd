package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
)

// pgTail reads a pgoutput stream as a consumer does: every message
// parsed, every column value of an insert decoded from its text form into
// a Go value the way the engine decodes it (integers by strconv, time
// stamps by time.Parse, numeric and text as strings), and standby status
// updates confirming the transactions read, sent when the server asks and
// at least every second while data flows.
type pgTail struct {
	conn     *pgconn.PgConn
	rels     map[uint32]*pgRel
	onRow    func(r *pgRel, row []any) // each inserted row
	onCommit func() bool               // after each commit; true stops
	lastEnd  pglogrepl.LSN             // the end of the last transaction read
	next     time.Time                 // the next periodic status update
}

// pgRel is a relation as its Relation message describes it.
type pgRel struct {
	table string
	oids  []uint32
}

func newPGTail(conn *pgconn.PgConn) *pgTail {
	return &pgTail{conn: conn, rels: map[uint32]*pgRel{}}
}

func (t *pgTail) start(ctx context.Context, slot string) error {
	return pglogrepl.StartReplication(ctx, t.conn, slot, 0, pglogrepl.StartReplicationOptions{
		Mode: pglogrepl.LogicalReplication, PluginArgs: []string{"proto_version '1'", "publication_names '" + pgPublication + "'"}})
}

// run handles messages until onCommit says stop, ctx ends or replication
// fails.
func (t *pgTail) run(ctx context.Context) error {
	t.next = time.Now().Add(time.Second)
	for {
		msg, err := t.conn.ReceiveMessage(ctx)
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			stop, err := t.copyData(m.Data)
			if err != nil || stop {
				return err
			}
		case *pgproto3.ErrorResponse:
			return pgconn.ErrorResponseToPgError(m)
		case *pgproto3.CopyDone:
			return errors.New("the server ended replication")
		}
	}
}

func (t *pgTail) copyData(data []byte) (bool, error) {
	if len(data) == 0 {
		return false, nil
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		k, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return false, err
		}
		if k.ReplyRequested {
			return false, t.status()
		}
	case pglogrepl.XLogDataByteID:
		x, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return false, err
		}
		msg, err := pglogrepl.Parse(x.WALData)
		if err != nil {
			return false, fmt.Errorf("pgoutput message at %s: %w", x.WALStart, err)
		}
		switch m := msg.(type) {
		case *pglogrepl.RelationMessage:
			r := &pgRel{table: m.RelationName}
			for _, c := range m.Columns {
				r.oids = append(r.oids, c.DataType)
			}
			t.rels[m.RelationID] = r
		case *pglogrepl.InsertMessage:
			r := t.rels[m.RelationID]
			if r == nil {
				return false, fmt.Errorf("an insert into relation %d before its Relation message", m.RelationID)
			}
			row := make([]any, len(r.oids))
			for i, c := range m.Tuple.Columns {
				if i >= len(row) || c.DataType != pglogrepl.TupleDataTypeText {
					continue // NULL (inserts carry no unchanged TOAST values)
				}
				v, err := decodePGText(r.oids[i], c.Data)
				if err != nil {
					return false, fmt.Errorf("%s column %d: %w", r.table, i+1, err)
				}
				row[i] = v
			}
			if t.onRow != nil {
				t.onRow(r, row)
			}
		case *pglogrepl.CommitMessage:
			t.lastEnd = m.TransactionEndLSN
			stop := t.onCommit != nil && t.onCommit()
			if stop || time.Now().After(t.next) {
				return stop, t.status()
			}
		}
	}
	return false, nil
}

// status confirms the transactions read (the slot may let go of them).
func (t *pgTail) status() error {
	t.next = time.Now().Add(time.Second)
	return pglogrepl.SendStandbyStatusUpdate(context.Background(), t.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: t.lastEnd, WALFlushPosition: t.lastEnd, WALApplyPosition: t.lastEnd})
}

// decodePGText turns a value's text form into a Go value, as the engine
// does for these types.
func decodePGText(oid uint32, b []byte) (any, error) {
	switch oid {
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		return strconv.ParseInt(string(b), 10, 64)
	case pgtype.TimestampOID:
		return time.Parse("2006-01-02 15:04:05.999999", string(b))
	case pgtype.Float8OID:
		return strconv.ParseFloat(string(b), 64)
	}
	return string(b), nil // varchar, text, numeric (its exact text) …
}
