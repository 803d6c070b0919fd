package pgoutput

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/vstreamd/vstreamd/engines/internal/box"
	"github.com/vstreamd/vstreamd/engines/internal/sqltime"
)

// kind is how a column's values are decoded from PostgreSQL's text form.
type kind uint8

const (
	kText kind = iota // any type shown as its text (text, varchar, uuid, interval, inet …)
	kInt
	kFloat4
	kFloat8
	kNumeric
	kBool
	kBytea
	kDate
	kTime
	kTimestamp
	kTimestampTZ
	kJSON
	kEnum
	kArray
)

// Type OIDs of the built-in types the engine maps (pg_type.oid).
const (
	oidBool        = 16
	oidBytea       = 17
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidOid         = 26
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidBpchar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestampTZ = 1184
	oidInterval    = 1186
	oidTimeTZ      = 1266
	oidNumeric     = 1700
	oidUUID        = 2950
	oidJSONB       = 3802
)

// pgType is what the catalog says of a column's type.
type pgType struct {
	oid      uint32
	typmod   int32
	typtype  string // b base, e enum, d domain …
	category string // A array …
	elem     *pgType
	labels   []string // enum labels in sort order
}

// column is one column of a table, as the engine reads it.
type column struct {
	name     string
	typ      pgType
	kind     kind
	mysql    string // the MySQL type the catalog shows
	cText    bool   // a text key column whose order needs COLLATE "C"
	nullable bool
}

// mapType chooses the decoding kind and the MySQL type of a PostgreSQL type.
func mapType(t pgType) (kind, string) {
	if t.typtype == "e" {
		q := make([]string, len(t.labels))
		for i, l := range t.labels {
			q[i] = "'" + strings.ReplaceAll(l, "'", "''") + "'"
		}
		return kEnum, "enum(" + strings.Join(q, ",") + ")"
	}
	if t.category == "A" && t.elem != nil {
		return kArray, "json"
	}
	mod := t.typmod
	switch t.oid {
	case oidInt2:
		return kInt, "smallint"
	case oidInt4:
		return kInt, "int"
	case oidInt8:
		return kInt, "bigint"
	case oidOid:
		return kInt, "bigint"
	case oidFloat4:
		return kFloat4, "float"
	case oidFloat8:
		return kFloat8, "double"
	case oidNumeric:
		if mod >= 4 {
			p, s := (mod-4)>>16&0xffff, (mod-4)&0xffff
			if p <= 65 && s <= 30 && s <= p {
				return kNumeric, fmt.Sprintf("decimal(%d,%d)", p, s)
			}
		}
		return kText, "longtext" // unconstrained numeric: its exact text
	case oidBool:
		return kBool, "tinyint(1)"
	case oidVarchar:
		if mod >= 4 && mod-4 <= 16383 {
			return kText, fmt.Sprintf("varchar(%d)", mod-4)
		}
		return kText, "longtext"
	case oidBpchar:
		if mod >= 4 && mod-4 <= 255 {
			return kText, fmt.Sprintf("char(%d)", mod-4)
		}
		return kText, "longtext"
	case oidText:
		return kText, "longtext"
	case oidName:
		return kText, "varchar(63)"
	case oidBytea:
		return kBytea, "longblob"
	case oidDate:
		return kDate, "date"
	case oidTime:
		return kTime, fmt.Sprintf("time(%d)", precision(mod))
	case oidTimestamp:
		return kTimestamp, fmt.Sprintf("datetime(%d)", precision(mod))
	case oidTimestampTZ:
		return kTimestampTZ, fmt.Sprintf("datetime(%d)", precision(mod))
	case oidUUID:
		return kText, "char(36)"
	case oidJSON, oidJSONB:
		return kJSON, "json"
	case oidInterval, oidTimeTZ:
		return kText, "varchar(255)"
	}
	return kText, "longtext"
}

func precision(typmod int32) int32 {
	if typmod < 0 || typmod > 6 {
		return 6
	}
	return typmod
}

// decode turns a value's text form into the engine value of its column
// (see package engines).
func (c *column) decode(b []byte) (any, error) { return c.decodeBoxed(b, nil, nil) }

