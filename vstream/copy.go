package vstream

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"
	"unsafe"

	"github.com/vstreamd/vstreamd/engines"
)

// Copy chunk sizes when Config.ChunkRows is zero: chunks start at
// DefaultChunkRows and double, up to MaxChunkRows, while a chunk (its
// snapshot and its scan) takes less than chunkTarget: fewer snapshots for
// a fast source, short snapshot transactions for a slow one. A chunk is
// held in memory (and the next one is read meanwhile), so the next chunk
// also has no more rows than fit in MaxChunkBytes, judging by the rows of
// the last (see meanRowBytes), and no fewer than minChunkRows.
const (
	DefaultChunkRows = 10000
	MaxChunkRows     = 80000
	MaxChunkBytes    = 16 << 20
	minChunkRows     = 64
	chunkTarget      = 250 * time.Millisecond
)

// chunk is one copy chunk: rows read from a snapshot at pos.
type chunk struct {
	pos   engines.Position
	after []any // the key the chunk starts after (nil: the table's start)
	limit int   // the most rows it was to read
	rows  [][]any
	last  bool
}

// Reconnector is implemented by sources whose change stream re-establishes
// a broken connection for a while (ReconnectWindow) before it fails. A copy
// in progress then retries, for as long, a chunk whose snapshot failed
// because the source was unreachable (engines.ErrSourceUnavailable), so a
// source restart or a dropped connection mid-copy does not end the stream.
type Reconnector interface {
	ReconnectWindow() time.Duration
}

