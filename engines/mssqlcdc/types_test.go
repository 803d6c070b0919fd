package mssqlcdc

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/engines"
)

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05.999999999", s)
	if err != nil {
		panic(err)
	}
	return t
}

// typeCases: a SQL Server column type, a literal of it, the MySQL type the
// engine shows, the engine value (package engines' Go types) and the text
// a MySQL client shows. The values are SQL Server's documented ones: money
// has four decimals, datetime ticks are 1/300 s (.998 is stored as .997),
// smalldatetime rounds to the minute, datetimeoffset is shown in UTC,
// uniqueidentifier in upper case, char and nchar padded to their length
// (as SQL Server shows them; MySQL would strip the spaces of its own CHAR).
var typeCases = []struct {
	decl, literal, mysql string
	want                 any
	text                 string
}{
	{"tinyint", "255", "tinyint unsigned", uint64(255), "255"},
	{"smallint", "-32768", "smallint", int64(-32768), "-32768"},
	{"int", "2147483647", "int", int64(2147483647), "2147483647"},
	{"bigint", "-9223372036854775808", "bigint", int64(math.MinInt64), "-9223372036854775808"},
	{"bit", "1", "tinyint(1)", int64(1), "1"},
	{"decimal(10,2)", "12345678.91", "decimal(10,2)", "12345678.91", "12345678.91"},
	{"numeric(38,10)", "-1.5", "decimal(38,10)", "-1.5000000000", "-1.5000000000"},
	{"decimal(38,35)", "0.12345678901234567890123456789012345", "varchar(40)", "0.12345678901234567890123456789012345", "0.12345678901234567890123456789012345"},
	{"money", "'-922337203685477.5808'", "decimal(19,4)", "-922337203685477.5808", "-922337203685477.5808"},
	{"smallmoney", "1.5", "decimal(10,4)", "1.5000", "1.5000"},
	{"float", "3.141592653589793", "double", 3.141592653589793, "3.141592653589793"},
	{"float(53)", "1.7976931348623157E308", "double", 1.7976931348623157e308, "1.7976931348623157e+308"},
	{"real", "1.1", "float", float32(1.1), "1.1"},
	{"date", "'2024-02-29'", "date", utc("2024-02-29 00:00:00"), "2024-02-29"},
	{"time(7)", "'23:59:59.1234567'", "time(6)", "23:59:59.123456", "23:59:59.123456"},
	{"time(0)", "'12:00:00.6'", "time(0)", "12:00:01", "12:00:01.000000"},
	{"datetime", "'2024-02-29 13:14:15.998'", "datetime(3)", utc("2024-02-29 13:14:15.997"), "2024-02-29 13:14:15.997"},
	{"smalldatetime", "'2024-02-29 13:14:31'", "datetime", utc("2024-02-29 13:15:00"), "2024-02-29 13:15:00"},
	{"datetime2(7)", "'2024-02-29 13:14:15.1234567'", "datetime(6)", utc("2024-02-29 13:14:15.123456"), "2024-02-29 13:14:15.123456"},
	{"datetime2(0)", "'2024-02-29 13:14:15.5'", "datetime(0)", utc("2024-02-29 13:14:16"), "2024-02-29 13:14:16"},
	{"datetimeoffset(7)", "'2024-02-29 13:14:15.1234567 +05:30'", "datetime(6)", utc("2024-02-29 07:44:15.123456"), "2024-02-29 07:44:15.123456"},
	{"datetimeoffset(0)", "'2024-12-31T23:30:00-02:00'", "datetime(0)", utc("2025-01-01 01:30:00"), "2025-01-01 01:30:00"},
	{"char(5)", "'ab'", "char(5)", "ab   ", "ab   "},
	{"varchar(10)", "'héllo'", "varchar(10)", "héllo", "héllo"},
	{"nchar(3)", "N'日本'", "char(3)", "日本 ", "日本 "},
	{"nvarchar(20)", "N'日本語 🎉'", "varchar(20)", "日本語 🎉", "日本語 🎉"},
	{"varchar(max)", "'big'", "longtext", "big", "big"},
	{"nvarchar(max)", "N'ünïcode'", "longtext", "ünïcode", "ünïcode"},
	{"text", "'old text'", "longtext", "old text", "old text"},
	{"ntext", "N'old ntext'", "longtext", "old ntext", "old ntext"},
	{"xml", "'<a>1</a>'", "longtext", "<a>1</a>", "<a>1</a>"},
	{"binary(4)", "0x0102", "binary(4)", []byte{1, 2, 0, 0}, "\x01\x02\x00\x00"},
	{"varbinary(10)", "0xDEADBEEF", "varbinary(10)", []byte{0xDE, 0xAD, 0xBE, 0xEF}, "\xde\xad\xbe\xef"},
	{"varbinary(max)", "0x00FF", "longblob", []byte{0, 0xFF}, "\x00\xff"},
	{"image", "0x01", "longblob", []byte{1}, "\x01"},
	{"uniqueidentifier", "'6f9619ff-8b86-d011-b42d-00c04fc964ff'", "char(36)", "6F9619FF-8B86-D011-B42D-00C04FC964FF", "6F9619FF-8B86-D011-B42D-00C04FC964FF"},
}

