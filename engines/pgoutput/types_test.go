package pgoutput

import (
	"reflect"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines/internal/box"
)

func TestDecode(t *testing.T) {
	intArr := pgType{oid: 1007, category: "A", elem: &pgType{oid: oidInt4}}
	textArr := pgType{oid: 1009, category: "A", elem: &pgType{oid: oidText}}
	boolArr := pgType{oid: 1000, category: "A", elem: &pgType{oid: oidBool}}
	utc := func(s string) time.Time { t, _ := time.Parse("2006-01-02 15:04:05.999999", s); return t }
	tests := []struct {
		typ  pgType
		text string
		want any
	}{
		{pgType{oid: oidInt8}, "-9223372036854775808", int64(-9223372036854775808)},
		{pgType{oid: oidNumeric, typmod: 10<<16 | 2 + 4}, "-12.50", "-12.50"},
		{pgType{oid: oidFloat4}, "1.5", float32(1.5)},
		{pgType{oid: oidBool}, "t", int64(1)},
		{pgType{oid: oidBool}, "f", int64(0)},
		{pgType{oid: oidBytea}, `\x00ff41`, []byte{0, 0xff, 'A'}},
		{pgType{oid: oidDate}, "2024-02-29", utc("2024-02-29 00:00:00")},
		{pgType{oid: oidTimestamp}, "2024-02-29 13:14:15.123456", utc("2024-02-29 13:14:15.123456")},
		{pgType{oid: oidTimestampTZ}, "2024-02-29 13:14:15.5+05:30", utc("2024-02-29 07:44:15.5")},
		{pgType{oid: oidTimestampTZ}, "2024-02-29 13:14:15+00", utc("2024-02-29 13:14:15")},
		{pgType{oid: oidTime}, "24:00:00", "24:00:00"},
		{intArr, "{1,NULL,-3}", "[1,null,-3]"},
		{intArr, "{{1,2},{3,4}}", "[[1,2],[3,4]]"},
		{intArr, "[0:1]={7,8}", "[7,8]"},
		{textArr, `{a,"b,c","say \"hi\"",NULL,"NULL"}`, `["a","b,c","say \"hi\"",null,"NULL"]`},
		{boolArr, "{t,f}", "[true,false]"},
	}
	for _, tc := range tests {
		c := column{name: "c", typ: tc.typ}
		c.kind, c.mysql = mapType(tc.typ)
		got, err := c.decode([]byte(tc.text))
		if err != nil {
			t.Errorf("%q: %v", tc.text, err)
			continue
		}
		switch w := tc.want.(type) {
		case time.Time:
			if g, ok := got.(time.Time); !ok || !g.Equal(w) || g.Location() != time.UTC {
				t.Errorf("%q: got %v, want %v (UTC)", tc.text, got, w)
			}
		case []byte:
			if string(got.([]byte)) != string(w) {
				t.Errorf("%q: got %v, want %v", tc.text, got, w)
			}
		default:
			if got != tc.want {
				t.Errorf("%q: got %#v, want %#v", tc.text, got, tc.want)
			}
		}
	}
	for _, bad := range []string{"infinity", "0044-03-15 BC"} {
		c := column{name: "d", typ: pgType{oid: oidDate}, kind: kDate}
		if _, err := c.decode([]byte(bad)); err == nil {
			t.Errorf("%q decoded without an error", bad)
		}
	}
	// The short way, boxed from slabs (decodeText: the change stream and
	// the copy's text values), gives decodeKind's values and errors.
	var text box.Arena
	var bx box.Slab
	extra := []struct {
		typ  pgType
		text string
	}{
		{pgType{oid: oidInt8}, "12x"}, {pgType{oid: oidNumeric}, "NaN"}, {pgType{oid: oidDate}, "infinity"},
		{pgType{oid: oidFloat8}, "-2.5e300"}, {pgType{oid: oidText}, "héllo"}, {pgType{oid: oidText}, ""},
		{pgType{oid: oidDate}, "0044-03-15 BC"}, {pgType{oid: oidInt4}, "-7"}, {pgType{oid: oidInt4}, "300"},
	}
	for _, tc := range tests {
		extra = append(extra, struct {
			typ  pgType
			text string
		}{tc.typ, tc.text})
	}
	for _, tc := range extra {
		c := column{name: "c", typ: tc.typ}
		c.kind, c.mysql = mapType(tc.typ)
		want, wantErr := decodeKind(c.kind, &c.typ, []byte(tc.text))
		got, err := decodeText(c.kind, &c.typ, []byte(tc.text), &text, &bx)
		if (err == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: decodeText %#v, %v; decodeKind %#v, %v", tc.text, got, err, want, wantErr)
		}
	}
}

func TestMapType(t *testing.T) {
	tests := []struct {
		typ  pgType
		want string
	}{
		{pgType{oid: oidNumeric, typmod: 10<<16 | 2 + 4}, "decimal(10,2)"},
		{pgType{oid: oidNumeric, typmod: -1}, "longtext"},
		{pgType{oid: oidVarchar, typmod: 24}, "varchar(20)"},
		{pgType{oid: oidTimestampTZ, typmod: 3}, "datetime(3)"},
		{pgType{oid: oidTimestamp, typmod: -1}, "datetime(6)"},
		{pgType{oid: 99999, typtype: "e", labels: []string{"a", "it's"}}, "enum('a','it''s')"},
		{pgType{oid: oidUUID}, "char(36)"},
		{pgType{oid: oidJSONB}, "json"},
	}
	for _, tc := range tests {
		if _, got := mapType(tc.typ); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.typ, got, tc.want)
		}
	}
}
