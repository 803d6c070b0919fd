package vstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// ErrSchemaChanged ends a stream whose table changed columns: a MySQL
// result set cannot change shape, so the statement ends there and the next
// one continues with the new columns.
var ErrSchemaChanged = errors.New("table columns changed")

// ErrTruncated ends a stream at a TRUNCATE TABLE whose deleted rows the
// source does not list.
var ErrTruncated = errors.New("table truncated")

// Source is what a stream needs from an engine.
type Source interface {
	Current(ctx context.Context) (engines.Position, error)
	ComparePositions(a, b engines.Position) (int, error)
	Snapshot(ctx context.Context, table string) (engines.Snapshot, error)
	Stream(ctx context.Context, from engines.Position, tables []string, send func([]engines.Event) error) error
}

// Config describes the stream to open.
type Config struct {
	Keyspace string
	Shard    string
	Table    *engines.Table
	Source   Source
	// ChunkRows is how many rows one copy chunk (one snapshot) reads; zero
	// adapts the size (see DefaultChunkRows).
	ChunkRows int
	// State, if set, records delivered rows and copy progress.
	State *StreamState
	// Now is the clock (tests); time.Now if nil.
	Now func() time.Time
}

// Options says where a stream starts and ends.
type Options struct {
	// From is the token to continue after (Fresh for a full copy).
	From Token
	// Until, if set, ends the stream once it has delivered every row up to
	// this replicate-phase token (see Bound).
	Until *Bound
	// UntilCurrent ends the stream once it has caught up with the source
	// position read when it opens.
	UntilCurrent bool
}

// Bound is an end position: the boundary Pos plus Skip rows of the
// transaction after it.
type Bound struct {
	Pos  engines.Position
	Skip int64
}

// BoundOf turns a token into an end bound. Copy-phase tokens cannot be
// bounds: a later copy reads other snapshots, so the exact place they name
// may never recur.
func BoundOf(t Token) (*Bound, error) {
	if t.Copying {
		return nil, fmt.Errorf("%w: pos <= needs a token from the replicate phase or 'current'; this one is from the copy phase", ErrBadToken)
	}
	return &Bound{Pos: t.Pos, Skip: t.Skip}, nil
}

// Row is one op row of the stream.
type Row struct {
	// Op is '+' (insert, and every copy row), '*' (update, after image) or
	// '-' (delete, before image).
	Op      byte
	copyRow bool // a row of the copy phase (its key is Token.LastKey, but see copyEnd)
	copyEnd bool // the table's last copy row: the copy is done once it is delivered (its token has no key)
	// Values is the row image in table column order.
	Values []any
	// Token resumes right after this row.
	Token Token
	// CommitTime is the source commit time of the row's transaction (zero
	// for copy rows or when the engine does not know it).
	CommitTime time.Time
}

// Copied reports whether the row comes from the copy phase (read from a
// snapshot of the stream's own) rather than from a change.
func (r *Row) Copied() bool { return r.copyRow }

// Stream is one running stream. It is used by one goroutine at a time.
type Stream struct {
	cfg      Config
	table    *engines.Table
	src      Source
	now      func() time.Time
	changes  *changes
	until    *Bound
	openPos  engines.Position // the source position when the stream opened
	adaptive bool             // the chunk size adapts (see DefaultChunkRows)
	// boundMemo remembers the comparison of the last row position with the
	// end bound.
	boundMemo struct {
		pos engines.Position
		cmp int
	}
	columns []string // the table's columns as the stream presents them
	remap   remapCache

	// The processing state: see the package doc.
	copying    bool
	pos        engines.Position
	skip       int64 // rows of the transaction after pos seen so far
	resumeSkip int64 // rows of the first transaction with rows still to drop
	lastKey    []any
	txnTime    time.Time

	// delivered is the token of the last row handed out (or the start);
	// while rows wait in the queue, or after rows were dropped at the end
	// bound, it, not the processing state, is where to resume. It is
	// settled once the queue is drained.
	delivered lastToken
	dropped   bool
	confirmer confirmer        // the source, if it wants to know (see engines.Hold.Confirm)
	confirmed engines.Position // the last position passed to the confirmer
	queuedAt  time.Time        // when the rows in the queue were queued (delivery is right after)

	chunk  *chunk
	ahead  *ahead // the next chunk, being read
	evs    []engines.Event
	evIdx  int
	queue  []*Row
	slab   []Row // change rows yet to be handed out (see emit)
	qHead  int
	end    error // terminal: io.EOF or a failure, returned once the queue is empty
	closed bool
}

