package engines

import (
	"context"
	"time"
)

// Position is a source position at a transaction boundary, in the engine's
// canonical text form. The zero value means "no position".
type Position string

// Source is one database that vstreamd streams from: the contract every
// engine implements. All methods are safe for concurrent use.
type Source interface {
	// Tables lists the tables that can be streamed, in the source's order.
	Tables(ctx context.Context) ([]string, error)
	// Table describes one table; an unknown table is an error wrapping
	// ErrTableNotFound.
	Table(ctx context.Context, name string) (*Table, error)

	// Current returns the position of the last committed transaction.
	Current(ctx context.Context) (Position, error)
	// ParsePosition validates a position typed by a user (the engine's own
	// form, and for MySQL sources the vtgate forms "MySQL56/…" and
	// "MariaDB/…") and returns it in canonical form. A malformed position is
	// an error wrapping ErrBadPosition.
	ParsePosition(s string) (Position, error)
	// ComparePositions orders two positions of this source: -1, 0 or 1.
	// Positions that cannot be ordered (GTID sets of diverged histories) are
	// an error wrapping ErrBadPosition.
	ComparePositions(a, b Position) (int, error)

	// Snapshot pins a consistent read view of table and the position it is
	// consistent with: the view holds exactly the transactions at or before
	// Position. The caller closes it; it should be short-lived (one chunk).
	Snapshot(ctx context.Context, table string) (Snapshot, error)

	// Stream sends the changes committed strictly after from, for the given
	// tables, until ctx is done, send returns an error, or the source fails.
	// It returns send's error unchanged (so io.EOF is a clean stop), and any
	// source failure wrapped with the last position it passed.
	//
	// Guarantees:
	//   - once the stream is established (from validated, connection open),
	//     send is called once with an empty batch, before any event; a from
	//     the source can no longer serve is an error wrapping
	//     ErrPositionUnavailable returned before that first call;
	//   - transactions arrive whole and in commit order: the RowChange events
	//     of one transaction, for the requested tables, then one Commit;
	//   - every position-advancing transaction of the source yields a Commit,
	//     even when none of its rows concern the requested tables (an engine
	//     may merge consecutive row-less commits into one carrying the last
	//     position, but must send it before the rows of the next transaction
	//     and before it waits for more input), so a reader can tell it has
	//     reached a position;
	//   - a DDL that changes a requested table yields a SchemaChange at the
	//     position right after it;
	//   - events are sent as soon as they are known (no latency batching):
	//     a batch ends at the latest when no further input is ready.
	// The events slice is only valid during send; the row slices inside it
	// may be kept.
	Stream(ctx context.Context, from Position, tables []string, send func([]Event) error) error

	// Close releases the source's connections.
	Close() error
}

// RowEstimator is implemented by sources that can estimate a table's row
// count cheaply (statistics, not COUNT(*)).
type RowEstimator interface {
	EstimateRows(ctx context.Context, table string) (int64, error)
}

// Snapshot is a consistent read view of one table at Position.
type Snapshot interface {
	// Position is the transaction boundary the view is consistent with.
	Position() Position
	// Time is when the snapshot was taken, by the source's clock if known.
	Time() time.Time
	// Columns names the columns of the rows Scan sends (the table's columns
	// in this snapshot).
	Columns() []string
	// Scan sends up to limit rows (limit <= 0: all) in key order (see
	// Table.Key and Table.CompareKeys), strictly after the key values in
	// after (nil: from the first row). The row slices may be kept.
	Scan(ctx context.Context, after []any, limit int, send func(row []any) error) error
	// Close ends the read view.
	Close() error
}

// EventKind tells what an Event carries.
type EventKind uint8

const (
	// RowChange is one row's change: After only (insert), Before and After
	// (update), Before only (delete). Images are full rows in table order.
	RowChange EventKind = iota + 1
	// Commit ends a transaction; Pos is the position right after it and Time
	// its commit time.
	Commit
	// SchemaChange says Table's columns changed at Pos (right after the DDL).
	SchemaChange
)

func (k EventKind) String() string {
	switch k {
	case RowChange:
		return "row"
	case Commit:
		return "commit"
	case SchemaChange:
		return "schema-change"
	}
	return "unknown"
}

// Event is one item of a change stream. It is a value: engines fill the
// fields that belong to Kind and leave the others zero.
type Event struct {
	Kind  EventKind
	Table string // RowChange, SchemaChange
	// Columns names the columns of Before and After, in order: the table's
	// columns when the change was made (nil: the table's columns now). A
	// reader replaying changes from before a DDL maps old images by name.
	Columns []string
	Before  []any     // RowChange: nil on insert
	After   []any     // RowChange: nil on delete
	Pos     Position  // Commit, SchemaChange
	Time    time.Time // RowChange, Commit: the transaction's commit time, if known (else zero)
	// Truncated marks a SchemaChange that is a TRUNCATE TABLE whose deleted
	// rows the source does not list (a binary log records the statement).
	Truncated bool
}

// Holder is implemented by sources that keep their change history only for
// a reader that holds it: a PostgreSQL replication slot. A session stream
// takes one Hold and reads every snapshot and change stream through it, so
// that a later statement of the same session can continue where the last
// one stopped; closing the Hold (the session ends, or starts the stream
// afresh) lets the source discard that history.
type Holder interface {
	// Hold takes a hold for streams of table.
	Hold(ctx context.Context, table string) (Hold, error)
}

// Hold is one reader's hold on a source's change history. Its methods mean
// what the Source methods of the same names mean, within the hold: Current
// is a position the hold can stream from, Stream fails with
// ErrPositionUnavailable for a position older than the history it holds.
// A Hold is used by one stream at a time.
type Hold interface {
	Current(ctx context.Context) (Position, error)
	Snapshot(ctx context.Context, table string) (Snapshot, error)
	Stream(ctx context.Context, from Position, tables []string, send func([]Event) error) error
	// Confirm says the reader will never again ask for changes at or
	// before pos: the source may discard them.
	Confirm(pos Position)
	// Close releases the hold and the history it kept.
	Close() error
}
