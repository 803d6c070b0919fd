// Package box puts engine values (int64, uint64, float64, string,
// time.Time) into interfaces, and texts into strings, without a heap
// allocation each.
//
// An engine row is a []any, and Go allocates a value's copy for each
// conversion to an interface (but for small integers): five of them a row
// for a row of five columns, which made most of a binlog stream's
// allocations. A Slab keeps the values in slabs of their type, one
// allocation for many, and makes each interface point at its value there.
//
// The interfaces are ordinary: comparing, type switches, reflection and the
// garbage collector see a value of the type, held in memory that lives as
// long as one of the slab's interfaces does. A value is never written
// again once boxed. Building one relies on the layout of an empty
// interface (a type word, then a pointer to the value), which the runtime
// and package reflect share and which has not changed since Go 1.
//
// An Arena does the same for the strings of decoded texts: many strings
// share one block; and Slab.Row for the []any of row images. Nil Slabs and
// Arenas allocate each value alone, for callers whose values outlive
// their neighbours.
package box