// readChunk reads the next copy chunk from a fresh snapshot (see
// readChunkOnce), retrying it while the source is unreachable, within the
// source's reconnect window, once the change stream runs. A failed attempt
// changes nothing: the chunk's rows are only kept when all were read.
func (s *Stream) readChunk(ctx context.Context) error {
	var downSince time.Time
	wait := 100 * time.Millisecond
	for {
		err := s.readChunkOnce(ctx)
		r, ok := s.src.(Reconnector)
		if err == nil || !ok || s.changes == nil || !errors.Is(err, engines.ErrSourceUnavailable) || ctx.Err() != nil {
			return err
		}
		select {
		case <-s.changes.done:
			return err // the change stream gave up, or failed
		default:
		}
		if downSince.IsZero() {
			downSince = time.Now()
		}
		if time.Since(downSince) >= r.ReconnectWindow() {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// readChunkOnce reads the next copy chunk from a fresh snapshot (or takes
// the one read ahead, see readAhead). The chunk waits until the change
// stream has caught up with the snapshot's position.
func (s *Stream) readChunkOnce(ctx context.Context) error {
	if s.cfg.State != nil {
		est := int64(-1)
		if e, ok := s.src.(engines.RowEstimator); ok {
			if n, err := e.EstimateRows(ctx, s.table.Name); err == nil {
				est = n
			}
		}
		s.cfg.State.copyStarted(s.now(), est)
	}
	c, took, err := s.takeAhead(ctx)
	if c == nil && err == nil {
		c, took, err = s.scanChunk(ctx, s.lastKey, s.cfg.ChunkRows)
	}
	if err != nil {
		return err
	}
	c.last = len(c.rows) < c.limit
	if s.adaptive && !c.last {
		s.cfg.ChunkRows = nextChunkRows(s.cfg.ChunkRows, took, c.rows)
	}
	if s.pos == "" {
		s.pos = c.pos // a fresh copy: the stream starts at the first snapshot
	} else if cmp, err := s.src.ComparePositions(c.pos, s.pos); err != nil {
		return err
	} else if cmp < 0 {
		return fmt.Errorf("copy of %s: snapshot position %s is older than the stream position %s", s.table.Name, c.pos, s.pos)
	}
	if s.changes == nil {
		ch, err := startChanges(ctx, s.src, s.pos, s.table.Name)
		if err != nil {
			return err
		}
		s.changes = ch
	}
	s.chunk = c
	if !c.last {
		s.readAhead(ctx, s.table.KeyOf(c.rows[len(c.rows)-1]), s.cfg.ChunkRows)
	}
	return nil
}

// scanChunk reads up to limit rows after the key after from a fresh
// snapshot. It touches no stream state, so it may run while the stream
// emits the chunk before.
func (s *Stream) scanChunk(ctx context.Context, after []any, limit int) (*chunk, time.Duration, error) {
	began := time.Now()
	snap, err := s.src.Snapshot(ctx, s.table.Name)
	if err != nil {
		return nil, 0, fmt.Errorf("copy of %s: taking a snapshot: %w", s.table.Name, err)
	}
	defer snap.Close()
	if !sameNames(snap.Columns(), s.columns) {
		return nil, 0, s.schemaChanged(snap.Position())
	}
	c := &chunk{pos: snap.Position(), after: after, limit: limit}
	if limit > 0 {
		c.rows = make([][]any, 0, min(limit, MaxChunkRows)) // no regrowth (copying every row pointer) while reading
	}
	err = snap.Scan(ctx, after, limit, func(row []any) error {
		c.rows = append(c.rows, row)
		return nil
	})
	if err != nil {
		return nil, 0, engines.AtPosition(c.pos, fmt.Errorf("copy of %s: reading rows: %w", s.table.Name, err))
	}
	return c, time.Since(began), nil
}

// nextChunkRows is the size of the chunk after one of limit rows that took
// took to read: double, up to MaxChunkRows, if it was quick, and no more
// rows than fit in MaxChunkBytes if they are like these.
func nextChunkRows(limit int, took time.Duration, rows [][]any) int {
	if took < chunkTarget {
		limit = min(2*limit, MaxChunkRows)
	}
	if len(rows) == 0 {
		return limit
	}
	if fit := MaxChunkBytes / max(1, meanRowBytes(rows)); fit < limit {
		limit = max(fit, minChunkRows)
	}
	return limit
}

// meanRowBytes estimates the memory a row of rows takes once emitted (its
// values, its slice and the Row that carries it) from a sample of at most
// 256 rows spread over them.
func meanRowBytes(rows [][]any) int {
	step := max(1, len(rows)/256)
	n, total := 0, 0
	for i := 0; i < len(rows); i += step {
		total += rowBytes(rows[i])
		n++
	}
	return total / max(n, 1)
}

// rowBytes estimates the memory of one row: its Row, its slice of values
// and each value's own memory.
func rowBytes(row []any) int {
	size := int(unsafe.Sizeof(Row{})) + len(row)*int(unsafe.Sizeof(any(nil)))
	for _, v := range row {
		switch v := v.(type) {
		case nil:
		case string:
			size += int(unsafe.Sizeof(v)) + len(v)
		case []byte:
			size += int(unsafe.Sizeof(v)) + cap(v)
		case time.Time:
			size += int(unsafe.Sizeof(v))
		default:
			size += 16 // a number, or another small value
		}
	}
	return size
}

// ahead is a chunk being read while the one before it is emitted: the
// source reads and the client receives at the same time.
type ahead struct {
	done   chan struct{}
	cancel context.CancelFunc
	c      *chunk
	took   time.Duration
	err    error
}

// readAhead starts reading the chunk after the key after.
func (s *Stream) readAhead(ctx context.Context, after []any, limit int) {
	actx, cancel := context.WithCancel(ctx)
	a := &ahead{done: make(chan struct{}), cancel: cancel}
	s.ahead = a
	go func() {
		defer close(a.done)
		defer engines.Recover("reading a chunk of "+s.cfg.Table.Name+" ahead", &a.err)
		a.c, a.took, a.err = s.scanChunk(actx, after, limit)
	}()
}

// takeAhead returns the chunk read ahead, if it is the next one and not
// older than the stream (nil, nil otherwise). A failed read ahead is not an
// error: the chunk is read again, with readChunk's retries. Nor is one the
// stream has passed meanwhile: catching up with the chunk before can pass
// several positions at once (engines merge the commits of other tables'
// transactions), and the changes passed were dropped for keys the copy had
// not reached; a fresh snapshot is never older than the stream.
func (s *Stream) takeAhead(ctx context.Context) (*chunk, time.Duration, error) {
	a := s.ahead
	if a == nil {
		return nil, 0, nil
	}
	s.ahead = nil
	select {
	case <-a.done:
	case <-ctx.Done():
		a.cancel()
		<-a.done
		return nil, 0, context.Cause(ctx)
	}
	a.cancel()
	if a.err != nil || !sameKey(a.c.after, s.lastKey) {
		return nil, 0, nil
	}
	if s.pos != "" {
		cmp, err := s.src.ComparePositions(a.c.pos, s.pos)
		if err != nil {
			return nil, 0, err
		}
		if cmp < 0 {
			return nil, 0, nil
		}
	}
	return a.c, a.took, nil
}

// stopAhead abandons a chunk being read ahead.
func (s *Stream) stopAhead() {
	if a := s.ahead; a != nil {
		s.ahead = nil
		a.cancel()
		<-a.done
	}
}

// sameKey reports whether two key tuples are the same values.
func sameKey(a, b []any) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

// emitChunk queues the rows of a chunk whose snapshot the stream has caught
// up with.
func (s *Stream) emitChunk() {
	c := s.chunk
	s.chunk = nil
	s.queue = slices.Grow(s.queue, len(c.rows))
	slab := make([]Row, len(c.rows)) // one allocation for the chunk's rows
	for i, row := range c.rows {
		s.lastKey = s.table.KeyOf(row)
		r := &slab[i]
		*r = Row{Op: '+', Values: row, copyRow: true, Token: Token{
			Keyspace: s.cfg.Keyspace, Shard: s.cfg.Shard, Table: s.table.Name,
			Copying: true, Pos: c.pos, LastKey: s.lastKey}}
		if c.last && i == len(c.rows)-1 {
			// After the table's last row everything up to the snapshot is
			// delivered: the row's token is already a replicate token.
			r.copyEnd = true
			r.Token.Copying, r.Token.LastKey = false, nil
		}
		s.queue = append(s.queue, r)
	}
	if c.last {
		s.copying = false
		s.lastKey = nil
		if len(c.rows) == 0 && s.cfg.State != nil {
			s.cfg.State.copyDone(s.now())
		}
	}
}
