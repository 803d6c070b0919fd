package mssqlcdc

import (
	"fmt"
	"strings"
	"time"
)

// kind is how a column's values are read from the driver and ordered.
type kind uint8

const (
	kOther          kind = iota // shown as text, never part of a key
	kInt                        // smallint, int, bigint → int64
	kUint                       // tinyint (0…255) → uint64
	kBit                        // bit → int64 1/0
	kDecimal                    // decimal, numeric, money, smallmoney → exact text
	kFloat32                    // real
	kFloat64                    // float
	kDate                       // date
	kDateTime                   // datetime, datetime2, smalldatetime (no zone)
	kDateTimeOffset             // datetimeoffset → UTC
	kTime                       // time → "HH:MM:SS[.fffffff]"
	kString                     // char, varchar, text, nchar, nvarchar, ntext, xml
	kBinary                     // binary, varbinary, image, rowversion, CLR types' bytes
	kGUID                       // uniqueidentifier → "6F9619FF-8B86-D011-B42D-00C04FC964FF"
)

// sqlType is a column's type as sys.columns describes it.
type sqlType struct {
	name      string // base type, lower case: TYPE_NAME(system_type_id)
	maxLength int    // bytes; -1 for (max)
	precision int
	scale     int
	collation string
}

// column is one streamed column of a table.
type column struct {
	id       int // sys.columns.column_id
	name     string
	typ      sqlType
	kind     kind
	mysql    string // the MySQL type the catalog shows
	nullable bool
	// key columns keep every digit of their values (datetime2(7) has a
	// digit MySQL does not show) so that copy chunks resume exactly.
	key bool
}

// mapType chooses the kind and the MySQL type of a SQL Server type.
func mapType(t sqlType) (kind, string) {
	chars := func(perChar int) (int, bool) { // length in characters; false for (max)
		if t.maxLength < 0 {
			return 0, false
		}
		return t.maxLength / perChar, true
	}
	frac := min(max(t.scale, 0), 6)
	switch t.name {
	case "tinyint":
		return kUint, "tinyint unsigned"
	case "smallint", "int", "bigint":
		return kInt, t.name
	case "bit":
		return kBit, "tinyint(1)"
	case "decimal", "numeric":
		if t.scale <= 30 {
			return kDecimal, fmt.Sprintf("decimal(%d,%d)", t.precision, t.scale)
		}
		return kDecimal, fmt.Sprintf("varchar(%d)", t.precision+2) // MySQL's scale stops at 30
	case "money":
		return kDecimal, "decimal(19,4)"
	case "smallmoney":
		return kDecimal, "decimal(10,4)"
	case "real":
		return kFloat32, "float"
	case "float":
		if t.precision > 0 && t.precision <= 24 {
			return kFloat32, "float"
		}
		return kFloat64, "double"
	case "date":
		return kDate, "date"
	case "datetime":
		return kDateTime, "datetime(3)"
	case "smalldatetime":
		return kDateTime, "datetime"
	case "datetime2":
		return kDateTime, fmt.Sprintf("datetime(%d)", frac)
	case "datetimeoffset":
		return kDateTimeOffset, fmt.Sprintf("datetime(%d)", frac)
	case "time":
		return kTime, fmt.Sprintf("time(%d)", frac)
	case "char", "nchar", "varchar", "nvarchar":
		per := 1
		if t.name[0] == 'n' {
			per = 2
		}
		n, ok := chars(per)
		switch {
		case !ok:
			return kString, "longtext"
		case strings.HasSuffix(t.name, "char") && !strings.Contains(t.name, "var") && n <= 255:
			return kString, fmt.Sprintf("char(%d)", n)
		}
		return kString, fmt.Sprintf("varchar(%d)", n)
	case "text", "ntext", "xml":
		return kString, "longtext"
	case "binary", "varbinary":
		n, ok := chars(1)
		switch {
		case !ok:
			return kBinary, "longblob"
		case t.name == "binary" && n <= 255:
			return kBinary, fmt.Sprintf("binary(%d)", n)
		}
		return kBinary, fmt.Sprintf("varbinary(%d)", n)
	case "image", "geometry", "geography", "hierarchyid":
		return kBinary, "longblob"
	case "timestamp", "rowversion":
		return kBinary, "binary(8)"
	case "uniqueidentifier":
		return kGUID, "char(36)"
	}
	return kOther, "longtext"
}

// comparable reports whether SQL Server can order the type (an ORDER BY on
// text, ntext, image, xml or the spatial types is an error), and so whether
// it can be part of a key.
func (c *column) comparable() bool {
	switch c.typ.name {
	case "text", "ntext", "image", "xml", "geometry", "geography", "sql_variant":
		return false
	}
	return c.kind != kOther
}

