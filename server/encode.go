package server

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/vstreamd/vstreamd/catalog"
)

// encoder writes one engine value of a column as its text on the wire,
// into buf.
type encoder func(ctx *sql.Context, v any, buf *sql.ByteBuffer) (sqltypes.Value, error)

// encoderFor returns the encoder of the table column i of entry.
//
// Any value can take the general way: the catalog converts it to the
// column type's value and the type writes it, as for a SELECT. The values
// that dominate a stream take a short way with the same text: integers,
// decimal texts, UTF-8 strings in a UTF-8 result, bytes, and times.
func encoderFor(ctx *sql.Context, entry *catalog.Entry, i int) encoder {
	typ := entry.Schema[i].Type
	wire := typ.Type()
	general := func(ctx *sql.Context, v any, buf *sql.ByteBuffer) (sqltypes.Value, error) {
		if v == nil {
			return sqltypes.NULL, nil
		}
		x, err := entry.Value(ctx, i, v)
		if err != nil || x == nil {
			return sqltypes.NULL, err
		}
		out, err := typ.SQL(ctx, buf.Get(), x)
		return put(buf, out, err)
	}
	if entry.Native() {
		return general
	}
	switch {
	case types.IsSigned(typ):
		return func(ctx *sql.Context, v any, buf *sql.ByteBuffer) (sqltypes.Value, error) {
			if n, ok := v.(int64); ok {
				return put(buf, sqltypes.MakeTrusted(wire, strconv.AppendInt(buf.Get(), n, 10)), nil)
			}
			return general(ctx, v, buf)
		}
	case types.IsUnsigned(typ):
		return func(ctx *sql.Context, v any, buf *sql.ByteBuffer) (sqltypes.Value, error) {
			if n, ok := v.(uint64); ok {
				return put(buf, sqltypes.MakeTrusted(wire, strconv.AppendUint(buf.Get(), n, 10)), nil)
			}
			return general(ctx, v, buf)
		}
	case types.IsDecimal(typ):
		scale := int(typ.(sql.DecimalType).Scale())
		return func(ctx *sql.Context, v any, buf *sql.ByteBuffer) (sqltypes.Value, error) {
			if s, ok := v.(string); ok && plainDecimal(s, scale) {
				if negativeZero(s) {
					s = s[1:]
				}
				return put(buf, sqltypes.MakeTrusted(wire, append(buf.Get(), s...)), nil)
			}
			return general(ctx, v, buf)
		}
	case types.IsTime(typ): // DATE, DATETIME, TIMESTAMP
		precision := -1 // DATE
		if wire != sqltypes.Date {
			precision = typ.(sql.DatetimeType).Precision()
		}
		return func(ctx *sql.Context, v any, buf *sql.ByteBuffer) (sqltypes.Value, error) {
			if t, ok := v.(time.Time); ok && t.Location() == time.UTC && !t.Equal(types.ZeroTime) {
				if b, ok := appendTime(buf.Get(), t, precision); ok {
					return put(buf, sqltypes.MakeTrusted(wire, b), nil)
				}
			}
			return general(ctx, v, buf)
		}
	case types.IsBinaryType(typ):
		if wire == sqltypes.Binary {
			return general // padded to its length by the type
		}
		return func(ctx *sql.Context, v any, buf *sql.ByteBuffer) (sqltypes.Value, error) {
			if b, ok := v.([]byte); ok {
				return put(buf, sqltypes.MakeTrusted(wire, append(buf.Get(), b...)), nil)
			}
			return general(ctx, v, buf)
		}
	case types.IsText(typ) && utf8Results(ctx, typ):
		return func(ctx *sql.Context, v any, buf *sql.ByteBuffer) (sqltypes.Value, error) {
			if s, ok := v.(string); ok && utf8.ValidString(s) {
				return put(buf, sqltypes.MakeTrusted(wire, append(buf.Get(), s...)), nil)
			}
			return general(ctx, v, buf)
		}
	}
	return general
}

// put accounts for a value written at buf.Get().
func put(buf *sql.ByteBuffer, v sqltypes.Value, err error) (sqltypes.Value, error) {
	if err != nil {
		return sqltypes.Value{}, err
	}
	buf.Grow(v.Len())
	return v, nil
}

// utf8Results reports whether a string column's text goes to the client
// unchanged: the result character set (or, without one, the column's) is
// utf8mb4.
func utf8Results(ctx *sql.Context, typ sql.Type) bool {
	cs := ctx.GetCharacterSetResults()
	if cs == sql.CharacterSet_Unspecified || cs == sql.CharacterSet_binary {
		ct, ok := typ.(sql.TypeWithCollation)
		if !ok {
			return false
		}
		cs = ct.Collation().CharacterSet()
	}
	return cs == sql.CharacterSet_utf8mb4
}

// plainDecimal reports whether s is a decimal text as MySQL shows a value
// of scale digits: an optional '-', an integer part without leading zeros,
// and exactly scale fractional digits.
func plainDecimal(s string, scale int) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	dot := len(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' && dot == len(s) {
			dot = i
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	if dot == 0 || (dot > 1 && s[0] == '0') {
		return false
	}
	if scale == 0 {
		return dot == len(s)
	}
	return len(s)-dot-1 == scale
}

// negativeZero reports whether a decimal text is a zero with a minus sign.
func negativeZero(s string) bool {
	if s == "" || s[0] != '-' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] != '0' && s[i] != '.' {
			return false
		}
	}
	return true
}

// appendTime appends a time as MySQL prints a DATE (precision -1) or a
// DATETIME or TIMESTAMP of precision fractional digits (truncated: the
// source's values have no more), and false without appending when its year
// has not four digits.
func appendTime(b []byte, t time.Time, precision int) ([]byte, bool) {
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return b, false
	}
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10))
	if precision < 0 {
		return b, true
	}
	h, mi, s := t.Clock()
	b = append(b, ' ', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+s/10), byte('0'+s%10))
	if precision > 0 {
		b = append(b, '.')
		ns, div := t.Nanosecond(), 100000000
		for i := 0; i < precision; i++ {
			b = append(b, byte('0'+ns/div%10))
			div /= 10
		}
	}
	return b, true
}
