package integration

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	gomysqlclient "github.com/go-mysql-org/go-mysql/client"

	"github.com/vstreamd/vstreamd/server"
)

// Contract §3 for PostgreSQL sources: every column type reaches the client
// as the MySQL type engines/pgoutput maps it to, and with the value a
// direct SELECT on PostgreSQL returns, in MySQL's terms: timestamptz in
// UTC, boolean as 1/0, arrays as JSON, bytea as its raw bytes. Copy-phase
// rows (read in an exported snapshot) and change rows (decoded from
// pgoutput messages: new tuples of inserts and updates, old tuples of
// updates and deletes under REPLICA IDENTITY FULL) must agree.

// pgVal is one value of a column: the SQL literal written to PostgreSQL
// and the text a MySQL client reads from vstreamd.
type pgVal struct{ lit, want string }

// pgTypeCase is one column of table ty.
type pgTypeCase struct {
	col string // column name
	def string // PostgreSQL type
	// describe is the column's type in DESCRIBE (the MySQL type
	// engines/pgoutput/types.go maps def to), header its type in a
	// VSTREAM result (see pgHeader).
	describe, header string
	vals             []pgVal
}

// pgTypeCases: row i of table ty has value vals[i % len(vals)] in every
// column; one more row has NULL in every column but the key.
//
// Where the text differs from what psql shows, it is what MySQL shows of
// the mapped type: DECIMAL and DATETIME(n) and TIME(n) with their fixed
// decimals, BOOLEAN as 1/0, JSON in MySQL's normal form (keys sorted,
// ", " and ": " separators; numbers as doubles), FLOAT and DOUBLE in
// shortest form with an exponent past 1e21 (as MariaDB prints them).
var pgTypeCases = []pgTypeCase{
	{"c_int2", "smallint", "smallint", "SMALLINT", []pgVal{{"-32768", "-32768"}, {"32767", "32767"}, {"0", "0"}}},
	{"c_int4", "integer", "int", "INT", []pgVal{{"-2147483648", "-2147483648"}, {"2147483647", "2147483647"}, {"-1", "-1"}}},
	{"c_int8", "bigint", "bigint", "BIGINT", []pgVal{
		{"-9223372036854775808", "-9223372036854775808"}, {"9223372036854775807", "9223372036854775807"}, {"0", "0"}}},
	{"c_num", "numeric(10,2)", "decimal(10,2)", "DECIMAL(10,2)", []pgVal{
		{"12345678.90", "12345678.90"}, {"-0.05", "-0.05"}, {"0", "0.00"}, {"-99999999.99", "-99999999.99"}, {"1.5", "1.50"}}},
	// Unconstrained numeric has no MySQL DECIMAL: its exact text.
	{"c_numu", "numeric", "longtext COLLATE utf8mb4_bin", "LONGTEXT", []pgVal{
		{"123.456789012345678901234567890", "123.456789012345678901234567890"}, {"-1e-20", "-0.00000000000000000001"},
		{"0", "0"}, {"98765432109876543210", "98765432109876543210"}}},
	{"c_real", "real", "float", "FLOAT", []pgVal{{"1.5", "1.5"}, {"-0.25", "-0.25"}, {"0.1", "0.1"}, {"0", "0"}}},
	{"c_dbl", "double precision", "double", "DOUBLE", []pgVal{
		{"0.1", "0.1"}, {"-1e100", "-1e+100"}, {"1.7976931348623157e308", "1.7976931348623157e+308"}, {"123456.5", "123456.5"}, {"0", "0"}}},
	// go-mysql-server keeps no display width: the header says TINYINT.
	{"c_bool", "boolean", "tinyint(1)", "TINYINT", []pgVal{{"true", "1"}, {"false", "0"}}},
	{"c_text", "text", "longtext COLLATE utf8mb4_bin", "LONGTEXT", []pgVal{
		{"'héllo ✓ 日本'", "héllo ✓ 日本"}, {"''", ""}, {`'it''s a \ back,slash'`, `it's a \ back,slash`},
		{"'😀 trailing  '", "😀 trailing  "}, {`E'tab\there\nnewline'`, "tab\there\nnewline"}}},
	{"c_vc", "varchar(20)", "varchar(20) COLLATE utf8mb4_bin", "VARCHAR(20)", []pgVal{{"'ab  '", "ab  "}, {"'ünïcode'", "ünïcode"}, {"''", ""}}},
	// character(n) is blank-padded, as SELECT on PostgreSQL returns it.
	{"c_char", "char(5)", "char(5) COLLATE utf8mb4_bin", "CHAR(5)", []pgVal{{"'ab'", "ab   "}, {"'héllo'", "héllo"}, {"''", "     "}}},
	{"c_bytea", "bytea", "longblob", "LONGBLOB", []pgVal{
		{`'\x00ff41'`, "\x00\xffA"}, {`'\x'`, ""}, {`'\x0000'`, "\x00\x00"}, {"'abc'::bytea", "abc"}}},
	{"c_date", "date", "date", "DATE", []pgVal{
		{"'2024-02-29'", "2024-02-29"}, {"'9999-12-31'", "9999-12-31"}, {"'1970-01-01'", "1970-01-01"}, {"'0001-01-01'", "0001-01-01"}}},
	{"c_time", "time", "time(6)", "TIME(6)", []pgVal{
		{"'12:34:56'", "12:34:56.000000"}, {"'23:59:59.999999'", "23:59:59.999999"}, {"'00:00:00'", "00:00:00.000000"}, {"'24:00:00'", "24:00:00.000000"}}},
	// types.go maps time(3) to TIME(3); go-mysql-server has only TIME(6),
	// so DESCRIBE, the header and the values show six digits.
	{"c_time3", "time(3)", "time(6)", "TIME(6)", []pgVal{{"'12:34:56.789'", "12:34:56.789000"}, {"'01:02:03'", "01:02:03.000000"}}},
	{"c_ts", "timestamp(6)", "datetime(6)", "DATETIME(6)", []pgVal{
		{"'2024-01-02 03:04:05.123456'", "2024-01-02 03:04:05.123456"}, {"'2024-01-02 03:04:05'", "2024-01-02 03:04:05.000000"},
		{"'1999-12-31 23:59:59.5'", "1999-12-31 23:59:59.500000"}}},
	{"c_ts0", "timestamp(0)", "datetime", "DATETIME(0)", []pgVal{{"'2024-01-02 03:04:05'", "2024-01-02 03:04:05"}}},
	// Written in time zone Asia/Kolkata (+05:30), shown in UTC.
	{"c_tstz", "timestamptz", "datetime(6)", "DATETIME(6)", []pgVal{
		{"'2024-01-02 10:00:00'", "2024-01-02 04:30:00.000000"}, {"'2024-06-30 23:59:59.25+00'", "2024-06-30 23:59:59.250000"},
		{"'2024-03-01 01:00:00.5'", "2024-02-29 19:30:00.500000"}, {"'2024-01-02 10:00:00-08'", "2024-01-02 18:00:00.000000"}}},
	{"c_tstz3", "timestamptz(3)", "datetime(3)", "DATETIME(3)", []pgVal{{"'2024-01-02 05:30:00.123'", "2024-01-02 00:00:00.123"}}},
	{"c_ival", "interval", "varchar(255) COLLATE utf8mb4_bin", "VARCHAR(255)", []pgVal{
		{"'1 year 2 mons 3 days 04:05:06'", "1 year 2 mons 3 days 04:05:06"}, {"'-1 day'", "-1 days"}, {"'00:00:00.5'", "00:00:00.5"}}},
	{"c_uuid", "uuid", "char(36) COLLATE utf8mb4_bin", "CHAR(36)", []pgVal{
		{"'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{"'00000000-0000-0000-0000-000000000000'", "00000000-0000-0000-0000-000000000000"}}},
	{"c_json", "json", "json", "JSON", []pgVal{
		{`'{"b": 1, "a": [1, 2]}'`, `{"a": [1, 2], "b": 1}`}, {"'[]'", "[]"}, {`'"str"'`, `"str"`}, {`'{"é": "😀"}'`, `{"é": "😀"}`}}},
	{"c_jsonb", "jsonb", "json", "JSON", []pgVal{
		{`'{"b": 1, "a": [1, 2]}'`, `{"a": [1, 2], "b": 1}`}, {"'null'", "null"}, {"'1.50'", "1.5"}, {"'true'", "true"}}},
	// JSON integers beyond 2^53 stay exact, as in MySQL's JSON.
	{"c_jbig", "jsonb", "json", "JSON", []pgVal{{`'{"n": 9223372036854775807}'`, `{"n": 9223372036854775807}`}, {`'[12345678901234567890]'`, `[12345678901234567890]`}}},
	// Arrays are JSON arrays: numbers and booleans as such, NULL as null,
	// other elements (and NaN, ±Infinity) as strings.
	{"c_ints", "integer[]", "json", "JSON", []pgVal{{"'{1,NULL,-3}'", "[1, null, -3]"}, {"'{}'", "[]"}, {"'{{1,2},{3,4}}'", "[[1, 2], [3, 4]]"}}},
	{"c_texts", "text[]", "json", "JSON", []pgVal{
		{`'{a,NULL,"b,c"}'`, `["a", null, "b,c"]`}, {`ARRAY['say "hi"', 'NULL', 'é', '']`, `["say \"hi\"", "NULL", "é", ""]`}}},
	{"c_text2", "text[][]", "json", "JSON", []pgVal{{`'{{"a{b}","c\\d"},{" x ",""}}'`, `[["a{b}", "c\\d"], [" x ", ""]]`}, {"'{{a}}'", `[["a"]]`}}},
	{"c_bools", "boolean[]", "json", "JSON", []pgVal{{"'{t,f,NULL}'", "[true, false, null]"}, {"'{}'", "[]"}}},
	{"c_nums", "numeric[]", "json", "JSON", []pgVal{{"'{1.5,-2,0.25}'", "[1.5, -2, 0.25]"}, {"'{NaN}'", `["NaN"]`}}},
	{"c_dbls", "double precision[]", "json", "JSON", []pgVal{
		{"'{1.5,NaN,Infinity,-Infinity}'", `[1.5, "NaN", "Infinity", "-Infinity"]`}, {"'{-0.25}'", "[-0.25]"}}},
	{"c_int8s", "bigint[]", "json", "JSON", []pgVal{
		{"'{-9223372036854775808,9223372036854775807}'", "[-9223372036854775808, 9223372036854775807]"}, {"'{0}'", "[0]"}}},
	{"c_jsonbs", "jsonb[]", "json", "JSON", []pgVal{{`ARRAY['{"a": 1}'::jsonb, 'null', '"s"']`, `[{"a": 1}, null, "s"]`}, {"'{}'", "[]"}}},
	{"c_moods", "mood[]", "json", "JSON", []pgVal{{"'{happy,sad}'", `["happy", "sad"]`}, {"'{}'", "[]"}}},
	// Domains stream as the types they are over.
	{"c_dint", "posint", "int", "INT", []pgVal{{"42", "42"}, {"2147483647", "2147483647"}}},
	{"c_dbool", "flag", "tinyint(1)", "TINYINT", []pgVal{{"true", "1"}, {"false", "0"}}},
	{"c_dtstz", "moment", "datetime(6)", "DATETIME(6)", []pgVal{
		{"'2024-01-02 10:00:00'", "2024-01-02 04:30:00.000000"}, {"'2000-01-01 00:00:00+00'", "2000-01-01 00:00:00.000000"}}},
	{"c_dbytea", "octets", "longblob", "LONGBLOB", []pgVal{{`'\x00ff'`, "\x00\xff"}, {"'abc'::bytea", "abc"}}},
	// go-mysql-server's DESCRIBE names an ENUM's character set and
	// collation.
	{"c_mood", "mood", "enum('sad','ok','happy') CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_bin", "ENUM", []pgVal{
		{"'happy'", "happy"}, {"'sad'", "sad"}, {"'ok'", "ok"}}},
}

// pgTypeRows is how many rows of values the cases make (the longest
// list of values).
func pgTypeRows() int {
	n := 0
	for _, tc := range pgTypeCases {
		n = max(n, len(tc.vals))
	}
	return n
}

// pgTypeInsert is the INSERT of rows base..base+n-1 (values) and base+n
// (NULLs) of table ty.
func pgTypeInsert(base int) string {
	n := pgTypeRows()
	var rows []string
	for i := 0; i < n; i++ {
		vals := []string{strconv.Itoa(base + i)}
		for _, tc := range pgTypeCases {
			vals = append(vals, tc.vals[i%len(tc.vals)].lit)
		}
		rows = append(rows, "("+strings.Join(vals, ", ")+")")
	}
	nulls := []string{strconv.Itoa(base + n)}
	for range pgTypeCases {
		nulls = append(nulls, "NULL")
	}
	rows = append(rows, "("+strings.Join(nulls, ", ")+")")
	return "INSERT INTO ty VALUES " + strings.Join(rows, ", ")
}

// pgTypeWant is what VSTREAM shows of row id with values row (i % len)
// of each case, or NULLs (row < 0), after op.
func pgTypeWant(op string, id, row int) []string {
	out := []string{op, strconv.Itoa(id)}
	for _, tc := range pgTypeCases {
		if row < 0 {
			out = append(out, "NULL")
		} else {
			out = append(out, tc.vals[row%len(tc.vals)].want)
		}
	}
	return out
}

// TestPostgresTypes: table ty has one column per case above, and REPLICA
// IDENTITY FULL. Rows are written in time zone Asia/Kolkata. Each case's
// subtest checks its column: DESCRIBE, the VSTREAM header, and the values
// of the copy phase (rows written before the stream) and of the change
// phase (rows inserted, updated and deleted while the stream runs).
func TestPostgresTypes(t *testing.T) {
	t.Parallel()
	var cols []string
	for _, tc := range pgTypeCases {
		cols = append(cols, tc.col+" "+tc.def)
	}
	p, s := pgServer(t, nil,
		"CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
		"CREATE DOMAIN posint AS integer CHECK (VALUE > 0)", "CREATE DOMAIN flag AS boolean",
		"CREATE DOMAIN moment AS timestamptz", "CREATE DOMAIN octets AS bytea",
		"CREATE TABLE ty (id integer PRIMARY KEY, "+strings.Join(cols, ", ")+")",
		"ALTER TABLE ty REPLICA IDENTITY FULL")
	w := pgConn(t, p, "SET TIME ZONE 'Asia/Kolkata'")
	n := pgTypeRows()
	mustExec(t, w, pgTypeInsert(1))

	describe := queryLines(t, s.Conn(t, ""), "DESCRIBE pg.ty")
	if len(describe) != 1+len(pgTypeCases) || describe[0] != "id int NO PRI NULL " {
		t.Fatalf("DESCRIBE pg.ty:\n\t%s", strings.Join(describe, "\n\t"))
	}
	r := olap(t, s, "pg")
	header := pgHeader(t, s, "VSTREAM * FROM ty LIMIT 0")
	equalStrings(t, "VSTREAM header: op, id", header[:2], "op VARCHAR(1)", "id INT")
	if len(header) != 2+len(pgTypeCases) {
		t.Fatalf("VSTREAM header: %q", header)
	}

	// Copy phase.
	var copyWant [][]string
	for i := 0; i < n; i++ {
		copyWant = append(copyWant, pgTypeWant("+", 1+i, i))
	}
	copyWant = append(copyWant, pgTypeWant("+", 1+n, -1))
	copyGot := pgRows(t, r, "VSTREAM * FROM ty WHERE pos <= 'current'")
	equalLines(t, "warnings after the copy", queryLines(t, r, "SHOW WARNINGS"))

	// Change phase, while the stream runs: inserts; updates, each row
	// taking the values of the copy row after the one it copies (the NULL
	// row those of the first); deletes (their before images: REPLICA
	// IDENTITY FULL).
	st := openStream(t, r, "VSTREAM * FROM ty")
	mustExec(t, w, pgTypeInsert(101))
	var insertWant, updateWant, deleteWant [][]string
	for i := 0; i < n; i++ {
		insertWant = append(insertWant, pgTypeWant("+", 101+i, i))
	}
	insertWant = append(insertWant, pgTypeWant("+", 101+n, -1))
	var sets []string
	for _, tc := range pgTypeCases {
		sets = append(sets, fmt.Sprintf("%s = src.%s", tc.col, tc.col))
	}
	mustExec(t, w, fmt.Sprintf("UPDATE ty SET %s FROM ty src WHERE ty.id >= 101 AND src.id = CASE WHEN ty.id = %d THEN 1 ELSE ty.id - 99 END",
		strings.Join(sets, ", "), 101+n))
	for i := 0; i <= n; i++ {
		src := (i + 1) % (n + 1) // the values row of copy row src+1; n is the NULL row
		if src == n {
			src = -1
		}
		updateWant = append(updateWant, pgTypeWant("*", 101+i, src))
		deleteWant = append(deleteWant, pgTypeWant("-", 101+i, src))
	}
	mustExec(t, w, "DELETE FROM ty WHERE id >= 101")
	read := func() [][]string {
		var rows [][]string
		for i := 0; i <= n; i++ {
			rows = append(rows, pgNext(t, st, r))
		}
		return rows
	}
	insertGot := read()
	// An UPDATE … FROM or a DELETE visits rows in no set order: their
	// change rows are compared in id order.
	updateGot, deleteGot := sortRowsByID(read()), sortRowsByID(read())
	st.close()

	phases := []struct {
		name      string
		got, want [][]string
	}{
		{"copy", copyGot, copyWant},
		{"insert", insertGot, insertWant},
		{"update", updateGot, updateWant},
		{"delete", deleteGot, deleteWant},
	}
	for _, ph := range phases {
		equalRows(t, ph.name+" rows: op and id", columnOf(ph.got, 0, 1), columnOf(ph.want, 0, 1))
	}
	for j, tc := range pgTypeCases {
		t.Run(tc.col, func(t *testing.T) {
			if got := describe[1+j]; got != tc.col+" "+tc.describe+" YES  NULL " {
				t.Errorf("DESCRIBE: %q, want type %q", got, tc.describe)
			}
			if got := header[2+j]; got != tc.col+" "+tc.header {
				t.Errorf("VSTREAM header: %q, want %q", got, tc.col+" "+tc.header)
			}
			for _, ph := range phases {
				got, want := columnOf(ph.got, 1, 2+j), columnOf(ph.want, 1, 2+j)
				if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
					t.Errorf("%s rows (id, %s):\ngot  %q\nwant %q", ph.name, tc.col, got, want)
				}
			}
		})
	}
}

// pgNext returns the stream's next row; if the stream ends instead, the
// test fails with the warnings it left on session c.
func pgNext(t *testing.T, st *stream, c querier) []string {
	t.Helper()
	if st.rows.Next() {
		st.n++
		return scanStrings(t, st.rows)
	}
	err := st.rows.Err()
	st.close()
	_, w := query(t, c, "SHOW WARNINGS")
	t.Fatalf("%s: ended after %d rows (err %v, warnings %q), want another row", st.q, st.n, err, w)
	return nil
}

// columnOf projects rows on the columns at idx.
func columnOf(rows [][]string, idx ...int) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		for _, j := range idx {
			if j < len(r) {
				out[i] = append(out[i], r[j])
			}
		}
	}
	return out
}