// decodeBoxed is decode with the strings of texts carved from text and
// the values boxed by bx (see decodeText).
func (c *column) decodeBoxed(b []byte, text *box.Arena, bx *box.Slab) (any, error) {
	v, err := decodeText(c.kind, &c.typ, b, text, bx)
	if err != nil {
		return nil, fmt.Errorf("column %s: value %.40q: %w", c.name, b, err)
	}
	return v, nil
}

// decodeText is decodeKind with the strings of texts carved from text and
// the values boxed by bx (nil: each allocated alone), for the kinds rows
// are mostly made of; the other kinds, and the values the short way does
// not read, take decodeKind (and its errors).
func decodeText(k kind, t *pgType, b []byte, text *box.Arena, bx *box.Slab) (any, error) {
	switch k {
	case kInt:
		if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			return bx.Int64(n), nil
		}
	case kFloat8:
		if f, err := strconv.ParseFloat(string(b), 64); err == nil {
			return bx.Float64(f), nil
		}
	case kNumeric:
		if string(b) != "NaN" {
			return bx.String(text.String(b)), nil
		}
	case kTime, kText, kJSON, kEnum:
		return bx.String(text.String(b)), nil
	case kDate, kTimestamp, kTimestampTZ:
		if t, ok := sqltime.Parse(string(b)); ok {
			return bx.Time(t), nil
		}
	}
	return decodeKind(k, t, b)
}

func decodeKind(k kind, t *pgType, b []byte) (any, error) {
	switch k {
	case kInt:
		return strconv.ParseInt(string(b), 10, 64)
	case kFloat4:
		f, err := strconv.ParseFloat(string(b), 32)
		return float32(f), err
	case kFloat8:
		return strconv.ParseFloat(string(b), 64)
	case kNumeric:
		if string(b) == "NaN" {
			return nil, fmt.Errorf("NaN has no MySQL DECIMAL value")
		}
		return string(b), nil
	case kBool:
		if len(b) == 1 && b[0] == 't' {
			return int64(1), nil
		}
		return int64(0), nil
	case kBytea:
		if !bytes.HasPrefix(b, []byte(`\x`)) {
			return nil, fmt.Errorf("bytea not in hex form (set bytea_output = hex)")
		}
		out := make([]byte, hex.DecodedLen(len(b)-2))
		_, err := hex.Decode(out, b[2:])
		return out, err
	case kDate:
		return parseTime(b, "2006-01-02")
	case kTimestamp:
		return parseTime(b, "2006-01-02 15:04:05.999999")
	case kTimestampTZ:
		return parseTime(b, "2006-01-02 15:04:05.999999Z07:00:00")
	case kTime, kText, kJSON, kEnum:
		return string(b), nil
	case kArray:
		return arrayJSON(t, b)
	}
	return string(b), nil
}

// parseTime reads a date or time stamp (DateStyle ISO; time stamps with a
// zone in any offset) as a time in UTC.
func parseTime(b []byte, layout string) (time.Time, error) {
	s := string(b)
	switch s {
	case "infinity", "-infinity":
		return time.Time{}, fmt.Errorf("%s has no MySQL value", s)
	}
	if strings.HasSuffix(s, " BC") {
		return time.Time{}, fmt.Errorf("dates before year 1 have no MySQL value")
	}
	if t, ok := sqltime.Parse(s); ok { // no zone: date, timestamp
		return t, nil
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		// Offsets come as +HH, +HH:MM or +HH:MM:SS.
		for _, l := range []string{"2006-01-02 15:04:05.999999Z07", "2006-01-02 15:04:05.999999Z07:00"} {
			if t2, err2 := time.Parse(l, s); err2 == nil {
				return t2.UTC(), nil
			}
		}
		return t, err
	}
	return t.UTC(), nil
}