// lob reports whether the change functions may leave the column NULL in an
// update's before image when the update did not change it (varchar(max),
// nvarchar(max), varbinary(max), text, ntext, image, xml).
func (c *column) lob() bool {
	switch c.typ.name {
	case "text", "ntext", "image", "xml":
		return true
	case "varchar", "nvarchar", "varbinary":
		return c.typ.maxLength < 0
	}
	return false
}

// sqlText is the type as T-SQL writes it, for CAST.
func (t sqlType) sqlText() string {
	length := func(per int) string {
		if t.maxLength < 0 {
			return "max"
		}
		return fmt.Sprint(t.maxLength / per)
	}
	switch t.name {
	case "char", "varchar", "binary", "varbinary":
		return t.name + "(" + length(1) + ")"
	case "nchar", "nvarchar":
		return t.name + "(" + length(2) + ")"
	case "decimal", "numeric":
		return fmt.Sprintf("%s(%d,%d)", t.name, t.precision, t.scale)
	case "datetime2", "datetimeoffset", "time":
		return fmt.Sprintf("%s(%d)", t.name, t.scale)
	case "float":
		return fmt.Sprintf("float(%d)", max(t.precision, 1))
	case "timestamp", "rowversion":
		return "binary(8)" // no CAST to rowversion; it compares as its 8 bytes
	}
	return t.name
}

// decode turns a value as go-mssqldb returns it into the engine value of
// the column (see package engines).
func (c *column) decode(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	out, err := decodeKind(c, v)
	if err != nil {
		return nil, fmt.Errorf("column %s (%s): value %v (%T): %w", c.name, c.typ.sqlText(), v, v, err)
	}
	return out, nil
}

func decodeKind(c *column, v any) (any, error) {
	switch c.kind {
	case kInt:
		if n, ok := v.(int64); ok {
			return n, nil
		}
	case kUint:
		if n, ok := v.(int64); ok && n >= 0 {
			return uint64(n), nil
		}
	case kBit:
		if b, ok := v.(bool); ok {
			if b {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case kDecimal:
		switch x := v.(type) {
		case []byte:
			return string(x), nil
		case string:
			return x, nil
		}
	case kFloat32:
		if f, ok := v.(float64); ok {
			return float32(f), nil
		}
	case kFloat64:
		if f, ok := v.(float64); ok {
			return f, nil
		}
	case kDate:
		if t, ok := v.(time.Time); ok {
			y, m, d := t.Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
		}
	case kDateTime:
		if t, ok := v.(time.Time); ok {
			y, m, d := t.Date()
			h, mi, s := t.Clock()
			return c.precise(time.Date(y, m, d, h, mi, s, t.Nanosecond(), time.UTC)), nil
		}
	case kDateTimeOffset:
		if t, ok := v.(time.Time); ok {
			return c.precise(t.UTC()), nil
		}
	case kTime:
		if t, ok := v.(time.Time); ok {
			return c.timeText(t), nil
		}
	case kString:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case kBinary:
		if b, ok := v.([]byte); ok {
			return b, nil
		}
	case kGUID:
		if b, ok := v.([]byte); ok && len(b) == 16 {
			return guidText(b), nil
		}
	case kOther:
		switch x := v.(type) {
		case []byte:
			return fmt.Sprintf("0x%X", x), nil
		case time.Time:
			return x.Format("2006-01-02 15:04:05.9999999Z07:00"), nil
		}
		return fmt.Sprint(v), nil
	}
	return nil, fmt.Errorf("not a value of this type")
}

// precise keeps every digit of a key column's time; other columns keep the
// six MySQL shows (truncated, as SQL Server's own conversions to fewer
// digits would not do, but as every path of vstreamd then shows the same).
func (c *column) precise(t time.Time) time.Time {
	if c.key {
		return t
	}
	return t.Truncate(time.Microsecond)
}

// timeText prints a time of day with the column's fractional digits (at
// most six outside keys).
func (c *column) timeText(t time.Time) string {
	h, m, s := t.Clock()
	out := fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	digits := min(max(c.typ.scale, 0), 7)
	if !c.key {
		digits = min(digits, 6)
	}
	if digits > 0 {
		out += "." + fmt.Sprintf("%09d", t.Nanosecond())[:digits]
	}
	return out
}

// guidText prints a uniqueidentifier as SQL Server does: its first three
// groups are stored little-endian.
func guidText(b []byte) string {
	return fmt.Sprintf("%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
		b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
}

// guidBytes reads guidText's form back into the stored byte order.
func guidBytes(s string) ([]byte, bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, false
	}
	var raw [16]byte
	hexs := s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	for i := range raw {
		var b byte
		if _, err := fmt.Sscanf(hexs[2*i:2*i+2], "%02X", &b); err != nil {
			return nil, false
		}
		raw[i] = b
	}
	return []byte{raw[3], raw[2], raw[1], raw[0], raw[5], raw[4], raw[7], raw[6],
		raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15]}, true
}