func sameValue(got, want any) bool {
	if w, ok := want.(time.Time); ok {
		g, ok := got.(time.Time)
		return ok && g.Equal(w) && g.Location() == time.UTC
	}
	return reflect.DeepEqual(got, want)
}

// TestTypes: every type's MySQL type, its value in a copy chunk and in a
// change row, NULL, and the text vstreamd's catalog shows for it.
func TestTypes(t *testing.T) {
	f := newFixture(t)
	cols := []string{"id INT PRIMARY KEY"}
	var lits, nulls []string
	for i, tc := range typeCases {
		cols = append(cols, fmt.Sprintf("c%d %s", i, tc.decl))
		lits = append(lits, tc.literal)
		nulls = append(nulls, "NULL")
	}
	f.table("CREATE TABLE types (" + strings.Join(cols, ", ") + ")")
	f.exec("INSERT INTO types VALUES (1, "+strings.Join(lits, ", ")+")", "INSERT INTO types VALUES (3, "+strings.Join(nulls, ", ")+")")
	src := f.source("sa", "")
	ctx := context.Background()
	tbl, err := src.Table(ctx, "types")
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range typeCases {
		if got := tbl.Columns[i+1].Type; got != tc.mysql {
			t.Errorf("%s: MySQL type %s, want %s", tc.decl, got, tc.mysql)
		}
	}
	sn, err := src.Snapshot(ctx, "types")
	if err != nil {
		t.Fatal(err)
	}
	var copied [][]any
	if err := sn.Scan(ctx, nil, 0, func(r []any) error { copied = append(copied, r); return nil }); err != nil {
		t.Fatal(err)
	}
	sn.Close()
	c := f.stream(src, current(t, src), "types")
	f.exec("INSERT INTO types VALUES (2, " + strings.Join(lits, ", ") + ")")
	end := current(t, src)
	f.capture()
	var streamed []any
	for _, e := range c.reached(t, end) {
		if e.Kind == engines.RowChange {
			streamed = e.After
		}
	}
	if len(copied) != 2 || streamed == nil {
		t.Fatalf("copied %d rows, streamed %v", len(copied), streamed)
	}
	for i, tc := range typeCases {
		if got := copied[0][i+1]; !sameValue(got, tc.want) {
			t.Errorf("%s: copy value %#v, want %#v", tc.decl, got, tc.want)
		}
		if got := streamed[i+1]; !sameValue(got, tc.want) {
			t.Errorf("%s: stream value %#v, want %#v", tc.decl, got, tc.want)
		}
		if got := copied[1][i+1]; got != nil {
			t.Errorf("%s: NULL copied as %#v", tc.decl, got)
		}
	}
	for i, text := range selectThroughCatalog(t, src, "SELECT * FROM ks.types WHERE id = 1") {
		if i > 0 && text != typeCases[i-1].text {
			t.Errorf("%s: vstreamd shows %q, want %q", typeCases[i-1].decl, text, typeCases[i-1].text)
		}
	}
}