// Open validates where the stream starts and ends, starts it, and reads the
// first copy chunk, so that every problem known up front (bad token, purged
// position, unreachable source) is an error here, before a client sees a
// header.
func Open(ctx context.Context, cfg Config, opts Options) (*Stream, error) {
	adaptive := cfg.ChunkRows <= 0
	if adaptive {
		cfg.ChunkRows = DefaultChunkRows
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	from := opts.From
	if from.Keyspace != cfg.Keyspace || from.Table != cfg.Table.Name || from.Shard != cfg.Shard {
		return nil, fmt.Errorf("%w: the token belongs to %s, not %s", ErrBadToken,
			streamName(from.Keyspace, from.Shard, from.Table), streamName(cfg.Keyspace, cfg.Shard, cfg.Table.Name))
	}
	if from.LastKey != nil && (from.Pos == "" || len(from.LastKey) != len(cfg.Table.Key)) {
		return nil, fmt.Errorf("%w: the token's copy position does not fit table %s", ErrBadToken, cfg.Table.Name)
	}
	if !from.Copying && from.Pos == "" {
		return nil, fmt.Errorf("%w: the token has no position", ErrBadToken)
	}
	s := &Stream{
		cfg: cfg, table: cfg.Table, src: cfg.Source, now: cfg.Now, until: opts.Until, adaptive: adaptive,
		copying: from.Copying, pos: from.Pos, resumeSkip: from.Skip, lastKey: from.LastKey,
		delivered: lastToken{tok: from},
	}
	s.columns = cfg.Table.ColumnNames()
	s.confirmer, _ = cfg.Source.(confirmer)
	{
		cur, err := s.src.Current(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the source position: %w", err)
		}
		s.openPos = cur
		if from.Pos != "" {
			c, err := s.src.ComparePositions(from.Pos, cur)
			if err != nil {
				return nil, fmt.Errorf("%w: token position %s: %v", ErrBadToken, from.Pos, err)
			}
			if c > 0 {
				return nil, fmt.Errorf("%w: token position %s is ahead of the source (at %s): is the token from another server?", ErrBadToken, from.Pos, cur)
			}
		}
		if opts.UntilCurrent {
			s.until = &Bound{Pos: cur}
		}
	}
	if s.copying {
		if err := s.readChunk(ctx); err != nil {
			s.Close()
			return nil, err
		}
	} else {
		c, err := startChanges(ctx, s.src, s.pos, s.table.Name)
		if err != nil {
			return nil, err
		}
		s.changes = c
	}
	return s, nil
}

func streamName(ks, shard, table string) string {
	if shard != "" {
		return fmt.Sprintf("%s:%s.%s", ks, shard, table)
	}
	return ks + "." + table
}

// Next returns the next row, or io.EOF when the stream reached its end
// bound. Other errors end the stream; Resume still names where to continue.
func (s *Stream) Next(ctx context.Context) (*Row, error) {
	for {
		if s.qHead < len(s.queue) {
			row := s.queue[s.qHead]
			s.queue[s.qHead] = nil // let the row go
			s.qHead++
			// Copy rows are never past the bound, not even the last one,
			// whose token is a replicate token at its snapshot (which may
			// be newer than the bound when other tables changed since).
			if s.until != nil && !row.copyRow && s.pastBound(row.Token) {
				s.queue, s.qHead = s.queue[:0], 0
				s.end, s.dropped = io.EOF, true
				return nil, io.EOF
			}
			s.delivered.setRow(row)
			if c := s.confirmer; c != nil && row.Token.Pos != s.confirmed {
				// Resuming after this row starts from its position: what
				// came before is no longer needed.
				s.confirmed = row.Token.Pos
				c.Confirm(row.Token.Pos)
			}
			if s.qHead == len(s.queue) {
				s.queue, s.qHead = s.queue[:0], 0
				s.delivered.settle()
			}
			if s.cfg.State != nil {
				var key []any // the copy's last key, for its state
				if row.copyRow {
					key = row.Token.LastKey
					if row.copyEnd {
						key = s.table.KeyOf(row.Values)
					}
				}
				s.cfg.State.deliver(row, key, s.queuedAt)
				if s.qHead == len(s.queue) && s.end == nil {
					s.cfg.State.setToken(s.Resume())
				}
			}
			return row, nil
		}
		if s.end != nil {
			return nil, s.end
		}
		if err := s.step(ctx); err != nil {
			s.end = err
		}
		if s.qHead < len(s.queue) && s.cfg.State != nil {
			s.queuedAt = s.now()
		}
		if s.qHead == len(s.queue) && s.cfg.State != nil {
			s.cfg.State.setToken(s.Resume())
		}
	}
}

// Ready reports whether Next has a row at hand: it returns it without
// waiting.
func (s *Stream) Ready() bool { return s.qHead < len(s.queue) }

// Resume returns the token to continue after everything delivered so far.
func (s *Stream) Resume() Token {
	if s.qHead < len(s.queue) || s.dropped {
		return s.delivered.get()
	}
	return Token{Keyspace: s.cfg.Keyspace, Shard: s.cfg.Shard, Table: s.table.Name,
		Copying: s.copying, Pos: s.pos, Skip: s.skip + s.resumeSkip, LastKey: s.lastKey}
}

// Close stops the engine stream and releases its resources.
func (s *Stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.cfg.State != nil {
		s.cfg.State.settle()
	}
	s.stopAhead()
	if s.changes != nil {
		s.changes.stop()
	}
	return nil
}

// step does one unit of work: read a chunk, catch up, emit a chunk, or
// consume one batch of changes. It may queue no rows.
func (s *Stream) step(ctx context.Context) error {
	if s.copying {
		if s.chunk == nil {
			return s.readChunk(ctx)
		}
		done, err := s.reached(s.chunk.pos)
		if err != nil {
			return err
		}
		if !done {
			return s.consume(ctx, func() (bool, error) { return s.reached(s.chunk.pos) })
		}
		s.emitChunk()
		return nil
	}
	if done, err := s.atBound(); err != nil || done {
		if err == nil {
			err = io.EOF
		}
		return err
	}
	return s.consume(ctx, s.atBound)
}

// schemaChanged ends the stream: the table's columns changed after it
// opened, and a result set cannot change shape.
func (s *Stream) schemaChanged(at engines.Position) error {
	return fmt.Errorf("%w: the columns of %s changed at position %s, after this statement started; the result set cannot change shape: run VSTREAM again to continue with the new columns",
		ErrSchemaChanged, streamName(s.cfg.Keyspace, s.cfg.Shard, s.table.Name), at)
}

// reached reports whether the stream has passed position p.
func (s *Stream) reached(p engines.Position) (bool, error) {
	if s.skip != 0 {
		return false, nil
	}
	c, err := s.src.ComparePositions(s.pos, p)
	return c >= 0, err
}

// atBound reports whether a replicating stream has delivered everything up
// to its end bound.
func (s *Stream) atBound() (bool, error) {
	if s.until == nil || s.skip != 0 || s.resumeSkip != 0 {
		return false, nil
	}
	c, err := s.src.ComparePositions(s.pos, s.until.Pos)
	if err != nil {
		return false, err
	}
	return c > 0 || (c == 0 && s.until.Skip == 0), nil
}

// pastBound reports whether a row lies after the end bound. The rows of a
// transaction share their position, so the position comparison is made
// once per transaction.
func (s *Stream) pastBound(t Token) bool {
	b := s.until
	if t.Pos != s.boundMemo.pos || s.boundMemo.pos == "" {
		c, err := s.src.ComparePositions(t.Pos, b.Pos)
		if err != nil {
			return true
		}
		s.boundMemo.pos, s.boundMemo.cmp = t.Pos, c
	}
	c := s.boundMemo.cmp
	return c > 0 || (c == 0 && t.Skip > b.Skip)
}

// consume applies change events until a batch is used up or stop says the
// stream reached a boundary it must not pass yet.
func (s *Stream) consume(ctx context.Context, stop func() (bool, error)) error {
	if s.evIdx >= len(s.evs) {
		evs, err := s.changes.next(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			return engines.AtPosition(s.pos, err)
		}
		s.evs, s.evIdx = evs, 0
	}
	for s.evIdx < len(s.evs) {
		ev := &s.evs[s.evIdx]
		s.evIdx++
		switch ev.Kind {
		case engines.RowChange:
			if ev.Table == s.table.Name {
				if err := s.change(ev); err != nil {
					return err
				}
			}
		case engines.Commit:
			if s.skip > 0 {
				s.resumeSkip = 0
			}
			s.pos, s.skip, s.txnTime = ev.Pos, 0, time.Time{}
			if done, err := stop(); err != nil || done {
				return err
			}
		case engines.SchemaChange:
			if ev.Table != s.table.Name {
				continue
			}
			// A DDL the stream's columns already reflect (it happened before
			// the stream opened) only moves the position: the changes before
			// it are mapped to today's columns by name.
			after, err := s.src.ComparePositions(ev.Pos, s.openPos)
			if err != nil {
				return err
			}
			s.pos, s.skip, s.resumeSkip = ev.Pos, 0, 0
			if ev.Truncated {
				// The rows it deleted are not listed: a stream cannot go on as
				// if nothing happened, even replaying an old TRUNCATE.
				return fmt.Errorf("%w: %s was truncated at position %s and the source does not list the rows it deleted: every earlier row is gone; continue after it (the next VSTREAM of this session does) knowing that, or start afresh with pos > ''",
					ErrTruncated, streamName(s.cfg.Keyspace, s.cfg.Shard, s.table.Name), ev.Pos)
			}
			if after > 0 {
				return s.schemaChanged(ev.Pos)
			}
		}
	}
	return nil
}

// change turns one row change into op rows: an update that moves the key is
// a '-' for the old key and a '+' for the new one.
func (s *Stream) change(ev *engines.Event) error {
	if !ev.Time.IsZero() {
		s.txnTime = ev.Time
	}
	before, after := ev.Before, ev.After // the event is left as it is: batches may be shared
	if ev.Columns != nil {
		m, err := s.remap.get(ev.Columns, s.columns)
		if err != nil {
			return fmt.Errorf("a change of %s at position %s: %w", s.table.Name, s.pos, err)
		}
		if m != nil {
			before, after = m.apply(before), m.apply(after)
		}
	}
	switch {
	case before == nil:
		return s.emit('+', after)
	case after == nil:
		return s.emit('-', before)
	}
	c, err := s.table.CompareKeys(s.table.KeyOf(before), s.table.KeyOf(after))
	if err != nil {
		return err
	}
	if c == 0 {
		return s.emit('*', after)
	}
	if err := s.emit('-', before); err != nil {
		return err
	}
	return s.emit('+', after)
}

// emit queues one op row, unless it concerns a key the copy has not reached
// yet (that row's state comes with its chunk) or it was delivered before
// the resume.
func (s *Stream) emit(op byte, vals []any) error {
	if s.copying {
		if s.lastKey == nil {
			return nil
		}
		c, err := s.table.CompareKeys(s.table.KeyOf(vals), s.lastKey)
		if err != nil {
			return err
		}
		if c > 0 {
			return nil
		}
	}
	s.skip++
	if s.resumeSkip > 0 {
		s.resumeSkip-- // delivered before the resume
		return nil
	}
	if len(s.slab) == 0 {
		s.slab = make([]Row, rowSlab)
	}
	r := &s.slab[0]
	s.slab = s.slab[1:]
	*r = Row{Op: op, Values: vals, CommitTime: s.txnTime, Token: Token{
		Keyspace: s.cfg.Keyspace, Shard: s.cfg.Shard, Table: s.table.Name,
		Copying: s.copying, Pos: s.pos, Skip: s.skip, LastKey: s.lastKey}}
	s.queue = append(s.queue, r)
	return nil
}

// rowSlab is how many change rows one allocation holds.
const rowSlab = 128
