package vstream_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/vstream"
)

// scriptedSource is a source of one table "t" (key id) whose rows never
// change, whose snapshots are taken at scripted positions (then at the
// last one) and whose change stream sends scripted batches (then waits).
// Positions are decimal numbers.
type scriptedSource struct {
	engines.Source // nil: only what a stream uses is implemented
	rows           [][]any
	current        int

	mu      sync.Mutex
	snaps   []int // the positions of the next snapshots
	batches [][]engines.Event
	limits  []int // the limit of every scan, in order
}

func (s *scriptedSource) Current(context.Context) (engines.Position, error) {
	return engines.Position(strconv.Itoa(s.current)), nil
}

func (s *scriptedSource) ComparePositions(a, b engines.Position) (int, error) {
	x, err := strconv.Atoi(string(a))
	if err != nil {
		return 0, err
	}
	y, err := strconv.Atoi(string(b))
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

func (s *scriptedSource) Snapshot(context.Context, string) (engines.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pos := s.snaps[0]
	if len(s.snaps) > 1 {
		s.snaps = s.snaps[1:]
	}
	return &scriptedSnapshot{src: s, rows: s.rows, pos: engines.Position(strconv.Itoa(pos))}, nil
}

func (s *scriptedSource) Stream(ctx context.Context, _ engines.Position, _ []string, send func([]engines.Event) error) error {
	if err := send(nil); err != nil {
		return err
	}
	s.mu.Lock()
	batches := s.batches
	s.mu.Unlock()
	for _, b := range batches {
		if err := send(b); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

type scriptedSnapshot struct {
	src  *scriptedSource
	rows [][]any
	pos  engines.Position
}

func (s *scriptedSnapshot) Position() engines.Position { return s.pos }
func (s *scriptedSnapshot) Time() time.Time            { return time.Time{} }
func (s *scriptedSnapshot) Columns() []string          { return []string{"id"} }
func (s *scriptedSnapshot) Close() error               { return nil }

func (s *scriptedSnapshot) Scan(_ context.Context, after []any, limit int, send func([]any) error) error {
	s.src.mu.Lock()
	s.src.limits = append(s.src.limits, limit)
	s.src.mu.Unlock()
	n := 0
	for _, r := range s.rows {
		if after != nil && r[0].(int64) <= after[0].(int64) {
			continue
		}
		if limit > 0 && n == limit {
			break
		}
		n++
		if err := send(r); err != nil {
			return err
		}
	}
	return nil
}

// TestCopyChunkReadAheadOlderThanStream: catching up with one chunk's
// snapshot can carry the stream past the snapshot of the chunk read ahead
// (a commit that stands for several transactions of other tables); the copy
// then reads that chunk again instead of ending with an error after a
// prefix of the table.
func TestCopyChunkReadAheadOlderThanStream(t *testing.T) {
	src := &scriptedSource{current: 10}
	for id := int64(1); id <= 6; id++ {
		src.rows = append(src.rows, []any{id})
	}
	// Chunk 1 at 10 (the stream starts there), chunk 2 read ahead at 12,
	// chunk 3 read ahead at 14; the change stream's first commit is at 20,
	// past both.
	src.snaps = []int{10, 12, 14, 20}
	src.batches = [][]engines.Event{{{Kind: engines.Commit, Pos: "20"}}}
	table := scriptedTable()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := vstream.Open(ctx, vstream.Config{Keyspace: "ks", Table: table, Source: src, ChunkRows: 2}, vstream.Options{From: vstream.Fresh("ks", "", "t")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got []string
	for len(got) < 6 {
		r, err := st.Next(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, fmt.Sprintf("%c%v@%s", r.Op, r.Values[0], r.Token.Pos))
	}
	want := "[+1@10 +2@10 +3@12 +4@12 +5@20 +6@20]"
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v, want %s", got, want)
	}
}

// scriptedTable is the table of a scriptedSource.
func scriptedTable() *engines.Table {
	return &engines.Table{Name: "t", Columns: []engines.Column{{Name: "id", Type: "bigint"}}, Key: []int{0}, KeyKind: engines.PrimaryKey,
		CompareKeys: func(a, b []any) (int, error) {
			x, y := a[0].(int64), b[0].(int64)
			switch {
			case x < y:
				return -1, nil
			case x > y:
				return 1, nil
			}
			return 0, nil
		}}
}

// TestCopyChunkBytes: after a chunk of wide rows, the next chunks have no
// more rows than fit in MaxChunkBytes (a chunk is held in memory while the
// next is read), and the copy still delivers every row once, in order.
func TestCopyChunkBytes(t *testing.T) {
	wide := strings.Repeat("x", 64<<10) // one string: the rows only look wide
	src := &scriptedSource{current: 10, snaps: []int{10}}
	const n = vstream.DefaultChunkRows + 1000
	for id := int64(1); id <= n; id++ {
		src.rows = append(src.rows, []any{id, wide})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := vstream.Open(ctx, vstream.Config{Keyspace: "ks", Table: scriptedTable(), Source: src}, vstream.Options{From: vstream.Fresh("ks", "", "t")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for want := int64(1); want <= n; want++ {
		r, err := st.Next(ctx)
		if err != nil {
			t.Fatalf("row %d: %v", want, err)
		}
		if got := r.Values[0].(int64); got != want || r.Op != '+' {
			t.Fatalf("row %d: %c%d", want, r.Op, got)
		}
	}
	src.mu.Lock()
	limits := slices.Clone(src.limits)
	src.mu.Unlock()
	if len(limits) < 2 || limits[0] != vstream.DefaultChunkRows {
		t.Fatalf("scan limits %v: want %d, then smaller chunks", limits, vstream.DefaultChunkRows)
	}
	most := vstream.MaxChunkBytes / len(wide)
	for _, l := range limits[1:] {
		if l > most || l < 64 {
			t.Errorf("scan limits %v: after rows of %d bytes, want at most %d rows (and at least 64)", limits, len(wide), most)
			break
		}
	}
}
