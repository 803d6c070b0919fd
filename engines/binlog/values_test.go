package binlog

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// col builds a column as readTable does from information_schema.
func col(dataType, columnType, charset string) column {
	c := column{name: "c", dataType: dataType, columnType: columnType, charset: charset}
	c.init()
	return c
}

func TestValueColumnInit(t *testing.T) {
	for _, tc := range []struct {
		dataType, columnType, charset string
		kind                          kind
		bits, size, scale             int
		labels                        []string
		decodes                       bool
	}{
		{"tinyint", "tinyint(4)", "", kInt, 8, 0, 0, nil, false},
		{"tinyint", "tinyint(3) unsigned", "", kUint, 8, 0, 0, nil, false},
		{"smallint", "smallint(5) unsigned", "", kUint, 16, 0, 0, nil, false},
		{"mediumint", "mediumint(8) unsigned", "", kUint, 24, 0, 0, nil, false},
		{"mediumint", "mediumint(9)", "", kInt, 24, 0, 0, nil, false},
		{"int", "int(10) unsigned zerofill", "", kUint, 32, 0, 0, nil, false},
		{"INT", "INT", "", kInt, 32, 0, 0, nil, false},
		{"bigint", "bigint(20) unsigned", "", kUint, 64, 0, 0, nil, false},
		{"float", "float", "", kFloat, 0, 0, -1, nil, false},
		{"float", "float(7,3)", "", kFloat, 0, 0, 3, nil, false},
		{"double", "double(10, 4)", "", kDouble, 0, 0, 4, nil, false},
		{"decimal", "decimal(65,30) unsigned", "", kDecimal, 0, 0, 0, nil, false},
		{"date", "date", "", kDate, 0, 0, 0, nil, false},
		{"datetime", "datetime(6)", "", kDatetime, 0, 0, 0, nil, false},
		{"timestamp", "timestamp(3)", "", kTimestamp, 0, 0, 0, nil, false},
		{"time", "time(6)", "", kTime, 0, 0, 0, nil, false},
		{"year", "year(4)", "", kYear, 0, 0, 0, nil, false},
		{"varchar", "varchar(20)", "utf8mb4", kChar, 0, 0, 0, nil, false},
		{"longtext", "longtext", "utf8mb4", kChar, 0, 0, 0, nil, false}, // MariaDB's JSON
		{"char", "char(5)", "latin1", kChar, 0, 0, 0, nil, true},
		{"text", "text", "cp1251", kChar, 0, 0, 0, nil, true},
		{"varchar", "varchar(3)", "utf8mb3", kChar, 0, 0, 0, nil, false},
		{"varchar", "varchar(3)", "armscii8", kChar, 0, 0, 0, nil, false}, // unknown: bytes as they are
		{"binary", "binary(16)", "", kFixedBinary, 0, 16, 0, nil, false},
		{"varbinary", "varbinary(4)", "", kBinary, 0, 0, 0, nil, false},
		{"longblob", "longblob", "", kBinary, 0, 0, 0, nil, false},
		{"enum", "enum('a','b''c')", "utf8mb4", kEnum, 0, 0, 0, []string{"a", "b'c"}, false},
		{"set", "set('x','y')", "latin1", kSet, 0, 0, 0, []string{"x", "y"}, false},
		{"bit", "bit(64)", "", kBit, 0, 0, 0, nil, false},
		{"json", "json", "", kJSON, 0, 0, 0, nil, false},
		{"geometry", "geometry", "", kOther, 0, 0, 0, nil, false},
	} {
		t.Run(tc.columnType+" "+tc.charset, func(t *testing.T) {
			c := col(tc.dataType, tc.columnType, tc.charset)
			if c.kind != tc.kind || c.bits != tc.bits || c.size != tc.size || !reflect.DeepEqual(c.labels, tc.labels) || (c.decode != nil) != tc.decodes {
				t.Fatalf("kind %d bits %d size %d labels %q decodes %v; want kind %d bits %d size %d labels %q decodes %v",
					c.kind, c.bits, c.size, c.labels, c.decode != nil, tc.kind, tc.bits, tc.size, tc.labels, tc.decodes)
			}
			if (c.kind == kFloat || c.kind == kDouble) && c.scale != tc.scale {
				t.Fatalf("scale %d, want %d", c.scale, tc.scale)
			}
		})
	}
}

