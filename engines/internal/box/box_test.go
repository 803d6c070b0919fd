package box

import (
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestBoxes: a boxed value is the value, to ==, type switches, reflection
// and fmt, and stays so through garbage collections while the slab is
// reused for later values.
func TestBoxes(t *testing.T) {
	t.Run("slab", func(t *testing.T) { testBoxes(t, &Slab{}) })
	t.Run("nil", func(t *testing.T) { testBoxes(t, nil) })
}

func testBoxes(t *testing.T, s *Slab) {
	when := time.Date(2024, 2, 29, 12, 34, 56, 789e6, time.UTC)
	want := []any{int64(-1), int64(7), int64(math.MaxInt64), uint64(255), uint64(math.MaxUint64), 2.5, math.Inf(-1), "", "héllo", when}
	var got []any
	for i := 0; i < 3*slabLen; i++ { // several slabs of each type
		for _, v := range want {
			switch x := v.(type) {
			case int64:
				got = append(got, s.Int64(x))
			case uint64:
				got = append(got, s.Uint64(x))
			case float64:
				got = append(got, s.Float64(x))
			case string:
				got = append(got, s.String(x))
			case time.Time:
				got = append(got, s.Time(x))
			}
		}
		runtime.GC()
	}
	for i, g := range got {
		w := want[i%len(want)]
		if g != w || !reflect.DeepEqual(g, w) || fmt.Sprint(g) != fmt.Sprint(w) || reflect.TypeOf(g) != reflect.TypeOf(w) {
			t.Fatalf("value %d: %#v (%T), want %#v (%T)", i, g, g, w, w)
		}
	}
	if tm, ok := got[len(want)-1].(time.Time); !ok || !tm.Equal(when) || tm.Location() != time.UTC {
		t.Errorf("time: %v", got[len(want)-1])
	}
}

// TestBoxesAllocate: a slab of values costs one allocation.
func TestBoxesAllocate(t *testing.T) {
	var s Slab
	allocs := testing.AllocsPerRun(1000, func() {
		_ = s.Int64(1 << 40)
		_ = s.String("abc")
		_ = s.Time(time.Unix(1, 0))
	})
	if allocs > 0.1 {
		t.Errorf("%.2f allocations per three values", allocs)
	}
}

// TestArena: strings carved from an arena keep their text while later ones
// are carved, across blocks.
func TestArena(t *testing.T) {
	var a Arena
	var got, want []string
	for i := 0; i < 3*arenaBlock/10; i++ {
		w := fmt.Sprintf("s%08d", i)
		want = append(want, w)
		got = append(got, a.String([]byte(w)))
	}
	big := strings.Repeat("x", 2*arenaBlock)
	want, got = append(want, big), append(got, a.String([]byte(big)))
	runtime.GC()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("string %d: %q, want %q", i, got[i], want[i])
		}
	}
	if s := a.String(nil); s != "" {
		t.Errorf("String(nil) = %q", s)
	}
	var none *Arena
	if s := none.String([]byte("abc")); s != "abc" {
		t.Errorf("a nil Arena's String = %q", s)
	}
}

// TestRows: rows carved from a slab are of the length asked, nil, and do
// not overlap (appending to one leaves the next alone).
func TestRows(t *testing.T) {
	for _, s := range []*Slab{{}, nil} {
		var rows [][]any
		for i := 0; i < 2*rowsPerSlab; i++ {
			r := s.Row(3)
			if len(r) != 3 || cap(r) != 3 || r[0] != nil || r[2] != nil {
				t.Fatalf("row %d: %v (cap %d)", i, r, cap(r))
			}
			r[0], r[2] = i, i
			rows = append(rows, r)
		}
		_ = append(rows[0], "x")
		for i, r := range rows {
			if r[0] != i || r[1] != nil || r[2] != i {
				t.Fatalf("row %d became %v", i, r)
			}
		}
	}
}
