package vstream

import (
	"fmt"
	"strings"
)

// columnMap moves the values of a row image with other columns (a change
// made before a DDL) into the stream's columns, by name: a column the old
// image lacks is NULL, a column the stream lacks is dropped.
type columnMap []int // stream column → index in the old image, or -1

func (m columnMap) apply(row []any) []any {
	if row == nil {
		return nil
	}
	out := make([]any, len(m))
	for i, j := range m {
		if j >= 0 && j < len(row) {
			out[i] = row[j]
		}
	}
	return out
}

// remapCache remembers the mapping of the last column list seen, since
// consecutive changes nearly always share one, and the last list found to
// be the stream's own (an engine hands every change of a table the same
// list: recognizing it by its address spares comparing every name of
// every change).
type remapCache struct {
	same []string
	from []string
	m    columnMap
}

// get returns the mapping from cols to want, nil when they are the same.
func (c *remapCache) get(cols, want []string) (columnMap, error) {
	if sameList(cols, c.same) {
		return nil, nil
	}
	if sameNames(cols, want) {
		c.same = cols
		return nil, nil
	}
	if c.from != nil && sameNames(c.from, cols) {
		return c.m, nil
	}
	idx := make(map[string]int, len(cols))
	for i, n := range cols {
		idx[strings.ToLower(n)] = i
	}
	m := make(columnMap, len(want))
	found := 0
	for i, n := range want {
		j, ok := idx[strings.ToLower(n)]
		if !ok {
			j = -1
		} else {
			found++
		}
		m[i] = j
	}
	if found == 0 {
		return nil, fmt.Errorf("its columns (%s) have nothing in common with the table's (%s)",
			strings.Join(cols, ", "), strings.Join(want, ", "))
	}
	c.from, c.m = cols, m
	return m, nil
}

// sameList reports whether a and b are the same list in memory.
func sameList(a, b []string) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// sameNames reports whether two column lists are equal.
func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if sameList(a, b) {
		return true
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
