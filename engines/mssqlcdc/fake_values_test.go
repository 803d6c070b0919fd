package mssqlcdc

// The fake SQL Server's comparisons (with the collation rules described in
// fake_types_test.go) and the Go values go-mssqldb hands out.

import (
	"bytes"
	"math"
	"strings"
	"time"
	"unicode/utf16"
)

// compareVals orders two non-NULL values; coll is the collation that
// applies to character operands ("" for the column default).
func compareVals(a, b any) (int, error) {
	sa, aStr := strOf(a)
	sb, bStr := strOf(b)
	if aStr && bStr {
		coll := collOf(a)
		if coll == "" {
			coll = collOf(b)
		}
		return compareText(sa, sb, coll), nil
	}
	switch x := a.(type) {
	case time.Time:
		switch y := b.(type) {
		case time.Time:
			return x.Compare(y), nil
		case string:
			if t, _, ok := parseTimeText(y); ok {
				return x.Compare(t), nil
			}
		}
	case todV:
		if y, ok := b.(todV); ok {
			return cmpInt(int64(x), int64(y)), nil
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return bytes.Compare(x, y), nil
		}
	case guidV:
		if y, ok := b.(guidV); ok {
			for _, i := range []int{10, 11, 12, 13, 14, 15, 8, 9, 6, 7, 4, 5, 0, 1, 2, 3} {
				if x[i] != y[i] {
					return cmpInt(int64(x[i]), int64(y[i])), nil
				}
			}
			return 0, nil
		}
	}
	if fa, ok := a.(float64); ok {
		if fb, ok := floatOf(b); ok {
			return cmpFloat(fa, fb), nil
		}
	}
	if fb, ok := b.(float64); ok {
		if fa, ok := floatOf(a); ok {
			return cmpFloat(fa, fb), nil
		}
	}
	ra, ok1 := ratOf(a)
	rb, ok2 := ratOf(b)
	if ok1 && ok2 {
		return ra.Cmp(rb), nil
	}
	return 0, sqlErr(402, "The data types %T and %T are incompatible in the comparison operator.", a, b)
}

func floatOf(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	r, ok := ratOf(v)
	if !ok {
		return 0, false
	}
	f, _ := r.Float64()
	return f, true
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func strOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case uniStr:
		return string(x), true
	case collStr:
		return x.s, true
	}
	return "", false
}

func collOf(v any) string {
	if c, ok := v.(collStr); ok {
		return c.coll
	}
	return ""
}

// compareText compares padded with spaces: by UTF-16 code units under a
// _BIN2 collation, else case-insensitively.
func compareText(a, b, coll string) int {
	if !strings.HasSuffix(strings.ToUpper(coll), "_BIN2") {
		a, b = strings.ToLower(a), strings.ToLower(b)
	}
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	for i := 0; i < len(ua) || i < len(ub); i++ {
		x, y := uint16(' '), uint16(' ')
		if i < len(ua) {
			x = ua[i]
		}
		if i < len(ub) {
			y = ub[i]
		}
		if x != y {
			return cmpInt(int64(x), int64(y))
		}
	}
	return 0
}

// driverValue is what go-mssqldb hands a Go program for a stored value of
// type t.
func driverValue(v any, t *ftype) any {
	switch x := v.(type) {
	case nil:
		return nil
	case decV:
		return []byte(x.text())
	case float32:
		return float64(x)
	case guidV:
		return append([]byte(nil), x[:]...)
	case todV:
		return time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(x))
	case []byte:
		return append([]byte(nil), x...)
	case collStr:
		return x.s
	case uniStr:
		return string(x)
	case decStr:
		return []byte(x)
	case time.Time:
		if t != nil && t.name == "datetime" {
			// go-mssqldb: milliseconds = trunc(ticks / 0.3 + 0.5).
			day := time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC)
			ticks := math.Round(float64(x.Sub(day)) * 300 / 1e9)
			ms := int64(math.Trunc(ticks/0.3 + 0.5))
			return day.Add(time.Duration(ms) * time.Millisecond)
		}
		if t != nil && t.name == "datetimeoffset" {
			_, off := x.Zone()
			return x.In(time.FixedZone("", off))
		}
		return x
	}
	return v
}