// selectThroughCatalog runs a query on vstreamd's catalog over src (the
// types and conversions the server uses) and returns the first row's
// values as a MySQL client receives them.
func selectThroughCatalog(t *testing.T, src *Source, q string) []string {
	t.Helper()
	ctx := context.Background()
	cat, err := catalog.Open(ctx, []catalog.KeyspaceConfig{{Name: "ks", Source: "sqlserver://fake"}},
		map[string]catalog.Opener{"sqlserver": func(context.Context, string, *url.URL) (engines.Source, error) { return src, nil }}, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := sqle.New(analyzer.NewBuilder(cat.Provider()).Build(), &sqle.Config{})
	sctx := sql.NewContext(ctx, sql.WithSession(sql.NewBaseSession()))
	schema, iter, _, err := e.Query(sctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer iter.Close(sctx)
	row, err := iter.Next(sctx)
	if err == io.EOF {
		t.Fatalf("%s: no rows", q)
	}
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(row))
	for i, v := range row {
		sv, err := schema[i].Type.SQL(sctx, nil, v)
		if err != nil {
			t.Fatalf("column %s: %v", schema[i].Name, err)
		}
		out[i] = sv.ToString()
	}
	return out
}

// TestLargeValuesInUpdates: the change functions leave unchanged (max)
// columns, and text, ntext and image always, NULL in an update's before
// image; the engine fills them from the after image where the update mask
// says the update did not change them. A delete's before image of text,
// ntext and image stays NULL: SQL Server does not log it.
func TestLargeValuesInUpdates(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE docs (id INT PRIMARY KEY, n INT, body VARCHAR(MAX), notes NVARCHAR(MAX), blob VARBINARY(MAX), old TEXT, x XML)")
	f.exec("INSERT INTO docs (id, n, body, notes, blob, old, x) VALUES (1, 1, 'b1', N'n1', 0x01, 'o1', '<x/>')")
	f.capture()
	src := f.source("sa", "")
	c := f.stream(src, current(t, src), "docs")
	f.exec("UPDATE docs SET n = 2 WHERE id = 1", "UPDATE docs SET body = 'b2' WHERE id = 1", "DELETE FROM docs WHERE id = 1")
	end := current(t, src)
	f.capture()
	got := rowsOnly(c.reached(t, end))
	want := []string{
		"* 1 2 b1 n1 0x01 o1 <x/> (was 1 1 b1 n1 0x01 o1 <x/>)",
		"* 1 2 b2 n1 0x01 o1 <x/> (was 1 2 b1 n1 0x01 o1 <x/>)",
		"- 1 2 b2 n1 0x01 NULL <x/>",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// TestMapType: types the fake does not model.
func TestMapType(t *testing.T) {
	tests := []struct {
		typ  sqlType
		want string
	}{
		{sqlType{name: "timestamp", maxLength: 8}, "binary(8)"},
		{sqlType{name: "hierarchyid", maxLength: 892}, "longblob"},
		{sqlType{name: "geography", maxLength: -1}, "longblob"},
		{sqlType{name: "sql_variant", maxLength: 8016}, "longtext"},
		{sqlType{name: "float", precision: 24}, "float"},
		{sqlType{name: "char", maxLength: 300}, "varchar(300)"},
		{sqlType{name: "nchar", maxLength: 600}, "varchar(300)"},
		{sqlType{name: "binary", maxLength: 300}, "varbinary(300)"},
	}
	for _, tc := range tests {
		if _, got := mapType(tc.typ); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.typ, got, tc.want)
		}
	}
}
