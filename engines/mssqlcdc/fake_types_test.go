package mssqlcdc

// The fake SQL Server's types and values, written from Microsoft's data
// type reference (learn.microsoft.com/sql/t-sql/data-types) and, for what
// a Go program receives, from go-mssqldb v1.11.2's decoding (types.go):
// integers as int64, bit as bool, decimal and money as the decimal text
// with the type's scale ([]byte), real as float64 of the float32, date and
// time types as time.Time (datetimeoffset in a fixed zone of its offset,
// time on 0001-01-01, datetime from its 1/300 s ticks rounded to the
// millisecond), uniqueidentifier as its 16 stored bytes, character types
// as string, binary types as []byte.
//
// Character comparisons: a column's default collation here is
// case-insensitive (compared lower-cased, a stand-in for
// SQL_Latin1_General_CP1_CI_AS, whose real weights the fake does not
// have); an explicit COLLATE …_BIN2 compares UTF-16 code units. Both pad
// the shorter value with spaces, as SQL Server does.

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// ftype is a column's or a CAST's type.
type ftype struct {
	name  string // lower case
	n     int    // length in characters or bytes; -1 for max
	prec  int
	scale int
}

type (
	decV struct {
		r     *big.Rat
		scale int
	}
	guidV   [16]byte
	todV    time.Duration // time(n): since midnight
	collStr struct{ s, coll string }
)

func typeOf(ts typeSpec, inCast bool) (ftype, error) {
	t := ftype{name: ts.name}
	arg := func(i, def int) int {
		if i < len(ts.args) {
			return ts.args[i]
		}
		return def
	}
	switch t.name {
	case "char", "varchar", "nchar", "nvarchar", "binary", "varbinary":
		def := 1
		if inCast {
			def = 30
		}
		t.n = arg(0, def)
	case "decimal", "numeric":
		t.prec, t.scale = arg(0, 18), arg(1, 0)
	case "money":
		t.prec, t.scale = 19, 4
	case "smallmoney":
		t.prec, t.scale = 10, 4
	case "float":
		t.prec = 53
		if arg(0, 53) <= 24 {
			t.name, t.prec = "real", 24
		}
	case "real":
		t.prec = 24
	case "datetime2", "datetimeoffset", "time":
		t.scale = arg(0, 7)
	case "datetime":
		t.scale = 3
	case "tinyint", "smallint", "int", "bigint", "bit", "date", "smalldatetime", "text", "ntext", "image",
		"xml", "uniqueidentifier", "sysname":
		if t.name == "sysname" {
			t.name, t.n = "nvarchar", 128
		}
	default:
		return t, fmt.Errorf("type %s is not known to the fake", ts.name)
	}
	return t, nil
}

func (t ftype) isChar() bool {
	switch t.name {
	case "char", "varchar", "nchar", "nvarchar", "text", "ntext", "xml":
		return true
	}
	return false
}

// sysColumn is how sys.columns describes the type: max_length in bytes,
// precision, scale.
func (t ftype) sysColumn() (maxLen, prec, scale int64) {
	switch t.name {
	case "char", "varchar", "binary", "varbinary":
		return int64(t.n), 0, 0
	case "nchar", "nvarchar":
		if t.n < 0 {
			return -1, 0, 0
		}
		return int64(2 * t.n), 0, 0
	case "xml":
		return -1, 0, 0
	case "text", "ntext", "image", "uniqueidentifier":
		return 16, 0, 0
	case "tinyint":
		return 1, 3, 0
	case "smallint":
		return 2, 5, 0
	case "int":
		return 4, 10, 0
	case "bigint":
		return 8, 19, 0
	case "bit":
		return 1, 1, 0
	case "decimal", "numeric", "money", "smallmoney":
		return 17, int64(t.prec), int64(t.scale)
	case "float":
		return 8, 53, 0
	case "real":
		return 4, 24, 0
	case "date":
		return 3, 10, 0
	case "datetime":
		return 8, 23, 3
	case "smalldatetime":
		return 4, 16, 0
	}
	return 8, 0, int64(t.scale) // datetime2, datetimeoffset, time
}

func convErr(v any, t ftype) error {
	return sqlErr(245, "Conversion failed when converting the value %v to data type %s.", v, t.name)
}

