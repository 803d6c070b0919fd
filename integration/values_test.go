package integration

import (
	"fmt"
	"testing"
)

// Contract §3: values equal what a direct SELECT on the source returns,
// with the same column types; keys of every kind resume.

const typesSchema = `
CREATE TABLE t (
  id INT NOT NULL, i8 TINYINT, u32 INT UNSIGNED, big BIGINT UNSIGNED, f FLOAT, d DOUBLE, dec1 DECIMAL(10,3),
  s VARCHAR(20), c CHAR(5), txt TEXT, bin BINARY(4), vb VARBINARY(10), bl BLOB,
  dt DATETIME(6), ts TIMESTAMP, da DATE, tm TIME, yr YEAR, e ENUM('a','b'), st SET('x','y'), j JSON, bo BOOLEAN, bt BIT(8),
  PRIMARY KEY (id));
CREATE TABLE item (a VARCHAR(10) NOT NULL, b INT NOT NULL, v TEXT, PRIMARY KEY (a, b));
`

func TestValuesEqualSelect(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(typesSchema, "ks"))
	w := s.Conn(t, "ks")
	mustExec(t, w,
		`INSERT INTO t VALUES (1, -5, 4000000000, 18446744073709551615, 1.5, 2.25, 123.456, 'héllo', 'ab', 'long text', 'ab', 'x\0y', 'blob',
		 '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05', '2024-01-02', '03:04:05', 2024, 'b', 'x,y', '{"a": [1, 2]}', true, b'101')`,
		"INSERT INTO t (id) VALUES (2)",
		`INSERT INTO t VALUES (3, 127, 0, 0, -0.25, 1e100, -0.001, '', '', '', '', '', '',
		 '1970-01-01 00:00:01', '2038-01-19 03:14:07', '1000-01-01', '-838:59:59', 1901, 'a', '', 'null', false, b'11111111')`,
	)
	c := olap(t, s, "ks")

	// Copy rows.
	selCols, selRows := query(t, w, "SELECT * FROM t ORDER BY id")
	vsCols, vsRows := query(t, c, "VSTREAM * FROM t WHERE pos <= 'current'")
	equalStrings(t, "columns", vsCols, append([]string{"op"}, selCols...)...)
	equalLines(t, "copy rows", lines(vsRows), prefix("+ ", lines(selRows))...)
	// The same MySQL types and nullability in the header.
	const typed = "id, i8, u32, big, f, d, dec1, s, c, txt, bin, vb, bl, dt, ts, da, tm, yr, e, st, j, bo, bt"
	equalStrings(t, "column types", columnTypes(t, c, "VSTREAM "+typed+" FROM t LIMIT 0")[1:], columnTypes(t, w, "SELECT "+typed+" FROM t LIMIT 0")...)

	// Change images.
	before := queryLines(t, w, "SELECT * FROM t WHERE id = 3")
	mustExec(t, w,
		"UPDATE t SET i8 = -128, dec1 = 9999999.999, s = 'ünïcode', dt = '2000-02-29 23:59:59.999999', j = '[true, null]', bt = b'0', st = 'y' WHERE id = 1",
		"UPDATE t SET s = 'set', da = '2024-02-29' WHERE id = 2",
		"DELETE FROM t WHERE id = 3",
	)
	after := queryLines(t, w, "SELECT * FROM t WHERE id IN (1, 2) ORDER BY id")
	equalLines(t, "change images", queryLines(t, c, "VSTREAM * FROM t WHERE pos <= 'current'"),
		"* "+after[0], "* "+after[1], "- "+before[0])
}

// columnTypes returns the database type names of q's columns.
func columnTypes(tb testing.TB, c querier, q string) []string {
	tb.Helper()
	rows, err := c.QueryContext(tb.Context(), q)
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, ct := range cts {
		null, _ := ct.Nullable()
		out = append(out, fmt.Sprintf("%s null=%v", ct.DatabaseTypeName(), null))
	}
	for rows.Next() {
	}
	return out
}

// TestResumeCompositeKey: a two-column string/int key, copied one or two
// rows per chunk, resumes from every copy row's token and pages through the
// session.
func TestResumeCompositeKey(t *testing.T) {
	t.Parallel()
	for _, chunk := range []int{1, 2} {
		t.Run(fmt.Sprintf("ChunkRows %d", chunk), func(t *testing.T) {
			t.Parallel()
			cfg := Embedded(typesSchema, "ks")
			cfg.ChunkRows = chunk
			s := Start(t, cfg)
			w := s.Conn(t, "ks")
			mustExec(t, w, "INSERT INTO item VALUES ('a', 2, 'x'), ('a', 1, 'y'), ('B', 1, 'z'), ('b', 0, 'w'), ('a''q', -1, 'quote'), ('', 5, 'empty')")
			table := prefix("+ ", queryLines(t, w, "SELECT * FROM item ORDER BY a, b"))

			rows, toks := withPos(t, queryLines(t, olap(t, s, "ks"), "VSTREAM *, pos FROM item WHERE pos <= 'current'"))
			equalLines(t, "copy in key order", rows, table...)
			for r, tok := range toks {
				q := fmt.Sprintf("VSTREAM * FROM item WHERE pos > '%s' AND pos <= 'current'", tok)
				equalLines(t, fmt.Sprintf("after copy row %d", r+1), queryLines(t, olap(t, s, "ks"), q), table[r+1:]...)
			}

			c := olap(t, s, "ks")
			var paged []string
			for i := 0; i < len(table); i += 4 {
				paged = append(paged, queryLines(t, c, "VSTREAM * FROM item WHERE pos <= 'current' LIMIT 4")...)
				if i == 0 {
					_, st := query(t, c, "SELECT state, last_pk, rows_copied FROM vstream_copy_state('ks.item')")
					if len(st) != 1 || st[0][0] != "copying" || st[0][2] != "4" {
						t.Fatalf("copy state after 4 rows: %q", st)
					}
				}
			}
			equalLines(t, "paged", paged, table...)
		})
	}
}