// compareValues orders two values of a key column as the copy query's
// ORDER BY does (text in byte order: the query says COLLATE "C" where the
// column's collation would not).
func (c *column) compareValues(a, b any) (int, error) {
	switch x := a.(type) {
	case int64:
		return cmp3(x, b.(int64)), nil
	case float32:
		return cmp3(x, b.(float32)), nil
	case float64:
		return cmp3(x, b.(float64)), nil
	case time.Time:
		return x.Compare(b.(time.Time)), nil
	case []byte:
		return bytes.Compare(x, b.([]byte)), nil
	case string:
		y := b.(string)
		switch {
		case c.kind == kNumeric || c.typ.oid == oidNumeric: // unconstrained numeric is text (kText)
			if n, ok := compareNumeric(x, y); ok {
				return n, nil
			}
			return 0, fmt.Errorf("column %s: cannot compare %q and %q", c.name, x, y)
		case c.typ.oid == oidInterval:
			sx, ok1 := intervalSpan(x)
			sy, ok2 := intervalSpan(y)
			if !ok1 || !ok2 {
				return 0, fmt.Errorf("column %s: cannot compare intervals %q and %q", c.name, x, y)
			}
			return sx.Cmp(sy), nil
		case c.kind == kEnum:
			return cmp3(labelIndex(c.typ.labels, x), labelIndex(c.typ.labels, y)), nil
		}
		return strings.Compare(x, y), nil
	}
	return 0, fmt.Errorf("column %s: cannot order values of type %T", c.name, a)
}

// compareNumeric orders two numeric texts as PostgreSQL does: -Infinity,
// the numbers, Infinity, NaN.
func compareNumeric(x, y string) (int, bool) {
	rank := func(s string) int {
		switch s {
		case "-Infinity":
			return 0
		case "Infinity":
			return 2
		case "NaN":
			return 3
		}
		return 1
	}
	if rx, ry := rank(x), rank(y); rx != 1 || ry != 1 {
		return cmp3(rx, ry), true
	}
	nx, ok1 := new(big.Rat).SetString(x)
	ny, ok2 := new(big.Rat).SetString(y)
	if !ok1 || !ok2 {
		return 0, false
	}
	return nx.Cmp(ny), true
}

// intervalSpan reads an interval's text (IntervalStyle postgres: "1 year
// 2 mons -3 days +04:05:06.5") as PostgreSQL orders intervals: months of
// 30 days and days of 24 hours, in microseconds.
func intervalSpan(s string) (*big.Int, bool) {
	f := strings.Fields(s)
	var months, days, micros int64
	for i := 0; i < len(f); i++ {
		if t := f[i]; strings.Contains(t, ":") { // [+-]hours:minutes:seconds[.fraction]
			neg := strings.HasPrefix(t, "-")
			hms := strings.Split(strings.TrimLeft(t, "+-"), ":")
			if len(hms) != 3 {
				return nil, false
			}
			sec, frac, _ := strings.Cut(hms[2], ".")
			h, err1 := strconv.ParseUint(hms[0], 10, 63)
			m, err2 := strconv.ParseUint(hms[1], 10, 63)
			sc, err3 := strconv.ParseUint(sec, 10, 63)
			var us uint64
			var err4 error
			if frac != "" {
				us, err4 = strconv.ParseUint((frac + "000000")[:6], 10, 63)
			}
			if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
				return nil, false
			}
			v := int64(((h*60+m)*60+sc)*1e6 + us)
			if neg {
				v = -v
			}
			micros += v
			continue
		}
		// A count and its unit.
		if i+1 >= len(f) {
			return nil, false
		}
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return nil, false
		}
		i++
		switch unit := f[i]; {
		case strings.HasPrefix(unit, "year"):
			months += 12 * n
		case strings.HasPrefix(unit, "mon"):
			months += n
		case strings.HasPrefix(unit, "day"):
			days += n
		default:
			return nil, false
		}
	}
	span := big.NewInt(30*months + days)
	span.Mul(span, big.NewInt(86_400_000_000))
	return span.Add(span, big.NewInt(micros)), true
}

func labelIndex(labels []string, l string) int {
	for i, x := range labels {
		if x == l {
			return i
		}
	}
	return math.MaxInt
}

func cmp3[T int64 | float32 | float64 | int](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
