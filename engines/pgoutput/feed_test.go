package pgoutput

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pglogrepl"

	"github.com/vstreamd/vstreamd/engines"
)

// TestFeedStopsAtMarks: a stream gets a boundary at every snapshot
// position it passes, before the entry that passes it: a transaction, or
// an idle report of a later position (nothing of its tables in between).
// Without one, a stream waiting for a snapshot's position went past it,
// and a later copy chunk sharing that snapshot was older than the stream.
func TestFeedStopsAtMarks(t *testing.T) {
	commit := func(start, end pglogrepl.LSN) entry {
		return entry{ev: engines.Event{Kind: engines.Commit, Pos: position(end)}, commit: start}
	}
	idle := func(at pglogrepl.LSN) entry {
		return entry{ev: engines.Event{Kind: engines.Commit, Pos: position(at)}, commit: at, idle: true}
	}
	for _, tc := range []struct {
		name    string
		marks   []pglogrepl.LSN
		entries []entry
		want    []pglogrepl.LSN // the boundaries sent
	}{
		{"idle past a mark", []pglogrepl.LSN{0x100}, []entry{idle(0x138)}, []pglogrepl.LSN{0x100, 0x138}},
		{"idle at a mark", []pglogrepl.LSN{0x100}, []entry{idle(0x100)}, []pglogrepl.LSN{0x100}},
		{"a transaction past two marks", []pglogrepl.LSN{0x100, 0x120}, []entry{commit(0x130, 0x168)}, []pglogrepl.LSN{0x100, 0x120, 0x168}},
		{"a transaction at a mark", []pglogrepl.LSN{0x130}, []entry{commit(0x130, 0x168)}, []pglogrepl.LSN{0x130, 0x168}},
		{"marks behind", []pglogrepl.LSN{0x80}, []entry{idle(0x138)}, []pglogrepl.LSN{0x138}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeed(0x90)
			for _, m := range tc.marks {
				f.mark(m)
			}
			if err := f.append(context.Background(), tc.entries, func() {}); err != nil {
				t.Fatal(err)
			}
			end := errors.New("end")
			f.fail(end)
			var got []pglogrepl.LSN
			err := f.stream(context.Background(), 0x90, func(evs []engines.Event) error {
				for _, ev := range evs {
					l, err := lsnOf(ev.Pos)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, l)
				}
				return nil
			})
			if !errors.Is(err, end) {
				t.Fatalf("stream: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("boundaries %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("boundaries %v, want %v", got, tc.want)
				}
			}
		})
	}
}
