package binlog

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"

	"github.com/vstreamd/vstreamd/engines/internal/box"
	"github.com/vstreamd/vstreamd/engines/internal/sqltime"
)

// kind is how a column's values are represented (package engines lists the
// Go types).
type kind uint8

const (
	kOther kind = iota // bytes as the server sends them (spatial types …)
	kInt
	kUint
	kFloat
	kDouble
	kDecimal
	kDate
	kDatetime
	kTimestamp
	kTime
	kYear
	kChar
	kBinary
	kFixedBinary // BINARY(n): padded with zero bytes to n
	kEnum
	kSet
	kBit
	kJSON
)

func isCharacter(k kind) bool { return k == kChar || k == kEnum || k == kSet }

// column is one column as the engine decodes it.
type column struct {
	name       string
	columnType string // e.g. "bigint(20) unsigned", "enum('a','b')"
	dataType   string // e.g. "bigint", "enum"
	collation  string
	charset    string
	kind       kind
	size       int      // BINARY(n): n
	scale      int      // FLOAT(m,d), DOUBLE(m,d): d; -1 without
	bits       int      // integer width
	labels     []string // ENUM and SET members
	// decode turns the binlog bytes of a character column (in its
	// character set) into UTF-8; nil when they are UTF-8 already. (A
	// SELECT's text is in the connection's utf8mb4.)
	decode func([]byte) string
	// mysqlJSON: a MySQL JSON column, stored as binary JSON, which go-mysql
	// renders compact; MySQL's SELECT spaces it (see mysqlJSONText).
	mysqlJSON bool
}

// mysqlJSONText spaces a compact JSON text as MySQL prints JSON values:
// ", " between items and ": " after keys. go-mysql renders binary JSON with
// MySQL's key order (RenderJSONAsMySQLText); only the spaces differ.
func mysqlJSONText(b []byte) string {
	out := make([]byte, 0, len(b)+len(b)/4)
	inString, escaped := false, false
	for _, c := range b {
		out = append(out, c)
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c == ',' || c == ':'):
			out = append(out, ' ')
		}
	}
	return string(out)
}

