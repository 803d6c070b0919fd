package mssqlcdc

// Fuzz targets of the engine's decoding: the values go-mssqldb hands over
// for every column type (what a copy chunk and a change function return),
// and LSNs in their text and binary forms. The corpus grows in
// testdata/fuzz.
//
//	go test -run='^$' -fuzz=FuzzMSSQLValue -fuzztime=10m -parallel=1 ./engines/mssqlcdc

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// fuzzTypes are column types of every kind, as sys.columns describes them.
var fuzzTypes = []sqlType{
	{name: "tinyint"}, {name: "smallint"}, {name: "int"}, {name: "bigint"}, {name: "bit"},
	{name: "decimal", precision: 38, scale: 10}, {name: "numeric", precision: 38, scale: 35}, {name: "money"},
	{name: "real"}, {name: "float", precision: 53}, {name: "float", precision: 10}, {name: "date"},
	{name: "datetime"}, {name: "smalldatetime"}, {name: "datetime2", scale: 7}, {name: "datetimeoffset", scale: 7},
	{name: "time", scale: 7}, {name: "time", scale: 0}, {name: "char", maxLength: 10}, {name: "nvarchar", maxLength: -1},
	{name: "xml", maxLength: -1}, {name: "binary", maxLength: 8}, {name: "varbinary", maxLength: -1},
	{name: "rowversion", maxLength: 8}, {name: "uniqueidentifier", maxLength: 16}, {name: "sql_variant"},
	{name: "hierarchyid", maxLength: 892},
}

// fuzzDriverValue makes a value of the Go type sel picks, as go-mssqldb
// returns them, from b.
func fuzzDriverValue(sel uint8, b []byte) any {
	var n [8]byte
	copy(n[:], b)
	bits := binary.LittleEndian.Uint64(n[:])
	switch sel % 8 {
	case 0:
		return int64(bits)
	case 1:
		return bits&1 == 1
	case 2:
		return math.Float64frombits(bits)
	case 3:
		return append([]byte(nil), b...)
	case 4:
		return string(b)
	case 5:
		zone := time.FixedZone("z", int(int16(bits>>48))*60)
		return time.Unix(int64(bits%(400*365*86400))-62135596800, int64(bits>>40)%1e9).In(zone)
	case 6:
		return nil
	}
	return int64(int8(bits)) // small, often negative
}

// FuzzMSSQLValue: a driver value of any Go type, given to a column of any
// type, decodes or fails with an error, never a panic; a decoded
// uniqueidentifier reads back to its bytes, a time of day has the column's
// digits.
func FuzzMSSQLValue(f *testing.F) {
	for i := range fuzzTypes {
		for sel := uint8(0); sel < 8; sel++ {
			f.Add(uint8(i), sel, false, []byte{0x2a, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46})
		}
	}
	f.Add(uint8(24), uint8(3), true, []byte("\xff\x19\x96\x6f\x86\x8b\x11\xd0\xb4\x2d\x00\xc0\x4f\xc9\x64\xff"))
	f.Add(uint8(5), uint8(4), false, []byte("-12345678901234567890.0123456789"))
	f.Fuzz(func(t *testing.T, which, sel uint8, key bool, b []byte) {
		c := &column{name: "c", typ: fuzzTypes[int(which)%len(fuzzTypes)], key: key}
		c.kind, c.mysql = mapType(c.typ)
		v := fuzzDriverValue(sel, b)
		got, err := c.decode(v)
		switch {
		case err != nil:
			return
		case v == nil:
			if got != nil {
				t.Fatalf("NULL decodes to %v", got)
			}
			return
		case got == nil:
			t.Fatalf("%s: %T %v decodes to NULL without an error", c.typ.sqlText(), v, v)
		}
		switch c.kind {
		case kGUID:
			back, ok := guidBytes(got.(string))
			if !ok || !bytes.Equal(back, v.([]byte)) {
				t.Fatalf("uniqueidentifier %x shows as %q, which reads back as %x", v, got, back)
			}
		case kTime:
			s := got.(string)
			digits := min(max(c.typ.scale, 0), 7)
			if !key {
				digits = min(digits, 6)
			}
			want := 8
			if digits > 0 {
				want += 1 + digits
			}
			if len(s) != want {
				t.Fatalf("time(%d) %v shows as %q", c.typ.scale, v, s)
			}
		}
	})
}

// FuzzMSSQLLSN: any text given as a position parses or fails, never a
// panic; a parsed LSN prints as text that parses to the same LSN, and its
// neighbours order around it.
func FuzzMSSQLLSN(f *testing.F) {
	for _, s := range []string{"0000002A:00000F58:0003", "0x0000002A00000F580003", "ffffffff:ffffffff:ffff",
		"00000000:00000000:0000", "0X0000002a00000f580003", " 0000002A:00000F58:0003 ", "zz"} {
		f.Add(s, []byte(s))
	}
	f.Fuzz(func(t *testing.T, s string, raw []byte) {
		if l, ok := parseLSN(s); ok {
			again, ok := parseLSN(l.String())
			if !ok || again != l {
				t.Fatalf("%q parses as %s, which parses as %s (%v)", s, l, again, ok)
			}
			if !l.isZero() {
				if p, err := positionLSN(l.position()); err != nil || p != l {
					t.Fatalf("position %s: %v, %s", l.position(), err, p)
				}
			}
			if n := l.next(); n.compare(l) < 0 {
				t.Fatalf("next(%s) = %s is before it", l, n)
			}
			if p := l.prev(); p.compare(l) > 0 {
				t.Fatalf("prev(%s) = %s is after it", l, p)
			}
		}
		positionLSN(engines.Position(s))
		for _, v := range []any{raw, s, nil, int64(len(raw))} {
			lsnValue(v)
		}
	})
}
