package box

import (
	"strings"
	"time"
	"unsafe"
)

// slabLen is the number of values of one type a slab holds.
const slabLen = 128

// Slab boxes values; the zero Slab is ready, and a nil *Slab boxes them
// as a conversion does. A Slab is not safe for concurrent use.
type Slab struct {
	rows   []any
	ints   []int64
	uints  []uint64
	floats []float64
	strs   []string
	times  []time.Time
}

// eface is the layout of an empty interface.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeWord(x any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&x)).typ }

var (
	int64Type   = typeWord(int64(0))
	uint64Type  = typeWord(uint64(0))
	float64Type = typeWord(float64(0))
	stringType  = typeWord("")
	timeType    = typeWord(time.Time{})
)

// iface is the interface holding the value at p, of the type typ.
func iface(typ, p unsafe.Pointer) any {
	var x any
	e := (*eface)(unsafe.Pointer(&x))
	e.typ, e.data = typ, p
	return x
}

// take returns the next free value of a slab, allocating a new slab when
// it is used up.
func take[T any](s *[]T) *T {
	if len(*s) == 0 {
		*s = make([]T, slabLen)
	}
	p := &(*s)[0]
	*s = (*s)[1:]
	return p
}

// rowsPerSlab is the number of rows of n values Row carves from one slab.
const rowsPerSlab = 256

// Row returns a row image of n nil values, carved from a slab of rows (a
// nil *Slab allocates it alone). A slab lives as long as one of its rows:
// the rows of a stream or a copy chunk are dropped together.
func (s *Slab) Row(n int) []any {
	if s == nil {
		return make([]any, n)
	}
	if len(s.rows) < n {
		s.rows = make([]any, n*rowsPerSlab)
	}
	r := s.rows[:n:n]
	s.rows = s.rows[n:]
	return r
}

// Int64 is any(v).
func (s *Slab) Int64(v int64) any {
	if s == nil || v >= 0 && v < 256 {
		return v // the runtime boxes small integers without allocating
	}
	p := take(&s.ints)
	*p = v
	return iface(int64Type, unsafe.Pointer(p))
}

// Uint64 is any(v).
func (s *Slab) Uint64(v uint64) any {
	if s == nil || v < 256 {
		return v
	}
	p := take(&s.uints)
	*p = v
	return iface(uint64Type, unsafe.Pointer(p))
}

// Float64 is any(v).
func (s *Slab) Float64(v float64) any {
	if s == nil {
		return v
	}
	p := take(&s.floats)
	*p = v
	return iface(float64Type, unsafe.Pointer(p))
}

// String is any(v).
func (s *Slab) String(v string) any {
	if s == nil || v == "" {
		return v
	}
	p := take(&s.strs)
	*p = v
	return iface(stringType, unsafe.Pointer(p))
}

// Time is any(v).
func (s *Slab) Time(v time.Time) any {
	if s == nil {
		return v
	}
	p := take(&s.times)
	*p = v
	return iface(timeType, unsafe.Pointer(p))
}

// Arena hands out strings carved from shared blocks: as many strings as a
// block holds cost one allocation (and keep the block alive). What a block
// holds is never written again. The zero Arena is ready; it is not safe
// for concurrent use.
type Arena struct{ b strings.Builder }

// arenaBlock is the size of a block.
const arenaBlock = 4 << 10

// String is string(p); a nil *Arena allocates it alone.
func (a *Arena) String(p []byte) string {
	if a == nil {
		return string(p)
	}
	if len(p) == 0 {
		return ""
	}
	if a.b.Cap()-a.b.Len() < len(p) {
		a.b = strings.Builder{}
		a.b.Grow(max(len(p), arenaBlock))
	}
	at := a.b.Len()
	a.b.Write(p)
	return a.b.String()[at:]
}
