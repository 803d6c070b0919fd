package mssqlcdc

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// chunked copies a table in chunks of limit rows, each from a new
// snapshot after the last key, checks that the rows come in strictly
// increasing key order by the engine's CompareKeys, and returns them.
func chunked(t *testing.T, src *Source, table string, limit int) []string {
	t.Helper()
	ctx := context.Background()
	tbl, err := src.Table(ctx, table)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	var after []any
	for {
		sn, err := src.Snapshot(ctx, table)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		err = sn.Scan(ctx, after, limit, func(r []any) error {
			rows = append(rows, r)
			n++
			return nil
		})
		sn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n < limit {
			break
		}
		after = tbl.KeyOf(rows[len(rows)-1])
		if len(rows) > 100 {
			t.Fatalf("the copy of %s does not end: %v", table, rows)
		}
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = showRow(r)
		if i > 0 {
			if c, err := tbl.CompareKeys(tbl.KeyOf(rows[i-1]), tbl.KeyOf(r)); err != nil || c >= 0 {
				t.Fatalf("%s: rows %q and %q are not in increasing key order (%d, %v)", table, out[i-1], out[i], c, err)
			}
		}
	}
	return out
}

// TestKeyOrder: copy chunks resume exactly after their last key for every
// kind of key: character keys in binary order (not the case-insensitive
// collation of the column) with SQL Server's space padding,
// uniqueidentifier in SQL Server's byte order, the seventh digit of
// datetime2(7) and time(7), datetime's 1/300 s, decimals, floats, a
// composite key, and a table without a key (every column, NULL first).
func TestKeyOrder(t *testing.T) {
	tests := []struct {
		name, ddl string
		values    []string
		want      []string
	}{
		{"words", "w VARCHAR(20) PRIMARY KEY",
			[]string{"'apple'", "'Banana'", "'cherry'", "'Zulu'", "'zebra'", "'Äpfel'", "'a b'", "'a'", "'ab'", "'a!'", "'a\t'"},
			// BIN2, padded: 'a\t' < 'a' (a space pads 'a') < 'a b' < 'a!'.
			[]string{"Banana", "Zulu", "a\t", "a", "a b", "a!", "ab", "apple", "cherry", "zebra", "Äpfel"}},
		{"nwords", "w NVARCHAR(20) PRIMARY KEY",
			[]string{"N'b'", "N'B2'", "N'日本'", "N'ß'", "N'z'"},
			[]string{"B2", "b", "z", "ß", "日本"}},
		{"guids", "g UNIQUEIDENTIFIER PRIMARY KEY",
			[]string{"'00000000-0000-0000-0000-000000000002'", "'00000000-0000-0000-0000-010000000000'", "'FF000000-0000-0000-0000-000000000001'",
				"'00000000-0000-0001-0000-000000000001'", "'00000000-0000-0000-0100-000000000001'"},
			// The last group counts most, then the fourth, third, second, first.
			[]string{"FF000000-0000-0000-0000-000000000001", "00000000-0000-0001-0000-000000000001", "00000000-0000-0000-0100-000000000001",
				"00000000-0000-0000-0000-000000000002", "00000000-0000-0000-0000-010000000000"}},
		{"stamps", "ts DATETIME2(7) PRIMARY KEY",
			[]string{"'2024-01-01 00:00:00.0000002'", "'2024-01-01 00:00:00.0000001'", "'2023-12-31 23:59:59.9999999'", "'2024-01-01 00:00:00'"},
			[]string{"2023-12-31T23:59:59.9999999Z", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00.0000001Z", "2024-01-01T00:00:00.0000002Z"}},
		{"ticks", "d DATETIME PRIMARY KEY",
			[]string{"'2024-01-01 00:00:00.007'", "'2024-01-01 00:00:00.003'", "'2024-01-01 00:00:00.000'", "'2024-01-01 00:00:00.010'"},
			[]string{"2024-01-01T00:00:00Z", "2024-01-01T00:00:00.003Z", "2024-01-01T00:00:00.007Z", "2024-01-01T00:00:00.01Z"}},
		{"clock", "c TIME(7) PRIMARY KEY",
			[]string{"'00:00:00.0000002'", "'00:00:00.0000001'", "'23:00:00'"},
			[]string{"00:00:00.0000001", "00:00:00.0000002", "23:00:00.0000000"}},
		{"offsets", "o DATETIMEOFFSET(7) PRIMARY KEY",
			[]string{"'2024-01-01 10:00:00.0000001 +02:00'", "'2024-01-01 09:00:00 +00:00'", "'2024-01-01 07:30:00 -01:00'"},
			[]string{"2024-01-01T08:00:00.0000001Z", "2024-01-01T08:30:00Z", "2024-01-01T09:00:00Z"}},
		{"amounts", "d DECIMAL(10,3) PRIMARY KEY",
			[]string{"2.25", "-1.5", "0", "0.001", "10"},
			[]string{"-1.500", "0.000", "0.001", "2.250", "10.000"}},
		{"floats", "f FLOAT PRIMARY KEY",
			[]string{"10000000000", "0.1", "-1.5"},
			[]string{"-1.5", "0.1", "1e+10"}},
		{"small", "b TINYINT PRIMARY KEY",
			[]string{"200", "7", "0"},
			[]string{"0", "7", "200"}},
	}
	f := newFixture(t)
	for _, tc := range tests {
		f.table("CREATE TABLE " + tc.name + " (" + tc.ddl + ")")
		for _, v := range tc.values {
			f.exec("INSERT INTO " + tc.name + " VALUES (" + v + ")")
		}
	}
	src := f.source("sa", "")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{1, 2, 100} {
				if got := chunked(t, src, tc.name, limit); !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("chunks of %d: %q\nwant %q", limit, got, tc.want)
				}
			}
		})
	}
}

// TestKeyOrderComposite: a composite key and a table without any key.
func TestKeyOrderComposite(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE pairs (a INT, b NVARCHAR(10), v INT, PRIMARY KEY (a, b))")
	f.exec("INSERT INTO pairs VALUES (1, N'b', 1), (1, N'A', 2), (2, N'a', 3), (0, N'z', 4), (1, N'B2', 5)")
	f.table("CREATE TABLE loose (a INT, b VARCHAR(5))")
	f.exec("INSERT INTO loose VALUES (NULL, 'x'), (1, NULL), (1, 'a'), (NULL, NULL), (0, 'q')")
	src := f.source("sa", "")
	for _, limit := range []int{1, 2, 10} {
		if got := chunked(t, src, "pairs", limit); strings.Join(got, ",") != "0 z 4,1 A 2,1 B2 5,1 b 1,2 a 3" {
			t.Fatalf("pairs in chunks of %d: %q", limit, got)
		}
		if got := chunked(t, src, "loose", limit); strings.Join(got, ",") != "NULL NULL,NULL x,0 q,1 NULL,1 a" {
			t.Fatalf("loose in chunks of %d: %q", limit, got)
		}
	}
}