// init derives the kind and details from the MySQL types.
func (c *column) init() {
	ct := strings.ToLower(c.columnType)
	unsigned := strings.Contains(ct, "unsigned")
	switch strings.ToLower(c.dataType) {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		c.kind = kInt
		c.bits = map[string]int{"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}[strings.ToLower(c.dataType)]
		if unsigned {
			c.kind = kUint
		}
	case "float":
		c.kind = kFloat
		c.scale = typeScale(ct)
	case "double", "real", "double precision":
		c.kind = kDouble
		c.scale = typeScale(ct)
	case "decimal", "numeric", "dec", "fixed":
		c.kind = kDecimal
	case "date":
		c.kind = kDate
	case "datetime":
		c.kind = kDatetime
	case "timestamp":
		c.kind = kTimestamp
	case "time":
		c.kind = kTime
	case "year":
		c.kind = kYear
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		c.kind = kChar
	case "binary":
		c.kind = kFixedBinary
		c.size = typeLength(ct)
	case "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		c.kind = kBinary
	case "enum":
		c.kind = kEnum
		c.labels = typeLabels(c.columnType)
	case "set":
		c.kind = kSet
		c.labels = typeLabels(c.columnType)
	case "bit":
		c.kind = kBit
	case "json":
		c.kind = kJSON
	default:
		c.kind = kOther
	}
	if c.kind == kChar {
		c.decode = decoderFor(c.charset)
	}
}

// typeLength reads n from "binary(n)".
func typeLength(ct string) int {
	i, j := strings.IndexByte(ct, '('), strings.IndexByte(ct, ')')
	if i < 0 || j < i {
		return 1
	}
	n, err := strconv.Atoi(ct[i+1 : j])
	if err != nil {
		return 1
	}
	return n
}

// typeScale reads d from "float(m,d)", or -1.
func typeScale(ct string) int {
	i, j := strings.IndexByte(ct, ','), strings.IndexByte(ct, ')')
	if i < 0 || j < i {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(ct[i+1 : j]))
	if err != nil {
		return -1
	}
	return n
}

// typeLabels reads the members of an ENUM or SET type as MySQL's metadata
// quotes them, a quote doubled and a backslash escaping the next character:
//
//	enum('a','b''c','d\\e')  →  a, b'c, d\e
func typeLabels(ct string) []string {
	i := strings.IndexByte(ct, '(')
	if i < 0 {
		return nil
	}
	body := ct[i+1:]
	var out []string
	for len(body) > 0 && body[0] == '\'' {
		var b strings.Builder
		j := 1
		for ; j < len(body); j++ {
			if body[j] == '\'' {
				if j+1 < len(body) && body[j+1] == '\'' {
					b.WriteByte('\'')
					j++
					continue
				}
				break
			}
			if body[j] == '\\' && j+1 < len(body) {
				j++
			}
			b.WriteByte(body[j])
		}
		out = append(out, b.String())
		body = strings.TrimLeft(body[min(j+1, len(body)):], ",")
	}
	return out
}

const (
	layoutDate     = "2006-01-02"
	layoutDatetime = "2006-01-02 15:04:05.999999999"
)

// parseTime reads a DATE, DATETIME or TIMESTAMP text as UTC. A date no
// time.Time holds, the zero date (0000-00-00) and a date with a zero month
// or day (2024-00-15, which MySQL accepts unless sql_mode has
// NO_ZERO_IN_DATE), stays text.
func parseTime(s string, k kind) (any, error) {
	if zeroInDate(s) {
		return s, nil
	}
	if t, ok := sqltime.Parse(s); ok {
		return t, nil
	}
	layout := layoutDatetime
	if k == kDate {
		layout = layoutDate
	}
	t, err := time.ParseInLocation(layout, s, time.UTC)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// zeroInDate reports whether a date text ("YYYY-MM-DD…") has a zero month
// or day.
func zeroInDate(s string) bool {
	return len(s) >= 10 && s[4] == '-' && s[7] == '-' && (s[5:7] == "00" || s[8:10] == "00")
}

// float32Text rounds a FLOAT as MySQL and MariaDB show it: to 6
// significant digits (FLT_DIG), or to d decimals for FLOAT(m,d), so the
// value VSTREAM prints is the one a SELECT prints. (The text of a SELECT,
// which the copy phase reads, is already rounded so.)
func float32Text(f float32, scale int) float32 {
	if math.IsInf(float64(f), 0) || math.IsNaN(float64(f)) {
		return f
	}
	text := strconv.FormatFloat(float64(f), 'g', 6, 32)
	if scale >= 0 {
		text = strconv.FormatFloat(float64(f), 'f', scale, 32)
	}
	r, err := strconv.ParseFloat(text, 32)
	if err != nil {
		return f
	}
	return float32(r)
}

// fromBinlog turns a value go-mysql decoded from a row event into the
// engine representation of the column.
func (c *column) fromBinlog(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.kind {
	case kInt:
		return toInt64(v)
	case kUint:
		return toUint64(v, c.bits)
	case kFloat:
		if f, ok := v.(float32); ok {
			return float32Text(f, c.scale), nil
		}
	case kDouble:
		if f, ok := v.(float64); ok {
			return f, nil
		}
	case kDecimal, kTime:
		if _, ok := v.(string); ok {
			return v, nil
		}
		return fmt.Sprint(v), nil
	case kDate, kDatetime, kTimestamp:
		switch x := v.(type) {
		case string:
			if t, ok := sqltime.Parse(x); ok {
				return t, nil
			}
			return parseTime(x, c.kind)
		case time.Time:
			if x.Location() == time.UTC {
				return v, nil
			}
			return x.UTC(), nil
		}
	case kYear:
		return toInt64(v)
	case kChar, kJSON:
		if _, ok := v.(string); ok && c.decode == nil && !c.mysqlJSON {
			return v, nil
		}
		b := bytesOf(v)
		if c.decode != nil {
			return c.decode(b), nil
		}
		if c.mysqlJSON {
			return mysqlJSONText(b), nil
		}
		return string(b), nil
	case kBinary, kOther:
		return append([]byte(nil), bytesOf(v)...), nil
	case kFixedBinary:
		return c.padded(bytesOf(v)), nil
	case kEnum:
		i, err := toInt64(v)
		if err != nil {
			return nil, err
		}
		return c.enumLabel(i), nil
	case kSet:
		bits, err := toInt64(v)
		if err != nil {
			return nil, err
		}
		return c.setText(bits), nil
	case kBit:
		i, err := toInt64(v)
		return uint64(i), err
	}
	return nil, fmt.Errorf("column %s (%s): unexpected binlog value %T", c.name, c.columnType, v)
}

// padded is a copy of a BINARY(n) value, padded with zero bytes to n (the
// binary log leaves trailing zero bytes out).
func (c *column) padded(b []byte) []byte {
	out := make([]byte, max(len(b), c.size))
	copy(out, b)
	return out
}

// enumLabel is the member of an ENUM at a 1-based index; the index 0 is
// the empty string MySQL stores for an invalid value.
func (c *column) enumLabel(i int64) string {
	if i <= 0 || i > int64(len(c.labels)) {
		return ""
	}
	return c.labels[i-1]
}

// setText is the text of a SET whose members bits marks.
func (c *column) setText(bits int64) string {
	var parts []string
	for i, l := range c.labels {
		if bits&(1<<uint(i)) != 0 {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, ",")
}

// fromText turns a value of the text protocol (a SELECT) into the engine
// representation; nil is NULL. The bytes are not kept.
func (c *column) fromText(b []byte) (any, error) { return c.textValue(b, "", nil) }

// textIsString reports whether the column's text values are strings in
// the engine representation (textValue keeps the caller's string).
func (c *column) textIsString() bool {
	switch c.kind {
	case kDecimal, kTime, kChar, kEnum, kSet, kJSON:
		return true
	}
	return false
}

// textValue is fromText with, for a column whose values are strings
// (textIsString), s = string(b) made by the caller (from a box.Arena, say);
// "" lets textValue make it. Strings and times are boxed by bx (nil: as a
// conversion does).
func (c *column) textValue(b []byte, s string, bx *box.Slab) (any, error) {
	if b == nil {
		return nil, nil
	}
	switch c.kind {
	case kInt, kYear:
		return strconv.ParseInt(string(b), 10, 64)
	case kUint:
		return strconv.ParseUint(string(b), 10, 64)
	case kFloat:
		f, err := strconv.ParseFloat(string(b), 32)
		return float32(f), err
	case kDouble:
		return strconv.ParseFloat(string(b), 64)
	case kDate, kDatetime, kTimestamp:
		if t, ok := sqltime.Parse(string(b)); ok {
			return bx.Time(t), nil
		}
		return parseTime(string(b), c.kind)
	case kBinary, kFixedBinary, kOther:
		return append([]byte(nil), b...), nil
	case kBit:
		var buf [8]byte
		if len(b) > 8 {
			return nil, fmt.Errorf("column %s: BIT value of %d bytes", c.name, len(b))
		}
		copy(buf[8-len(b):], b)
		return binary.BigEndian.Uint64(buf[:]), nil
	}
	if s == "" {
		s = string(b)
	}
	return bx.String(s), nil // DECIMAL, TIME, character types, ENUM, SET, JSON
}

// driverValue turns a value go-sql-driver parsed from a text-protocol
// result (it reads integers as int64 or uint64 and floating-point numbers as
// float32 or float64) into the engine representation.
func (c *column) driverValue(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64:
		switch c.kind {
		case kInt, kYear:
			return v, nil
		case kUint:
			if x >= 0 {
				return uint64(x), nil
			}
		}
	case uint64:
		if c.kind == kUint {
			return v, nil
		}
	case float32:
		if c.kind == kFloat {
			return v, nil
		}
	case float64:
		if c.kind == kDouble {
			return v, nil
		}
	case string:
		return c.textValue([]byte(x), x, nil)
	case time.Time:
		return c.fromBinlog(x)
	}
	return c.fromText([]byte(fmt.Sprint(v)))
}

func bytesOf(v any) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return []byte(fmt.Sprint(v))
}

// decoderFor returns the conversion of a character set's bytes to UTF-8,
// or nil for UTF-8 (utf8mb3, utf8mb4), ASCII, binary and character sets it
// does not know (whose bytes are passed on as they are).
func decoderFor(charset string) func([]byte) string {
	switch strings.ToLower(charset) {
	case "latin1":
		return latin1String
	case "", "utf8", "utf8mb3", "utf8mb4", "ascii", "binary":
		return nil
	}
	enc := charsets[strings.ToLower(charset)]
	if enc == nil {
		return nil
	}
	return func(b []byte) string {
		s, err := enc.NewDecoder().Bytes(b)
		if err != nil {
			return string(b)
		}
		return string(s)
	}
}

// charsets are the MySQL character sets with a decoder, by MySQL name
// (latin1 is latin1String).
var charsets = map[string]encoding.Encoding{
	"latin2": charmap.ISO8859_2, "latin5": charmap.ISO8859_9, "latin7": charmap.ISO8859_13,
	"greek": charmap.ISO8859_7, "hebrew": charmap.ISO8859_8,
	"cp1250": charmap.Windows1250, "cp1251": charmap.Windows1251, "cp1256": charmap.Windows1256, "cp1257": charmap.Windows1257,
	"cp850": charmap.CodePage850, "cp852": charmap.CodePage852, "cp866": charmap.CodePage866,
	"koi8r": charmap.KOI8R, "koi8u": charmap.KOI8U, "macroman": charmap.Macintosh,
	"gbk": simplifiedchinese.GBK, "gb2312": simplifiedchinese.GBK, "gb18030": simplifiedchinese.GB18030,
	"big5": traditionalchinese.Big5, "sjis": japanese.ShiftJIS, "cp932": japanese.ShiftJIS,
	"ujis": japanese.EUCJP, "eucjpms": japanese.EUCJP, "euckr": korean.EUCKR,
	"ucs2": unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), "utf16": unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM),
	"utf16le": unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "utf32": utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM),
}

// latin1String decodes MySQL's latin1, which is Windows-1252 with the five
// bytes that code page leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D)
// mapped to the C1 controls of the same number, as MySQL converts them.
func latin1String(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		if c < 0x80 {
			sb.WriteByte(c)
			continue
		}
		r := charmap.Windows1252.DecodeByte(c)
		if r == utf8.RuneError {
			r = rune(c)
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

func toInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		return int64(x), nil
	}
	return 0, fmt.Errorf("unexpected integer %T", v)
}

// toUint64 reads an unsigned column's value; without signedness metadata
// in the binlog go-mysql decodes it as signed, so it is reinterpreted at the
// column's width.
func toUint64(v any, bits int) (uint64, error) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint32:
		return uint64(x), nil
	case uint64:
		return x, nil
	}
	i, err := toInt64(v)
	if err != nil {
		return 0, err
	}
	if bits > 0 && bits < 64 {
		return uint64(i) & (1<<uint(bits) - 1), nil
	}
	return uint64(i), nil
}