func TestValueTypeLabels(t *testing.T) {
	for _, tc := range []struct {
		columnType string
		want       []string
	}{
		{"enum('a','b')", []string{"a", "b"}},
		{"ENUM('a')", []string{"a"}},
		{"enum('')", []string{""}},
		{"enum('','x')", []string{"", "x"}},
		{"enum('it''s','''','''''')", []string{"it's", "'", "''"}},
		{`enum('back\\slash','a\'b')`, []string{`back\slash`, "a'b"}},
		{"enum('a,b','(c)','d)')", []string{"a,b", "(c)", "d)"}},
		{"set('é','😀','c d')", []string{"é", "😀", "c d"}},
		{"set('x','y') character set latin1", []string{"x", "y"}},
		{"enum", nil},
		{"enum()", nil},
	} {
		t.Run(tc.columnType, func(t *testing.T) {
			if got := typeLabels(tc.columnType); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("typeLabels(%q) = %q, want %q", tc.columnType, got, tc.want)
			}
		})
	}
}

func TestValueTypeLengthAndScale(t *testing.T) {
	for _, tc := range []struct {
		columnType    string
		length, scale int
	}{
		{"binary(16)", 16, -1},
		{"binary", 1, -1},
		{"binary(x)", 1, -1},
		{"float(7,3)", 1, 3}, // typeLength is BINARY's
		{"double(10, 4)", 1, 4},
		{"double", 1, -1},
		{"float(12)", 12, -1},
	} {
		if l, s := typeLength(tc.columnType), typeScale(tc.columnType); l != tc.length || s != tc.scale {
			t.Errorf("%s: length %d scale %d, want %d %d", tc.columnType, l, s, tc.length, tc.scale)
		}
	}
}

// show prints an engine value with its Go type, so that a test tells
// int64(1) from uint64(1) and -0 from 0.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case []byte:
		return fmt.Sprintf("[]byte %q", x)
	case string:
		return fmt.Sprintf("string %q", x)
	case time.Time:
		return "time.Time " + x.Format("2006-01-02 15:04:05.999999999 MST")
	case float32:
		if x == 0 && math.Signbit(float64(x)) {
			return "float32 -0"
		}
	case float64:
		if x == 0 && math.Signbit(x) {
			return "float64 -0"
		}
	}
	return fmt.Sprintf("%T %v", v, v)
}

var (
	utc  = time.UTC
	cest = time.FixedZone("CEST", 2*3600)
)

