package server

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/dolthub/vitess/go/sqltypes"
)

// Sessions following the same table read the same row images: the shared
// source stream (vstream.Fanout) decodes each change once and hands every
// session the same value slice. encodings lets them encode it once too:
// the first session to send a row image keeps its wire values in a small
// cache keyed by the image's identity (its backing array), the others copy
// them. A session uses the cache only while another session streams the
// same table with the same columns (a lone stream would only pay for
// keeping copies).
type encodings struct {
	mu     sync.Mutex
	tables map[string]*encodingCache // by keyspace.table:columns
}

// encodingSlots is the cache size: as many row images as a shared source
// stream keeps (vstream.DefaultFanoutEvents), the most that separate its
// fastest and slowest sessions.
const (
	encodingBits  = 16
	encodingSlots = 1 << encodingBits
)

// encodingCache is the cache of one table and column list.
type encodingCache struct {
	users atomic.Int32 // streams using it now
	slots [encodingSlots]atomic.Pointer[encodedImage]
}

// encodedImage is one row image's wire values, in memory of its own.
type encodedImage struct {
	image []any // the image (kept alive: its address is the key)
	vals  []sqltypes.Value
}

// join returns the cache of a stream of table with columns cols, counting
// the stream as its user until leave.
func (e *encodings) join(table string, cols []int) *encodingCache {
	key := table + ":" + strings.Trim(fmt.Sprint(cols), "[]")
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tables == nil {
		e.tables = map[string]*encodingCache{}
	}
	c := e.tables[key]
	if c == nil {
		c = &encodingCache{}
		e.tables[key] = c
	}
	c.users.Add(1)
	return c
}

// leave ends a stream's use of c; the last user drops it.
func (e *encodings) leave(table string, cols []int, c *encodingCache) {
	key := table + ":" + strings.Trim(fmt.Sprint(cols), "[]")
	e.mu.Lock()
	defer e.mu.Unlock()
	if c.users.Add(-1) == 0 && e.tables[key] == c {
		delete(e.tables, key)
	}
}

// shared reports whether another stream uses the cache.
func (c *encodingCache) shared() bool { return c.users.Load() > 1 }

// slotOf is the slot of an image: its address, hashed by multiplying (the
// images of consecutive rows lie a fixed size apart, which a mask of the
// address would fold onto a fraction of the slots).
func slotOf(image []any) int {
	p := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(image))))
	return int((p * 0x9E3779B97F4A7C15) >> (64 - encodingBits))
}

// get returns the wire values of image if a session encoded it.
func (c *encodingCache) get(image []any) []sqltypes.Value {
	e := c.slots[slotOf(image)].Load()
	if e == nil || len(e.image) == 0 || len(image) == 0 || unsafe.SliceData(e.image) != unsafe.SliceData(image) {
		return nil
	}
	return e.vals
}

// put keeps a copy of image's wire values (vals refer to a buffer the
// session reuses).
func (c *encodingCache) put(image []any, vals []sqltypes.Value) {
	if len(image) == 0 {
		return
	}
	n := 0
	for _, v := range vals {
		n += len(v.Raw())
	}
	mem := make([]byte, 0, n)
	own := make([]sqltypes.Value, len(vals))
	for i, v := range vals {
		if v.IsNull() {
			own[i] = v
			continue
		}
		start := len(mem)
		mem = append(mem, v.Raw()...)
		own[i] = sqltypes.MakeTrusted(v.Type(), mem[start:len(mem):len(mem)])
	}
	c.slots[slotOf(image)].Store(&encodedImage{image: image, vals: own})
}
