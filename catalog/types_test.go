package catalog

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/vstreamd/vstreamd/engines"
)

// TestTypeColumnOf: engine column types (MySQL's type texts) become GMS
// types, including the texts GMS's parser does not take as they are.
func TestTypeColumnOf(t *testing.T) {
	ctx := sql.NewEmptyContext()
	for _, tc := range []struct {
		typ, collation string
		want           string // the GMS type's String()
	}{
		{"bigint(20) unsigned", "", "bigint unsigned"},
		{"int(6) unsigned zerofill", "", "int unsigned"},
		{"year(4)", "", "year"},
		{"YEAR(2)", "", "year"},
		{"year", "", "year"},
		{"time", "", "time(6)"},
		{"time(0)", "", "time(6)"},
		{"time(3)", "", "time(6)"},
		{"time(6)", "", "time(6)"},
		{"timestamp(6)", "", "timestamp(6)"},
		{"datetime(3)", "", "datetime(3)"},
		{"decimal(65,30)", "", "decimal(65,30)"},
		{"float(7,3)", "", "float"},
		{"double(10,4)", "", "double"},
		{"varchar(10)", "latin1_swedish_ci", "varchar(10) CHARACTER SET latin1 COLLATE latin1_swedish_ci"},
		// A collation GMS does not know: the column keeps its type.
		{"varchar(10)", "utf8mb4_uca1400_ai_ci", "varchar(10)"},
		{"enum('a','😀','it''s')", "utf8mb4_general_ci", "enum('a','😀','it''s') COLLATE utf8mb4_general_ci"},
		{"bit(64)", "", "bit(64)"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			c, err := columnOf(ctx, "ks", "t", engines.Column{Name: "c", Type: tc.typ, Collation: tc.collation, Nullable: true}, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Type.String(); got != tc.want {
				t.Fatalf("type %q: GMS type %s, want %s", tc.typ, got, tc.want)
			}
		})
	}
}

// TestTypeConverter: engine values become GMS values of the column's type,
// including the MySQL values GMS's conversions reject.
func TestTypeConverter(t *testing.T) {
	ctx := sql.NewEmptyContext()
	for _, tc := range []struct {
		typ, collation string
		in             any
		want           string // the value as the column sends it, or "error"
	}{
		{"bigint(20) unsigned", "", uint64(18446744073709551615), "18446744073709551615"},
		{"mediumint(8) unsigned", "", uint64(16777215), "16777215"},
		{"decimal(65,30)", "", "-0.000000000000000000000000000001", "-0.000000000000000000000000000001"},
		{"float", "", float32(1.23457e8), "1.23457e+08"},
		{"datetime(6)", "", time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC), "2024-01-02 03:04:05.123456"},
		{"timestamp", "", time.Date(2024, 1, 2, 5, 4, 5, 0, time.FixedZone("", 2*3600)), "2024-01-02 03:04:05"},
		{"date", "", "0000-00-00", "0000-00-00"},
		// A zero month or day: GMS's dates cannot hold it; it is the zero date.
		{"date", "", "2024-00-15", "0000-00-00"},
		{"datetime(2)", "", "2024-05-00 10:00:00.50", "0000-00-00 00:00:00.00"},
		{"date", "", "2024-13-01", "error"},
		{"time", "", "-838:59:59", "-838:59:59.000000"},
		{"time(3)", "", "12:34:56.789", "12:34:56.789000"},
		{"year(4)", "", int64(2155), "2155"},
		{"year(4)", "", int64(0), "0"},
		{"enum('a','b')", "utf8mb4_general_ci", "b", "b"},
		// The error value of an ENUM, index 0.
		{"enum('a','b')", "utf8mb4_general_ci", "", ""},
		{"enum('','x')", "utf8mb4_general_ci", "", ""},
		{"enum('a','b')", "utf8mb4_general_ci", "nope", "error"},
		{"set('a','b')", "utf8mb4_general_ci", "", ""},
		{"set('a','b')", "utf8mb4_general_ci", "a,b", "a,b"},
		// GMS measures single-byte character sets in UTF-8 bytes: the
		// source's value fits its column.
		{"varchar(10)", "latin1_swedish_ci", strings.Repeat("é", 10), strings.Repeat("é", 10)},
		{"char(5)", "latin1_swedish_ci", "ÿÿÿÿÿ", "ÿÿÿÿÿ"},
		{"tinytext", "latin1_swedish_ci", strings.Repeat("é", 255), strings.Repeat("é", 255)},
		{"varchar(3)", "utf8mb4_general_ci", "😀😀😀", "😀😀😀"},
		{"binary(4)", "", []byte("ab"), "ab\x00\x00"},
		{"varbinary(2)", "", []byte("abc"), "error"},
		{"bit(64)", "", uint64(18446744073709551615), "\xff\xff\xff\xff\xff\xff\xff\xff"},
		{"longtext", "utf8mb4_bin", `  {"a" : 1}`, `  {"a" : 1}`},
	} {
		t.Run(fmt.Sprintf("%s %v", tc.typ, tc.in), func(t *testing.T) {
			c, err := columnOf(ctx, "ks", "t", engines.Column{Name: "c", Type: tc.typ, Collation: tc.collation, Nullable: true}, false)
			if err != nil {
				t.Fatal(err)
			}
			v, err := converterFor(c)(ctx, tc.in)
			if tc.want == "error" {
				if err == nil {
					t.Fatalf("converted %#v to %#v, want an error", tc.in, v)
				}
				return
			}
			if err != nil {
				t.Fatalf("converting %#v: %v", tc.in, err)
			}
			out, err := c.Type.SQL(ctx, nil, v)
			if err != nil {
				t.Fatalf("sending %#v: %v", v, err)
			}
			if got := out.ToString(); got != tc.want {
				t.Fatalf("%#v is sent as %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	// NULL stays NULL.
	c, err := columnOf(ctx, "ks", "t", engines.Column{Name: "c", Type: "int", Nullable: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := converterFor(c)(ctx, nil); v != nil || err != nil {
		t.Fatalf("NULL: %v, %v", v, err)
	}
}
