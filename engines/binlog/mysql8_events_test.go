package binlog

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"testing"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/vstreamd/vstreamd/engines"
)

// TestMySQL8ReplayEvents asserts what the golden files show, one property
// at a time.
func TestMySQL8ReplayEvents(t *testing.T) { eachFixture(t, testMySQL8ReplayEvents) }

func testMySQL8ReplayEvents(t *testing.T, fx *mysql8Fixture) {
	evs := fx.mustReplay(t, replayOptions{from: prefixMySQL, tables: []string{"typed"}})
	final, err := parsePosition(fx.w.Final, flavorMySQL)
	if err != nil {
		t.Fatal(err)
	}
	uuid := fx.w.ServerUUID
	txns := splitTxns(t, evs)

	t.Run("a commit per transaction, positions MySQL56/uuid:1-N", func(t *testing.T) {
		n := 0
		for _, ivs := range (*final.gtid.(*gomysql.MysqlGTIDSet))[mustUUID(t, uuid)] {
			for _, iv := range ivs {
				n += int(iv.Stop - iv.Start)
			}
		}
		if len(txns) != n {
			t.Fatalf("%d commits, want one per transaction of %s (%d)", len(txns), final, n)
		}
		for i, tx := range txns {
			want := fmt.Sprintf("MySQL56/%s:1", uuid)
			if i > 0 {
				want = fmt.Sprintf("MySQL56/%s:1-%d", uuid, i+1)
			}
			if string(tx.commit.Pos) != want {
				t.Fatalf("commit %d at %s, want %s", i, tx.commit.Pos, want)
			}
			if tx.commit.Time.IsZero() || tx.commit.Time.Location() != time.UTC {
				t.Fatalf("commit %d: time %v, want the transaction's commit time in UTC", i, tx.commit.Time)
			}
			for _, r := range tx.rows {
				if !r.Time.Equal(tx.commit.Time) {
					t.Fatalf("commit %d: a row at %v, the commit at %v", i, r.Time, tx.commit.Time)
				}
			}
		}
		if last := txns[len(txns)-1].commit.Pos; last != final.engine() {
			t.Fatalf("last commit at %s, want the recorded final position %s", last, final)
		}
	})

	t.Run("every step ends at its recorded position", func(t *testing.T) {
		at := map[engines.Position]bool{}
		for _, tx := range txns {
			at[tx.commit.Pos] = true
		}
		for _, st := range fx.w.Steps {
			p, err := parsePosition(st.After, flavorMySQL)
			if err != nil {
				t.Fatal(err)
			}
			if !at[p.engine()] {
				t.Errorf("step %q: no commit at %s", st.Name, p)
			}
		}
	})

	step := func(name string) txn {
		t.Helper()
		for _, st := range fx.w.Steps {
			if st.Name == name {
				p, err := parsePosition(st.After, flavorMySQL)
				if err != nil {
					t.Fatal(err)
				}
				for _, tx := range txns {
					if tx.commit.Pos == p.engine() {
						return tx
					}
				}
				t.Fatalf("no commit at %s (step %q)", p, name)
			}
		}
		t.Fatalf("no step %q", name)
		return txn{}
	}

	t.Run("typed values of an insert", func(t *testing.T) {
		tx := step("insert one row of extreme values")
		if len(tx.rows) != 1 || tx.rows[0].Before != nil {
			t.Fatalf("%d rows, want one insert", len(tx.rows))
		}
		row := imageOf(t, tx.rows[0], tx.rows[0].After)
		utc := func(s string) time.Time {
			v, err := time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		want := map[string]any{
			"id": int64(1), "i8": int64(-128), "u8": uint64(255), "i16": int64(-32768), "u16": uint64(65535),
			"i24": int64(-8388608), "u24": uint64(16777215), "i32": int64(-2147483648), "u32": uint64(4294967295),
			"i64": int64(math.MinInt64), "u64": uint64(math.MaxUint64),
			"f32": float32(1.5), "f64": -2.25e300, "d_small": "-123.45", "d_big": "123456789012345678901234567890.0123456789",
			"dt": utc("2024-02-29 23:59:59"), "dt6": utc("2024-02-29 23:59:59.123456"),
			"ts": utc("2038-01-19 03:14:07"), "ts3": utc("2001-02-03 04:05:06.789"), "da": utc("1000-01-01 00:00:00"),
			"tm": "-838:59:59", "tm6": "12:34:56.000789", "yr": int64(2155),
			"ch": "ab", "vc": "héllo wörld ✓", "tx": "line one\nline two",
			"bn": []byte{0x00, 0xff, 0x00, 0x00}, "vb": []byte{0xde, 0xad, 0xbe, 0xef}, "bl": []byte{0, 1, 2},
			"en": "large", "st": "a,c",
			"b1": uint64(1), "b12": uint64(0b101010101010), "b64": uint64(math.MaxUint64),
		}
		for name, w := range want {
			if g := row[name]; !reflect.DeepEqual(g, w) {
				t.Errorf("%s = %s, want %s", name, fmtValue(g), fmtValue(w))
			}
		}
		// JSON: the same document (go-mysql renders the binary JSON
		// compactly; MySQL's SELECT puts spaces after , and :).
		var gotJS, wantJS any
		if s, ok := row["js"].(string); !ok || json.Unmarshal([]byte(s), &gotJS) != nil {
			t.Fatalf("js = %s, want a JSON text", fmtValue(row["js"]))
		}
		json.Unmarshal([]byte(`{"k": [1, 2.5, "x", null, true], "n": {"m": -1}}`), &wantJS)
		if !reflect.DeepEqual(gotJS, wantJS) {
			t.Errorf("js = %s, want the inserted document", row["js"])
		}
		if len(row) != len(want)+1 {
			t.Errorf("%d columns, want %d", len(row), len(want)+1)
		}
	})

	t.Run("a multi-row insert is one transaction; NULLs", func(t *testing.T) {
		tx := step("insert several rows")
		if ids := rowIDs(t, tx); !reflect.DeepEqual(ids, []string{"+2", "+3", "+4", "+5"}) {
			t.Fatalf("rows %v", ids)
		}
		five := imageOf(t, tx.rows[3], tx.rows[3].After)
		for name, v := range five {
			if name != "id" && v != nil {
				t.Errorf("row 5: %s = %s, want NULL", name, fmtValue(v))
			}
		}
		two := imageOf(t, tx.rows[0], tx.rows[0].After)
		if two["st"] != "" || two["js"] != "[]" || two["b12"] != uint64(0) || two["d_small"] != "0.00" || two["u64"] != uint64(0) {
			t.Errorf("row 2: st %s js %s b12 %s d_small %s u64 %s", fmtValue(two["st"]), fmtValue(two["js"]), fmtValue(two["b12"]), fmtValue(two["d_small"]), fmtValue(two["u64"]))
		}
	})

	t.Run("updates carry full before and after images", func(t *testing.T) {
		tx := step("update one row")
		if len(tx.rows) != 1 || tx.rows[0].Before == nil || tx.rows[0].After == nil {
			t.Fatalf("want one update, got %v", rowIDs(t, tx))
		}
		before, after := imageOf(t, tx.rows[0], tx.rows[0].Before), imageOf(t, tx.rows[0], tx.rows[0].After)
		if before["i32"] != int64(2) || after["i32"] != int64(42) || before["vc"] != "two" || after["vc"] != "TWO" {
			t.Errorf("i32 %s → %s, vc %s → %s", fmtValue(before["i32"]), fmtValue(after["i32"]), fmtValue(before["vc"]), fmtValue(after["vc"]))
		}
		if want := time.Date(2020, 1, 1, 0, 0, 0, 500_000_000, time.UTC); !reflect.DeepEqual(after["dt6"], want) {
			t.Errorf("dt6 = %s, want %s", fmtValue(after["dt6"]), want)
		}
		if before["en"] != "small" || after["en"] != "small" || before["u64"] != uint64(0) {
			t.Errorf("unchanged columns: en %s → %s, u64 %s", fmtValue(before["en"]), fmtValue(after["en"]), fmtValue(before["u64"]))
		}
		tx = step("update several rows")
		if ids := rowIDs(t, tx); !reflect.DeepEqual(ids, []string{"*3", "*4"}) {
			t.Fatalf("rows %v", ids)
		}
		for _, r := range tx.rows {
			if a := imageOf(t, r, r.After); a["u8"] != uint64(7) || a["st"] != "a,b,c,d" {
				t.Errorf("row %v: u8 %s st %s", a["id"], fmtValue(a["u8"]), fmtValue(a["st"]))
			}
		}
		if ids := rowIDs(t, step("delete one row")); !reflect.DeepEqual(ids, []string{"-5"}) {
			t.Fatalf("delete: rows %v", ids)
		}
		if ids := rowIDs(t, step("delete several rows")); !reflect.DeepEqual(ids, []string{"-3", "-10"}) {
			t.Fatalf("delete: rows %v", ids)
		}
	})

	t.Run("a transaction over two tables: whole, other table invisible", func(t *testing.T) {
		tx := step("transaction over two tables")
		// Dolt writes a transaction's rows per table from the commit's
		// data diff: the row inserted and then updated (10) arrives as
		// one insert with its final values.
		ids := rowIDs(t, tx)
		sort.Strings(ids)
		if !reflect.DeepEqual(ids, []string{"*1", "+10", "-4"}) {
			t.Fatalf("rows %v, want *1 +10 -4", ids)
		}
		for _, r := range tx.rows {
			if r.Table != "typed" {
				t.Fatalf("a row of %s in a stream of typed", r.Table)
			}
			if a := imageOf(t, r, r.After); r.After != nil && a["id"] == int64(10) && a["i32"] != int64(10) {
				t.Errorf("row 10: i32 %s, want 10", fmtValue(a["i32"]))
			}
		}
		other := step("other table only")
		if len(other.rows) != 0 {
			t.Fatalf("a transaction of other only: %d rows in a stream of typed", len(other.rows))
		}
	})

	t.Run("rolled back: invisible", func(t *testing.T) {
		for _, e := range evs {
			for _, img := range [][]any{e.Before, e.After} {
				if img != nil && (img[0] == int64(99) || reflect.DeepEqual(imageOf(t, e, img)["vc"], "rolled back")) {
					t.Fatalf("a rolled back row: %v", img)
				}
			}
		}
	})

	t.Run("a key-changing update", func(t *testing.T) {
		// MySQL writes one update (before id 2, after id 100); Dolt writes
		// an insert of 100 and a delete of 2. Either way the old key goes
		// and the new one comes with the row's values.
		tx := step("key-changing update")
		ids := rowIDs(t, tx)
		sort.Strings(ids)
		if !reflect.DeepEqual(ids, []string{"+100", "-2"}) && !reflect.DeepEqual(ids, []string{"*100"}) {
			t.Fatalf("rows %v", ids)
		}
		var before, after map[string]any
		for _, r := range tx.rows {
			if r.Before != nil {
				before = imageOf(t, r, r.Before)
			}
			if r.After != nil {
				after = imageOf(t, r, r.After)
			}
		}
		if before["id"] != int64(2) || after["id"] != int64(100) || before["vc"] != "TWO" || after["vc"] != "TWO" || after["i32"] != int64(42) {
			t.Fatalf("before %v after %v", before, after)
		}
	})

	t.Run("a TIMESTAMP is delivered in UTC", func(t *testing.T) {
		// Written as 12:00 in a session at +05:30. MySQL would store
		// 06:30 UTC; Dolt 2.2 ignores the session time zone and stores
		// 12:00 UTC (its SELECT in a UTC session says 12:00 too). Either
		// way the engine delivers the stored instant, in UTC, as that
		// SELECT shows it.
		tx := step("timestamp written in another session time zone")
		a := imageOf(t, tx.rows[0], tx.rows[0].After)
		sel := fx.selected(t, "typed", "11")
		for _, col := range []string{"ts", "ts3", "dt"} {
			want, err := time.ParseInLocation("2006-01-02 15:04:05.999999", sel[col], time.UTC)
			if err != nil {
				t.Fatalf("%s: %v", col, err)
			}
			if !reflect.DeepEqual(a[col], want) {
				t.Errorf("%s = %s, want %s (SELECT in UTC: %q)", col, fmtValue(a[col]), want, sel[col])
			}
		}
	})

	t.Run("DDL: a schema change, then rows with the new column", func(t *testing.T) {
		var schema []engines.Event
		for _, e := range evs {
			if e.Kind == engines.SchemaChange {
				schema = append(schema, e)
			}
		}
		if len(schema) != 2 {
			t.Fatalf("%d schema changes, want 2 (CREATE TABLE typed, ALTER TABLE typed): %v", len(schema), schema)
		}
		ddl := step("add a column")
		alter := schema[1]
		if alter.Table != "typed" {
			t.Fatalf("schema change of %q", alter.Table)
		}
		// The ALTER is the transaction before the last of its step (Dolt
		// backfills the default in a transaction of its own).
		for i, tx := range txns {
			if tx.commit.Pos == ddl.commit.Pos {
				if alter.Pos != txns[i-1].commit.Pos {
					t.Fatalf("schema change at %s, want %s (the ALTER's commit)", alter.Pos, txns[i-1].commit.Pos)
				}
			}
		}
		for _, r := range ddl.rows {
			if len(r.After) != 36 || r.Before == nil || len(r.Before) != 36 {
				t.Fatalf("backfill row with %d/%d values, want 36", len(r.Before), len(r.After))
			}
			if a := imageOf(t, r, r.After); a["added"] != "dflt" {
				t.Fatalf("backfill: added = %s", fmtValue(a["added"]))
			}
		}
		tx := step("insert after the DDL")
		a := imageOf(t, tx.rows[0], tx.rows[0].After)
		if a["added"] != "new column" || a["vc"] != "after alter" || len(tx.rows[0].After) != 36 {
			t.Fatalf("insert after the DDL: %v", a)
		}
		tx = step("update after the DDL")
		b, a := imageOf(t, tx.rows[0], tx.rows[0].Before), imageOf(t, tx.rows[0], tx.rows[0].After)
		if b["added"] != "dflt" || a["added"] != "set" || a["u16"] != uint64(1) || b["u16"] != uint64(65535) {
			t.Fatalf("update after the DDL: before %v after %v", b, a)
		}
		// The other table's DDL is not a schema change of typed, but its
		// transaction still has a commit (positions keep moving).
		if len(step("DDL of the other table").rows) != 0 {
			t.Fatal("rows in the other table's DDL")
		}
	})
}