// convert stores v as a value of type t (an assignment or a CAST).
func convert(v any, t ftype) (any, error) {
	if v == nil {
		return nil, nil
	}
	if c, ok := v.(collStr); ok {
		v = c.s
	}
	if u, ok := v.(uniStr); ok {
		v = string(u)
	}
	switch t.name {
	case "tinyint", "smallint", "int", "bigint":
		r, ok := ratOf(v)
		if !ok {
			return nil, convErr(v, t)
		}
		q := new(big.Int).Quo(r.Num(), r.Denom()) // truncates toward zero
		if !q.IsInt64() {
			return nil, sqlErr(8115, "Arithmetic overflow error converting expression to data type %s.", t.name)
		}
		n := q.Int64()
		lim := map[string][2]int64{"tinyint": {0, 255}, "smallint": {math.MinInt16, math.MaxInt16}, "int": {math.MinInt32, math.MaxInt32}, "bigint": {math.MinInt64, math.MaxInt64}}[t.name]
		if n < lim[0] || n > lim[1] {
			return nil, sqlErr(8115, "Arithmetic overflow error converting expression to data type %s.", t.name)
		}
		return n, nil
	case "bit":
		if s, ok := v.(string); ok {
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		r, ok := ratOf(v)
		if !ok {
			return nil, convErr(v, t)
		}
		return r.Sign() != 0, nil
	case "decimal", "numeric", "money", "smallmoney":
		r, ok := ratOf(v)
		if !ok {
			return nil, convErr(v, t)
		}
		return decV{roundRat(r, t.scale), t.scale}, nil
	case "float", "real":
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		default:
			r, ok := ratOf(v)
			if !ok {
				return nil, convErr(v, t)
			}
			f, _ = r.Float64()
		}
		if t.name == "real" {
			return float32(f), nil
		}
		return f, nil
	case "char", "varchar", "nchar", "nvarchar", "text", "ntext", "xml":
		s, ok := textOf(v)
		if !ok {
			return nil, convErr(v, t)
		}
		if (t.name == "char" || t.name == "nchar") && len([]rune(s)) < t.n {
			s += strings.Repeat(" ", t.n-len([]rune(s)))
		}
		if t.n > 0 && len([]rune(strings.TrimRight(s, " "))) > t.n {
			return nil, sqlErr(2628, "String or binary data would be truncated in table, column. Truncated value: '%s'.", s)
		}
		return s, nil
	case "binary", "varbinary", "image":
		var b []byte
		switch x := v.(type) {
		case []byte:
			b = append([]byte(nil), x...)
		case guidV:
			b = append([]byte(nil), x[:]...)
		default:
			return nil, convErr(v, t)
		}
		if t.name == "binary" && len(b) < t.n {
			b = append(b, make([]byte, t.n-len(b))...)
		}
		return b, nil
	case "uniqueidentifier":
		switch x := v.(type) {
		case guidV:
			return x, nil
		case []byte:
			var g guidV
			copy(g[:], x)
			return g, nil
		case string:
			if g, ok := parseGUIDFake(x); ok {
				return g, nil
			}
		}
		return nil, sqlErr(8169, "Conversion failed when converting from a character string to uniqueidentifier.")
	case "date", "datetime", "datetime2", "smalldatetime", "datetimeoffset", "time":
		return convertTime(v, t)
	}
	return nil, convErr(v, t)
}

func ratOf(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case int64:
		return new(big.Rat).SetInt64(x), true
	case bool:
		if x {
			return big.NewRat(1, 1), true
		}
		return new(big.Rat), true
	case decV:
		return x.r, true
	case decStr:
		return new(big.Rat).SetString(string(x))
	case float64:
		return new(big.Rat).SetFloat64(x), !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return new(big.Rat).SetFloat64(float64(x)), true
	case string:
		return new(big.Rat).SetString(strings.TrimSpace(x))
	}
	return nil, false
}

// roundRat rounds half away from zero to scale digits, as SQL Server does.
func roundRat(r *big.Rat, scale int) *big.Rat {
	m := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	x := new(big.Rat).Mul(r, new(big.Rat).SetInt(m))
	num, den := new(big.Int).Set(x.Num()), x.Denom()
	neg := num.Sign() < 0
	num.Abs(num)
	q, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	if new(big.Int).Mul(rem, big.NewInt(2)).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	return new(big.Rat).SetFrac(q, m)
}