// TestValueFromBinlog: the values go-mysql decodes from row events (its Go
// types, and without signedness metadata signed integers for unsigned
// columns) become the engine's values.
func TestValueFromBinlog(t *testing.T) {
	enum := col("enum", "enum('a','b','😀')", "utf8mb4")
	set := col("set", "set('a','b','c')", "utf8mb4")
	set64 := col("set", "set("+members(64)+")", "utf8mb4")
	for _, tc := range []struct {
		name string
		c    column
		in   any
		want string // show of the value, or "error …"
	}{
		{"NULL", col("int", "int(11)", ""), nil, "nil"},
		{"tinyint", col("tinyint", "tinyint(4)", ""), int8(-128), "int64 -128"},
		{"smallint", col("smallint", "smallint(6)", ""), int16(32767), "int64 32767"},
		{"mediumint", col("mediumint", "mediumint(9)", ""), int32(-8388608), "int64 -8388608"},
		{"int", col("int", "int(11)", ""), int32(-2147483648), "int64 -2147483648"},
		{"bigint", col("bigint", "bigint(20)", ""), int64(math.MinInt64), "int64 -9223372036854775808"},
		{"int from int", col("int", "int(11)", ""), 7, "int64 7"},
		{"int from a string", col("int", "int(11)", ""), "7", "error"},

		// With signedness metadata go-mysql decodes unsigned columns as
		// unsigned; without it (binlog_row_metadata NO_LOG) as signed
		// values of the column's width, which are reinterpreted.
		{"tinyint unsigned", col("tinyint", "tinyint(3) unsigned", ""), uint8(255), "uint64 255"},
		{"tinyint unsigned as signed", col("tinyint", "tinyint(3) unsigned", ""), int8(-1), "uint64 255"},
		{"tinyint unsigned as signed 128", col("tinyint", "tinyint(3) unsigned", ""), int8(-128), "uint64 128"},
		{"tinyint unsigned as signed 127", col("tinyint", "tinyint(3) unsigned", ""), int8(127), "uint64 127"},
		{"smallint unsigned", col("smallint", "smallint(5) unsigned", ""), uint16(65535), "uint64 65535"},
		{"smallint unsigned as signed", col("smallint", "smallint(5) unsigned", ""), int16(-1), "uint64 65535"},
		{"smallint unsigned as signed 32768", col("smallint", "smallint(5) unsigned", ""), int16(-32768), "uint64 32768"},
		{"mediumint unsigned", col("mediumint", "mediumint(8) unsigned", ""), uint32(16777215), "uint64 16777215"},
		{"mediumint unsigned as signed", col("mediumint", "mediumint(8) unsigned", ""), int32(-1), "uint64 16777215"},
		{"mediumint unsigned as signed 8388608", col("mediumint", "mediumint(8) unsigned", ""), int32(-8388608), "uint64 8388608"},
		{"mediumint unsigned as signed 8388607", col("mediumint", "mediumint(8) unsigned", ""), int32(8388607), "uint64 8388607"},
		{"int unsigned", col("int", "int(10) unsigned", ""), uint32(4294967295), "uint64 4294967295"},
		{"int unsigned as signed", col("int", "int(10) unsigned", ""), int32(-1), "uint64 4294967295"},
		{"int unsigned as signed 2147483648", col("int", "int(10) unsigned", ""), int32(math.MinInt32), "uint64 2147483648"},
		{"bigint unsigned", col("bigint", "bigint(20) unsigned", ""), uint64(math.MaxUint64), "uint64 18446744073709551615"},
		{"bigint unsigned as signed", col("bigint", "bigint(20) unsigned", ""), int64(-1), "uint64 18446744073709551615"},
		{"bigint unsigned as signed 2^63", col("bigint", "bigint(20) unsigned", ""), int64(math.MinInt64), "uint64 9223372036854775808"},
		{"unsigned from a string", col("int", "int(10) unsigned", ""), "1", "error"},

		// FLOAT is rounded as a SELECT prints it: 6 significant digits, or
		// FLOAT(m,d)'s d decimals.
		{"float", col("float", "float", ""), float32(1.5), "float32 1.5"},
		{"float 6 digits", col("float", "float", ""), float32(123456789), "float32 1.23457e+08"},
		{"float 6 digits small", col("float", "float", ""), float32(0.1234567), "float32 0.123457"},
		{"float max", col("float", "float", ""), float32(math.MaxFloat32), "float32 3.40282e+38"},
		{"float min normal", col("float", "float", ""), float32(1.1754944e-38), "float32 1.17549e-38"},
		{"float denormal", col("float", "float", ""), float32(1e-45), "float32 1e-45"},
		{"float -0", col("float", "float", ""), float32(math.Copysign(0, -1)), "float32 -0"},
		{"float inf", col("float", "float", ""), float32(math.Inf(1)), "float32 +Inf"},
		{"float(7,3)", col("float", "float(7,3)", ""), float32(-1234.567), "float32 -1234.567"},
		{"float(7,3) short", col("float", "float(7,3)", ""), float32(2.5), "float32 2.5"},
		{"float(7,3) 1.001", col("float", "float(7,3)", ""), float32(1.001), "float32 1.001"},
		{"float from float64", col("float", "float", ""), float64(1.5), "error"},
		{"double", col("double", "double", ""), 0.30000000000000004, "float64 0.30000000000000004"},
		{"double max", col("double", "double", ""), math.MaxFloat64, "float64 1.7976931348623157e+308"},
		{"double min", col("double", "double", ""), 5e-324, "float64 5e-324"},
		{"double -0", col("double", "double", ""), math.Copysign(0, -1), "float64 -0"},
		{"double from float32", col("double", "double", ""), float32(1), "error"},

		{"decimal", col("decimal", "decimal(10,3)", ""), "-0.001", `string "-0.001"`},
		{"decimal 65,30", col("decimal", "decimal(65,30)", ""), "99999999999999999999999999999999999.999999999999999999999999999999",
			`string "99999999999999999999999999999999999.999999999999999999999999999999"`},

		{"date", col("date", "date", ""), "2024-02-29", "time.Time 2024-02-29 00:00:00 UTC"},
		{"date zero", col("date", "date", ""), "0000-00-00", `string "0000-00-00"`},
		{"date zero month", col("date", "date", ""), "2024-00-15", `string "2024-00-15"`},
		{"date zero day", col("date", "date", ""), "2024-05-00", `string "2024-05-00"`},
		{"date year 0", col("date", "date", ""), "0000-01-01", "time.Time 0000-01-01 00:00:00 UTC"},
		{"datetime", col("datetime", "datetime", ""), "9999-12-31 23:59:59", "time.Time 9999-12-31 23:59:59 UTC"},
		{"datetime(6)", col("datetime", "datetime(6)", ""), "2024-01-02 03:04:05.000001", "time.Time 2024-01-02 03:04:05.000001 UTC"},
		{"datetime(2) zero", col("datetime", "datetime(2)", ""), "0000-00-00 00:00:00.00", `string "0000-00-00 00:00:00.00"`},
		{"datetime zero in date", col("datetime", "datetime", ""), "2024-00-00 10:00:00", `string "2024-00-00 10:00:00"`},
		{"datetime as time.Time", col("datetime", "datetime", ""), time.Date(2024, 1, 2, 3, 4, 5, 0, cest), "time.Time 2024-01-02 01:04:05 UTC"},
		{"timestamp", col("timestamp", "timestamp(6)", ""), "2038-01-19 03:14:07.999999", "time.Time 2038-01-19 03:14:07.999999 UTC"},
		{"timestamp zero", col("timestamp", "timestamp", ""), "0000-00-00 00:00:00", `string "0000-00-00 00:00:00"`},
		{"datetime bad", col("datetime", "datetime", ""), "2024-13-01 00:00:00", "error"},
		{"datetime from an int", col("datetime", "datetime", ""), 1, "error"},

		{"time", col("time", "time", ""), "-838:59:59", `string "-838:59:59"`},
		{"time(6)", col("time", "time(6)", ""), "-00:00:00.500000", `string "-00:00:00.500000"`},
		{"time over 24h", col("time", "time", ""), "100:00:00", `string "100:00:00"`},
		{"year", col("year", "year(4)", ""), 2024, "int64 2024"},
		{"year 0", col("year", "year(4)", ""), 0, "int64 0"},

		{"varchar", col("varchar", "varchar(20)", "utf8mb4"), "😀 é ", `string "😀 é "`},
		{"varchar empty", col("varchar", "varchar(20)", "utf8mb4"), "", `string ""`},
		{"text as bytes", col("text", "text", "utf8mb4"), []byte("日本語"), `string "日本語"`},
		{"latin1", col("varchar", "varchar(10)", "latin1"), "caf\xe9 \x80", `string "café €"`},
		// Bytes Windows-1252 leaves undefined are C1 controls in MySQL's latin1.
		{"latin1 undefined bytes", col("varchar", "varchar(10)", "latin1"), []byte{0x81, 0x8d, 0x8f, 0x90, 0x9d, 0xff}, `string "\u0081\u008d\u008f\u0090\u009dÿ"`},
		{"cp1251", col("varchar", "varchar(10)", "cp1251"), "\xef\xf0\xe8", `string "при"`},
		{"sjis", col("varchar", "varchar(10)", "sjis"), "\x93\xfa\x96\x7b", `string "日本"`},
		{"ucs2", col("varchar", "varchar(10)", "ucs2"), "\x00\xe9", `string "é"`},
		{"utf16", col("varchar", "varchar(10)", "utf16"), "\xd8\x3d\xde\x00", `string "😀"`},
		{"utf32", col("varchar", "varchar(10)", "utf32"), "\x00\x01\xf6\x00", `string "😀"`},
		{"json (MySQL)", col("json", "json", ""), `{"a":[1,2]}`, `string "{\"a\":[1,2]}"`},

		{"varbinary", col("varbinary", "varbinary(10)", ""), []byte("x\x00y"), `[]byte "x\x00y"`},
		{"varbinary trailing zeros", col("varbinary", "varbinary(10)", ""), []byte("ab\x00\x00"), `[]byte "ab\x00\x00"`},
		{"blob from a string", col("blob", "blob", ""), "\xff\x00", `[]byte "\xff\x00"`},
		{"blob empty", col("blob", "blob", ""), []byte{}, `[]byte ""`},
		// The binary log drops BINARY(n)'s trailing zero bytes.
		{"binary padded", col("binary", "binary(4)", ""), "ab", `[]byte "ab\x00\x00"`},
		{"binary empty", col("binary", "binary(4)", ""), "", `[]byte "\x00\x00\x00\x00"`},
		{"binary full", col("binary", "binary(4)", ""), "\x00\x01\x02\x03", `[]byte "\x00\x01\x02\x03"`},

		{"enum", enum, int64(2), `string "b"`},
		{"enum 4-byte label", enum, int64(3), `string "😀"`},
		{"enum error value", enum, int64(0), `string ""`},
		{"enum out of range", enum, int64(9), `string ""`},
		{"enum from a string", enum, "a", "error"},
		{"set empty", set, int64(0), `string ""`},
		{"set", set, int64(5), `string "a,c"`},
		{"set all", set, int64(7), `string "a,b,c"`},
		{"set 64th member", set64, int64(math.MinInt64), `string "m63"`},
		{"set 64 members", set64, int64(-1), `string "` + strings.ReplaceAll(strings.Trim(members(64), "'"), "','", ",") + `"`},

		{"bit(1)", col("bit", "bit(1)", ""), int64(1), "uint64 1"},
		{"bit(64) max", col("bit", "bit(64)", ""), int64(-1), "uint64 18446744073709551615"},
		{"bit(64) high bit", col("bit", "bit(64)", ""), int64(math.MinInt64), "uint64 9223372036854775808"},
		{"geometry", col("geometry", "geometry", ""), []byte{0, 1}, `[]byte "\x00\x01"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.fromBinlog(tc.in)
			if tc.want == "error" {
				if err == nil {
					t.Fatalf("fromBinlog(%#v) = %s, want an error", tc.in, show(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("fromBinlog(%#v): %v", tc.in, err)
			}
			if show(got) != tc.want {
				t.Fatalf("fromBinlog(%#v) = %s, want %s", tc.in, show(got), tc.want)
			}
		})
	}
}

func members(n int) string {
	m := make([]string, n)
	for i := range m {
		m[i] = fmt.Sprintf("'m%d'", i)
	}
	return strings.Join(m, ",")
}

// TestValueFromBinlogCopies: the engine keeps no reference to go-mysql's
// buffers, which it reuses.
func TestValueFromBinlogCopies(t *testing.T) {
	for _, c := range []column{col("varbinary", "varbinary(4)", ""), col("binary", "binary(4)", ""), col("geometry", "geometry", "")} {
		buf := []byte("abcd")
		v, err := c.fromBinlog(buf)
		if err != nil {
			t.Fatal(err)
		}
		buf[0] = 'X'
		if string(v.([]byte)) != "abcd" {
			t.Fatalf("%s: the value changed with the buffer: %q", c.columnType, v)
		}
	}
}

// TestValueFromText: the values of a SELECT (text protocol, utf8mb4, time
// zone +00:00) become the engine's values, the same as from the binary log.
func TestValueFromText(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    column
		in   []byte // nil: NULL
		want string
	}{
		{"NULL", col("int", "int(11)", ""), nil, "nil"},
		{"NULL char", col("varchar", "varchar(3)", "utf8mb4"), nil, "nil"},
		{"empty char is not NULL", col("varchar", "varchar(3)", "utf8mb4"), []byte{}, `string ""`},
		{"tinyint", col("tinyint", "tinyint(4)", ""), []byte("-128"), "int64 -128"},
		{"bigint min", col("bigint", "bigint(20)", ""), []byte("-9223372036854775808"), "int64 -9223372036854775808"},
		{"bigint unsigned max", col("bigint", "bigint(20) unsigned", ""), []byte("18446744073709551615"), "uint64 18446744073709551615"},
		{"mediumint unsigned", col("mediumint", "mediumint(8) unsigned", ""), []byte("16777215"), "uint64 16777215"},
		{"int zerofill", col("int", "int(6) unsigned zerofill", ""), []byte("000042"), "uint64 42"},
		{"int bad", col("int", "int(11)", ""), []byte("x"), "error"},
		{"float", col("float", "float", ""), []byte("1.23457e+08"), "float32 1.23457e+08"},
		{"float -0", col("float", "float", ""), []byte("-0"), "float32 -0"},
		{"float(7,3)", col("float", "float(7,3)", ""), []byte("1.500"), "float32 1.5"},
		{"double", col("double", "double", ""), []byte("1.7976931348623157e308"), "float64 1.7976931348623157e+308"},
		{"double -0", col("double", "double", ""), []byte("-0"), "float64 -0"},
		{"decimal", col("decimal", "decimal(65,30)", ""), []byte("-0.000000000000000000000000000001"), `string "-0.000000000000000000000000000001"`},
		{"date", col("date", "date", ""), []byte("1000-01-01"), "time.Time 1000-01-01 00:00:00 UTC"},
		{"date zero", col("date", "date", ""), []byte("0000-00-00"), `string "0000-00-00"`},
		{"date zero day", col("date", "date", ""), []byte("2024-05-00"), `string "2024-05-00"`},
		{"datetime(3)", col("datetime", "datetime(3)", ""), []byte("2024-01-02 03:04:05.100"), "time.Time 2024-01-02 03:04:05.1 UTC"},
		{"datetime zero", col("datetime", "datetime", ""), []byte("0000-00-00 00:00:00"), `string "0000-00-00 00:00:00"`},
		{"timestamp", col("timestamp", "timestamp", ""), []byte("1970-01-01 00:00:01"), "time.Time 1970-01-01 00:00:01 UTC"},
		{"timestamp bad", col("timestamp", "timestamp", ""), []byte("yesterday"), "error"},
		{"time", col("time", "time", ""), []byte("-838:59:59"), `string "-838:59:59"`},
		{"year", col("year", "year(4)", ""), []byte("2155"), "int64 2155"},
		{"year 0", col("year", "year(4)", ""), []byte("0000"), "int64 0"},
		{"char", col("char", "char(5)", "utf8mb4"), []byte("😀🎉"), `string "😀🎉"`},
		// A SELECT's text is utf8mb4 whatever the column's character set.
		{"latin1", col("char", "char(5)", "latin1"), []byte("café"), `string "café"`},
		{"json", col("longtext", "longtext", "utf8mb4"), []byte(`  {"b":1}`), `string "  {\"b\":1}"`},
		{"enum", col("enum", "enum('a','b')", "utf8mb4"), []byte("b"), `string "b"`},
		{"enum error value", col("enum", "enum('a','b')", "utf8mb4"), []byte(""), `string ""`},
		{"set", col("set", "set('a','b')", "utf8mb4"), []byte("a,b"), `string "a,b"`},
		{"binary", col("binary", "binary(4)", ""), []byte("ab\x00\x00"), `[]byte "ab\x00\x00"`},
		{"varbinary", col("varbinary", "varbinary(4)", ""), []byte{0xff}, `[]byte "\xff"`},
		{"bit(1)", col("bit", "bit(1)", ""), []byte{1}, "uint64 1"},
		{"bit(12)", col("bit", "bit(12)", ""), []byte{0x0a, 0xaa}, "uint64 2730"},
		{"bit(64)", col("bit", "bit(64)", ""), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "uint64 18446744073709551615"},
		{"bit too long", col("bit", "bit(64)", ""), make([]byte, 9), "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.fromText(tc.in)
			if tc.want == "error" {
				if err == nil {
					t.Fatalf("fromText(%q) = %s, want an error", tc.in, show(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("fromText(%q): %v", tc.in, err)
			}
			if show(got) != tc.want {
				t.Fatalf("fromText(%q) = %s, want %s", tc.in, show(got), tc.want)
			}
			// The value keeps no reference to the driver's buffer.
			if b, ok := got.([]byte); ok && len(b) > 0 && len(tc.in) > 0 && &b[0] == &tc.in[0] {
				t.Fatal("the value shares the driver's buffer")
			}
		})
	}
}

// TestValueTextAndBinlogAgree: a value read by the copy phase (text) equals
// the same value read from the binary log, so folding a stream by key works.
func TestValueTextAndBinlogAgree(t *testing.T) {
	for _, tc := range []struct {
		c      column
		text   string
		binlog any
	}{
		{col("float", "float", ""), "1.23457e+08", float32(123456789)},
		{col("float", "float", ""), "0.1", float32(0.1)},
		{col("float", "float(7,3)", ""), "-1234.567", float32(-1234.567)},
		{col("int", "int(10) unsigned", ""), "4294967295", int32(-1)},
		{col("mediumint", "mediumint(8) unsigned", ""), "8388608", int32(-8388608)},
		{col("binary", "binary(4)", ""), "ab\x00\x00", "ab"},
		{col("enum", "enum('x','y')", "utf8mb4"), "y", int64(2)},
		{col("set", "set('x','y')", "utf8mb4"), "x,y", int64(3)},
		{col("bit", "bit(8)", ""), "\xaa", int64(0xaa)},
		{col("datetime", "datetime(6)", ""), "2024-01-02 03:04:05.123456", "2024-01-02 03:04:05.123456"},
		{col("date", "date", ""), "2024-00-15", "2024-00-15"},
		{col("varchar", "varchar(5)", "latin1"), "€", "\x80"},
	} {
		fromText, err := tc.c.fromText([]byte(tc.text))
		if err != nil {
			t.Fatal(err)
		}
		fromBinlog, err := tc.c.fromBinlog(tc.binlog)
		if err != nil {
			t.Fatal(err)
		}
		if show(fromText) != show(fromBinlog) {
			t.Errorf("%s: text %q gives %s, binlog %#v gives %s", tc.c.columnType, tc.text, show(fromText), tc.binlog, show(fromBinlog))
		}
	}
}

func TestValueLabelsType(t *testing.T) {
	for _, tc := range []struct {
		columnType string
		labels     []string
		want       string
	}{
		{"enum('a','?')", []string{"a", "😀"}, "enum('a','😀')"},
		{"set('?','b')", []string{"it's", `back\slash`}, `set('it''s','back\\slash')`},
		{"enum('?')", []string{""}, "enum('')"},
	} {
		got := labelsType(tc.columnType, tc.labels)
		if got != tc.want {
			t.Errorf("labelsType(%q, %q) = %q, want %q", tc.columnType, tc.labels, got, tc.want)
		}
		// The rewritten type reads back as the labels.
		if back := typeLabels(got); !reflect.DeepEqual(back, tc.labels) {
			t.Errorf("typeLabels(%q) = %q, want %q", got, back, tc.labels)
		}
	}
	if lossyLabels([]string{"a", "é", "日本"}) || !lossyLabels([]string{"a", "?"}) || !lossyLabels([]string{"x?y"}) {
		t.Error("lossyLabels: only a '?' may stand for a lost character")
	}
}

func TestMySQLJSONText(t *testing.T) {
	for in, want := range map[string]string{
		`{"k":[1,2.5,"x",null,true],"n":{"m":-1}}`: `{"k": [1, 2.5, "x", null, true], "n": {"m": -1}}`,
		`["a,b","c:d","e\"f,",{}]`:                 `["a,b", "c:d", "e\"f,", {}]`,
		`"x"`:                                      `"x"`,
		`[]`:                                       `[]`,
		`{"a\\":1}`:                                `{"a\\": 1}`,
	} {
		if got := mysqlJSONText([]byte(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
