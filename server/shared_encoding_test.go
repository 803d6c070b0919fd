package server

import (
	"testing"

	"github.com/dolthub/vitess/go/sqltypes"
)

// TestEncodingCacheSlots: the images of consecutive rows, carved from one
// slab (a fixed size apart, as decoders allocate them), spread over the
// cache's slots; the cache returns what was put for an image, and nothing
// for another.
func TestEncodingCacheSlots(t *testing.T) {
	for _, cols := range []int{1, 6, 8, 17} {
		slab := make([]any, cols*encodingSlots)
		used := map[int]bool{}
		for i := 0; i < encodingSlots; i++ {
			used[slotOf(slab[i*cols:(i+1)*cols])] = true
		}
		if len(used) < encodingSlots/2 {
			t.Errorf("%d columns: %d consecutive images use %d slots, want at least half", cols, encodingSlots, len(used))
		}
	}
	c := &encodingCache{}
	a, b := make([]any, 2), make([]any, 2)
	c.put(a, []sqltypes.Value{sqltypes.MakeTrusted(sqltypes.Int64, []byte("7")), sqltypes.NULL})
	if got := c.get(a); len(got) != 2 || string(got[0].Raw()) != "7" || !got[1].IsNull() {
		t.Errorf("get(a) = %v, want [7 NULL]", got)
	}
	if got := c.get(b); got != nil {
		t.Errorf("get(b) = %v, want nothing", got)
	}
}