// sortRowsByID sorts op rows by their second value (the id) as a number.
func sortRowsByID(rows [][]string) [][]string {
	id := func(r []string) int { n, _ := strconv.Atoi(r[1]); return n }
	sort.SliceStable(rows, func(i, j int) bool { return id(rows[i]) < id(rows[j]) })
	return rows
}

// pgHeader describes the result columns of q (run in OLAP on database pg)
// as "name TYPE": go-sql-driver's DatabaseTypeName, with what tells the
// MySQL type apart: DECIMAL's precision and scale and DATETIME's and
// TIME's fractional digits (ColumnType.DecimalSize); CHAR's and VARCHAR's
// length in characters, and LONG for TEXT and BLOB of LONGTEXT's and
// LONGBLOB's length (the column definition on the wire, through
// go-mysql's client; utf8mb4 takes 4 bytes a character).
func pgHeader(t *testing.T, s *Server, q string) []string {
	t.Helper()
	rows, err := olap(t, s, "pg").QueryContext(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	cts, err := rows.ColumnTypes()
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	rows.Close()
	raw, err := gomysqlclient.Connect(s.Addr, "root", "", "pg")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Execute("SET WORKLOAD=OLAP"); err != nil {
		t.Fatal(err)
	}
	res, err := raw.Execute(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer res.Close()
	if len(res.Fields) != len(cts) {
		t.Fatalf("%s: %d columns, go-sql-driver saw %d", q, len(res.Fields), len(cts))
	}
	out := make([]string, len(cts))
	for i, ct := range cts {
		name, f := ct.DatabaseTypeName(), res.Fields[i]
		switch name {
		case "DECIMAL":
			p, sc, _ := ct.DecimalSize()
			name += fmt.Sprintf("(%d,%d)", p, sc)
		case "DATETIME", "TIME":
			p, _, _ := ct.DecimalSize()
			name += fmt.Sprintf("(%d)", p)
		case "CHAR", "VARCHAR":
			name += fmt.Sprintf("(%d)", f.ColumnLength/4)
		case "TEXT", "BLOB":
			if f.ColumnLength == math.MaxUint32 {
				name = "LONG" + name
			}
		}
		out[i] = ct.Name() + " " + name
	}
	return out
}

// pgKeyCase is a primary key of one or more columns: its values as SQL
// row literals (in any order), and as VSTREAM shows them (space-separated
// columns) in the order PostgreSQL's copy reads them.
type pgKeyCase struct {
	name string
	def  string   // the key columns: "k <type>" …
	keys []string // VALUES rows of the key columns
	want []string // in key order
}

var pgKeyCases = []pgKeyCase{
	{"int", "k integer", []string{"3", "-1", "2147483647", "0", "10"}, []string{"-1", "0", "3", "10", "2147483647"}},
	{"bigint", "k bigint", []string{"9223372036854775807", "-9223372036854775808", "0"}, []string{"-9223372036854775808", "0", "9223372036854775807"}},
	// The database's collation is C: byte order.
	{"text", "k text", []string{"'b'", "'B'", "'a'", "'é'", "'日本'", "''"}, []string{"", "B", "a", "b", "é", "日本"}},
	// A linguistic collation: the copy reads in byte order all the same
	// (COLLATE "C"), as the stream compares keys.
	{"text_icu", `k text COLLATE "en-x-icu"`, []string{"'b'", "'B'", "'a'", "'é'", "'日本'"}, []string{"B", "a", "b", "é", "日本"}},
	{"varchar", "k varchar(10)", []string{"'ab'", "'a'", "'a b'", "'Z'"}, []string{"Z", "a", "a b", "ab"}},
	{"char", "k char(3)", []string{"'b'", "'a'", "'ab'"}, []string{"a  ", "ab ", "b  "}},
	{"uuid", "k uuid", []string{"'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", "'00000000-0000-0000-0000-000000000000'", "'ffffffff-0000-0000-0000-000000000000'", "'0a000000-0000-0000-0000-000000000000'"},
		[]string{"00000000-0000-0000-0000-000000000000", "0a000000-0000-0000-0000-000000000000", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "ffffffff-0000-0000-0000-000000000000"}},
	{"bytea", "k bytea", []string{`'\xff'`, `'\x00'`, `'\x0001'`, `'\x'`, `'\x7f'`}, []string{"", "\x00", "\x00\x01", "\x7f", "\xff"}},
	{"timestamptz", "k timestamptz", []string{"'2024-01-02 10:00:00+05:30'", "'2024-01-02 04:00:00+00'", "'2024-01-02 10:00:00.5+05:30'", "'2000-01-01 05:29:59+05:30'"},
		[]string{"1999-12-31 23:59:59.000000", "2024-01-02 04:00:00.000000", "2024-01-02 04:30:00.000000", "2024-01-02 04:30:00.500000"}},
	{"timestamp", "k timestamp(3)", []string{"'2024-01-02 10:00:00.001'", "'2024-01-02 10:00:00'", "'0001-01-01 00:00:00'"},
		[]string{"0001-01-01 00:00:00.000", "2024-01-02 10:00:00.000", "2024-01-02 10:00:00.001"}},
	{"date", "k date", []string{"'2024-02-29'", "'1970-01-01'", "'9999-12-31'"}, []string{"1970-01-01", "2024-02-29", "9999-12-31"}},
	{"decimal", "k numeric(10,2)", []string{"10", "2", "-1.5", "0.01", "-10"}, []string{"-10.00", "-1.50", "0.01", "2.00", "10.00"}},
	// Keys whose text orders otherwise ("10" < "9"): the stream must
	// compare them as PostgreSQL orders them.
	{"numeric", "k numeric", []string{"9", "10", "2", "100000000000000000000", "20.5"}, []string{"2", "9", "10", "20.5", "100000000000000000000"}},
	{"double", "k double precision", []string{"1.5", "-0.25", "1e100", "0"}, []string{"-0.25", "0", "1.5", "1e+100"}},
	{"enum", "k mood", []string{"'happy'", "'sad'", "'ok'"}, []string{"sad", "ok", "happy"}},
	{"pair", "a text, b integer", []string{"'x', 2", "'x', 1", "'a', 9", "'y', 0"}, []string{"a 9", "x 1", "x 2", "y 0"}},
	{"interval", "k interval", []string{"'1 mon'", "'3 days'", "'-1 day'", "'2 years'", "'1 mon 1 day'", "'1 year -1 mons 00:00:00.5'"},
		[]string{"-1 days", "3 days", "1 mon", "1 mon 1 day", "11 mons 00:00:00.5", "2 years"}},
}

// TestPostgresKeyTypes: the copy of a table reads it in key order in
// chunks (2 rows here), each chunk after the last key read; a change made
// while the copy is under way is a change row for the rows already
// copied, and no row for the others (they are copied with it). For each
// key type: the first page (LIMIT 2), then an UPDATE of every row, then
// the rest: every key once in the copy, in key order, and '*' rows for
// the first two.
func TestPostgresKeyTypes(t *testing.T) {
	t.Parallel()
	stmts := []string{"CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')"}
	for _, kc := range pgKeyCases {
		var cols []string
		for _, c := range strings.Split(kc.def, ", ") {
			cols = append(cols, strings.Fields(c)[0])
		}
		var rows []string
		for _, k := range kc.keys {
			rows = append(rows, "("+k+", 0)")
		}
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE k_%s (%s, v int, PRIMARY KEY (%s))", kc.name, kc.def, strings.Join(cols, ", ")),
			fmt.Sprintf("INSERT INTO k_%s VALUES %s", kc.name, strings.Join(rows, ", ")))
	}
	p, s := pgServer(t, &server.Config{DefaultLimit: server.DefaultLimit, ChunkRows: 2}, stmts...)
	w := p.Admin(t, "shop")
	for _, kc := range pgKeyCases {
		t.Run(kc.name, func(t *testing.T) {
			table := "k_" + kc.name
			c := olap(t, s, "pg")
			first := pgTry(t, c, "VSTREAM * FROM "+table+" LIMIT 2")
			mustExec(t, w, "UPDATE "+table+" SET v = 1")
			var all []string
			for range 10 {
				page := pgTry(t, c, "VSTREAM * FROM "+table+" WHERE pos <= 'current' LIMIT 2")
				all = append(all, page...)
				if len(page) < 2 {
					break
				}
			}
			want := []string{"+ " + kc.want[0] + " 0", "+ " + kc.want[1] + " 0"}
			if fmt.Sprintf("%q", first) != fmt.Sprintf("%q", want) {
				t.Fatalf("first page:\ngot  %q\nwant %q", first, want)
			}
			// The rest: change rows of the first two keys, copy rows of the
			// others in key order, in any interleaving.
			var changes, copies []string
			for _, l := range all {
				if strings.HasPrefix(l, "*") {
					changes = append(changes, l)
				} else {
					copies = append(copies, l)
				}
			}
			wantChanges := []string{"* " + kc.want[0] + " 1", "* " + kc.want[1] + " 1"}
			var wantCopies []string
			for _, k := range kc.want[2:] {
				wantCopies = append(wantCopies, "+ "+k+" 1")
			}
			sort.Strings(changes) // the UPDATE visits rows in no set order
			sort.Strings(wantChanges)
			if fmt.Sprintf("%q", changes) != fmt.Sprintf("%q", wantChanges) || fmt.Sprintf("%q", copies) != fmt.Sprintf("%q", wantCopies) {
				t.Fatalf("after the UPDATE:\ngot  %q\nwant the changes %q and the copy %q", all, wantChanges, wantCopies)
			}
		})
	}
}

// pgTry runs q, which must end within pgEnds; it returns the rows as
// lines, or fails the test with the error (or the warning the statement
// left).
func pgTry(t *testing.T, c querier, q string) []string {
	t.Helper()
	out := pgLines(t, c, q)
	if _, w := query(t, c, "SHOW WARNINGS"); len(w) > 0 {
		t.Fatalf("%s: %q, then warnings %q", q, out, w)
	}
	return out
}
