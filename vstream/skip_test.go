package vstream

import (
	"testing"

	"github.com/vstreamd/vstreamd/engines"
)

func TestSkipRows(t *testing.T) {
	row := engines.Event{Kind: engines.RowChange}
	commit := engines.Event{Kind: engines.Commit, Pos: "7"}
	kinds := func(evs []engines.Event) string {
		s := ""
		for _, e := range evs {
			s += e.Kind.String()[:1]
		}
		return s
	}
	for _, tc := range []struct {
		evs  []engines.Event
		n    int
		want string
		left int
	}{
		{[]engines.Event{row, row, commit}, 0, "rrc", 0},
		{[]engines.Event{row, row, commit}, 1, "rc", 0},
		{[]engines.Event{row, row, commit}, 2, "c", 0},
		{[]engines.Event{row, row}, 3, "", 1},
		// A merged commit of transactions without rows before the rows:
		// kept, only row changes are skipped.
		{[]engines.Event{commit, row, row, commit}, 1, "crc", 0},
	} {
		got, left := skipRows(tc.evs, tc.n)
		if kinds(got) != tc.want || left != tc.left {
			t.Errorf("skipRows(%s, %d) = %s, %d; want %s, %d", kinds(tc.evs), tc.n, kinds(got), left, tc.want, tc.left)
		}
	}
}
