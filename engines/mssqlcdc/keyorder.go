package mssqlcdc

import (
	"bytes"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode/utf16"
)

// Key order. Copy chunks are read in the order of an ORDER BY on the key
// columns, and CompareKeys must order key tuples the same way. SQL Server
// orders character data by the column's collation, which Go cannot
// reproduce, so character key columns are ordered by a binary collation
// instead: CAST(k AS nvarchar(…)) COLLATE Latin1_General_100_BIN2, UTF-16
// code units, shorter values padded with spaces as SQL Server pads every
// comparison. NULL sorts first, as in SQL Server.
const binCollation = "Latin1_General_100_BIN2"

// orderExpr is the expression a key column is ordered and compared by.
func (c *column) orderExpr() string {
	name := quoteName(c.name)
	if c.kind != kString {
		return name
	}
	if c.typ.name == "nchar" || c.typ.name == "nvarchar" {
		return name + " COLLATE " + binCollation
	}
	n := "4000"
	if c.typ.maxLength < 0 || c.typ.maxLength > 4000 {
		n = "max"
	}
	return "CAST(" + name + " AS nvarchar(" + n + ")) COLLATE " + binCollation
}

// keyParam returns a key value as a query argument and the expression that
// reads parameter p as a value of the column's own type, so that the
// comparison is exact (a datetime compared with a datetime2 would not be).
func (c *column) keyParam(v any, p string) (any, string, error) {
	switch c.kind {
	case kInt, kBit:
		if n, ok := v.(int64); ok {
			return n, "CAST(" + p + " AS " + c.typ.sqlText() + ")", nil
		}
	case kUint:
		if n, ok := v.(uint64); ok {
			return int64(n), "CAST(" + p + " AS tinyint)", nil
		}
	case kDecimal:
		if s, ok := v.(string); ok {
			return s, "CAST(" + p + " AS " + c.typ.sqlText() + ")", nil
		}
	case kFloat32:
		if f, ok := v.(float32); ok {
			return float64(f), "CAST(" + p + " AS real)", nil
		}
	case kFloat64:
		if f, ok := v.(float64); ok {
			return f, "CAST(" + p + " AS float)", nil
		}
	case kDate, kDateTime, kDateTimeOffset:
		if t, ok := v.(time.Time); ok {
			return c.timeLiteral(t), "CAST(" + p + " AS " + c.typ.sqlText() + ")", nil
		}
	case kTime:
		if s, ok := v.(string); ok {
			return s, "CAST(" + p + " AS " + c.typ.sqlText() + ")", nil
		}
	case kString:
		if s, ok := v.(string); ok {
			return s, p, nil // compared under the column side's explicit collation
		}
	case kBinary:
		if b, ok := v.([]byte); ok {
			return b, "CAST(" + p + " AS " + c.typ.sqlText() + ")", nil
		}
	case kGUID:
		if s, ok := v.(string); ok {
			return s, "CAST(" + p + " AS uniqueidentifier)", nil
		}
	}
	return nil, "", fmt.Errorf("column %s: a key value of type %T", c.name, v)
}

// timeLiteral writes a time in the ISO 8601 form CAST reads whatever the
// session's DATEFORMAT, with as many fractional digits as the type takes.
func (c *column) timeLiteral(t time.Time) string {
	switch c.typ.name {
	case "date":
		return t.Format("2006-01-02")
	case "smalldatetime":
		return t.Format("2006-01-02T15:04:05")
	case "datetime":
		return t.Format("2006-01-02T15:04:05.000")
	}
	s := t.UTC().Format("2006-01-02T15:04:05")
	if c.typ.scale > 0 {
		s += "." + fmt.Sprintf("%09d", t.Nanosecond())[:min(c.typ.scale, 7)]
	}
	if c.kind == kDateTimeOffset {
		s += "+00:00"
	}
	return s
}

// compareValues orders two non-NULL values of the column as orderExpr does.
func (c *column) compareValues(a, b any) (int, error) {
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmp3(x, y), nil
		}
	case uint64:
		if y, ok := b.(uint64); ok {
			return cmp3(x, y), nil
		}
	case float32:
		if y, ok := b.(float32); ok {
			return cmp3(x, y), nil
		}
	case float64:
		if y, ok := b.(float64); ok {
			return cmp3(x, y), nil
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y), nil
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return bytes.Compare(x, y), nil
		}
	case string:
		y, ok := b.(string)
		if !ok {
			break
		}
		switch c.kind {
		case kDecimal:
			rx, ok1 := new(big.Rat).SetString(x)
			ry, ok2 := new(big.Rat).SetString(y)
			if ok1 && ok2 {
				return rx.Cmp(ry), nil
			}
			return 0, fmt.Errorf("column %s: cannot compare %q and %q", c.name, x, y)
		case kGUID:
			gx, ok1 := guidBytes(x)
			gy, ok2 := guidBytes(y)
			if ok1 && ok2 {
				return compareGUID(gx, gy), nil
			}
			return 0, fmt.Errorf("column %s: cannot compare %q and %q", c.name, x, y)
		case kString:
			return comparePadded(x, y), nil
		}
		return strings.Compare(x, y), nil // time texts of one width
	}
	return 0, fmt.Errorf("column %s: cannot order values %v (%T) and %v (%T)", c.name, a, a, b, b)
}

// guidOrder is the significance of a uniqueidentifier's stored bytes in
// SQL Server's ordering: the last six first, the first four last.
var guidOrder = [16]int{10, 11, 12, 13, 14, 15, 8, 9, 6, 7, 4, 5, 0, 1, 2, 3}

func compareGUID(a, b []byte) int {
	for _, i := range guidOrder {
		if a[i] != b[i] {
			return cmp3(a[i], b[i])
		}
	}
	return 0
}

// comparePadded orders two strings as a binary (BIN2) collation does for
// nvarchar: by UTF-16 code units, the shorter padded with spaces.
func comparePadded(a, b string) int {
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
			return cmp3(x, y)
		}
	}
	return 0
}

func cmp3[T int64 | uint64 | float32 | float64 | int | uint16 | byte](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareKeys orders key tuples of t: NULL first, then compareValues.
func (t *table) compareKeys(a, b []any) (int, error) {
	for i, k := range t.key {
		x, y := a[i], b[i]
		switch {
		case x == nil && y == nil:
			continue
		case x == nil:
			return -1, nil
		case y == nil:
			return 1, nil
		}
		c, err := t.columns[k].compareValues(x, y)
		if err != nil || c != 0 {
			return c, err
		}
	}
	return 0, nil
}