func (d decV) text() string {
	if d.scale == 0 {
		return new(big.Int).Quo(d.r.Num(), d.r.Denom()).String()
	}
	return d.r.FloatString(d.scale)
}

func textOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case decStr:
		return string(x), true
	case decV:
		return x.text(), true
	case guidV:
		return guidTextFake(x), true
	}
	return "", false
}

// parseGUIDFake reads 'XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX': the first
// three groups are stored little-endian (the documented storage of
// uniqueidentifier, as .NET's Guid.ToByteArray lays it out).
func parseGUIDFake(s string) (guidV, bool) {
	var g guidV
	s = strings.Trim(strings.TrimSpace(s), "{}")
	parts := strings.Split(s, "-")
	if len(parts) != 5 || len(parts[0]) != 8 || len(parts[1]) != 4 || len(parts[2]) != 4 || len(parts[3]) != 4 || len(parts[4]) != 12 {
		return g, false
	}
	a, err1 := strconv.ParseUint(parts[0], 16, 32)
	b, err2 := strconv.ParseUint(parts[1], 16, 16)
	c, err3 := strconv.ParseUint(parts[2], 16, 16)
	if err1 != nil || err2 != nil || err3 != nil {
		return g, false
	}
	g[0], g[1], g[2], g[3] = byte(a), byte(a>>8), byte(a>>16), byte(a>>24)
	g[4], g[5] = byte(b), byte(b>>8)
	g[6], g[7] = byte(c), byte(c>>8)
	rest := parts[3] + parts[4]
	for i := 0; i < 8; i++ {
		v, err := strconv.ParseUint(rest[2*i:2*i+2], 16, 8)
		if err != nil {
			return g, false
		}
		g[8+i] = byte(v)
	}
	return g, true
}

func guidTextFake(g guidV) string {
	a := uint32(g[0]) | uint32(g[1])<<8 | uint32(g[2])<<16 | uint32(g[3])<<24
	b := uint16(g[4]) | uint16(g[5])<<8
	c := uint16(g[6]) | uint16(g[7])<<8
	return strings.ToUpper(fmt.Sprintf("%08x-%04x-%04x-%x-%x", a, b, c, g[8:10], g[10:]))
}

// convertTime reads dates and times from ISO 8601 text or another time
// value, rounding fractions to the type's digits (datetime to its 1/300 s
// ticks, smalldatetime to the minute).
func convertTime(v any, t ftype) (any, error) {
	var tm time.Time
	switch x := v.(type) {
	case time.Time:
		tm = x
	case todV:
		tm = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(x))
	case string:
		var ok bool
		tm, _, ok = parseTimeText(strings.TrimSpace(x))
		if !ok {
			return nil, sqlErr(241, "Conversion failed when converting date and/or time from character string.")
		}
	default:
		return nil, convErr(v, t)
	}
	round := func(tm time.Time, unit time.Duration) time.Time { return tm.Round(unit) }
	switch t.name {
	case "time":
		u := time.Duration(math.Pow10(9 - t.scale))
		h, m, s := tm.Clock()
		d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second + time.Duration(tm.Nanosecond())
		return todV(d.Round(u) % (24 * time.Hour)), nil
	case "date":
		y, m, d := tm.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
	case "datetimeoffset":
		return round(tm, time.Duration(math.Pow10(9-t.scale))), nil
	}
	y, mo, d := tm.Date()
	h, mi, s := tm.Clock()
	wall := time.Date(y, mo, d, h, mi, s, tm.Nanosecond(), time.UTC)
	switch t.name {
	case "datetime":
		// 1/300 s ticks: the value is the tick's exact time (truncated
		// to the nanosecond).
		day := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
		ticks := int64(math.Round(float64(wall.Sub(day)) * 300 / 1e9))
		return day.Add(time.Duration(ticks * 1e9 / 300)), nil
	case "smalldatetime":
		return round(wall, time.Minute), nil
	}
	return round(wall, time.Duration(math.Pow10(9-t.scale))), nil
}

func parseTimeText(s string) (time.Time, bool, bool) {
	for _, l := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05.999999999 Z07:00", "2006-01-02 15:04:05.999999999 Z07:00"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, true, true
		}
	}
	for _, l := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, true, true
		}
	}
	if t, err := time.Parse("15:04:05.999999999", s); err == nil {
		return time.Date(1900, 1, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC), false, true
	}
	return time.Time{}, false, false
}
