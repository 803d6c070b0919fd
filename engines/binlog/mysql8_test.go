package binlog

// Replay tests of the MySQL flavor: the binary log recorded from a
// MySQL-protocol server (testdata/mysql8, recorded from Dolt by
// TestRecordMySQL8Fixtures) is decoded by go-mysql as the replication
// connection decodes it and fed through the engine's reader, with the
// schema information_schema reported at recording time. No server is
// needed. Golden files: go test ./engines/binlog -run MySQL8 -update.

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/klauspost/compress/zstd"

	"github.com/vstreamd/vstreamd/engines"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files of testdata/mysql8")

// replayParser decodes events as the reader's BinlogSyncer does (see
// reader.run): flavor mysql, timestamps in UTC, the other options at their
// defaults.
func replayParser() *replication.BinlogParser {
	p := replication.NewBinlogParser()
	p.SetFlavor(gomysql.MySQLFlavor)
	p.SetTimestampStringLocation(time.UTC)
	return p
}

// mysql8Fixture is a recorded workload and its binary log.
type mysql8Fixture struct {
	set fixtureSet
	w   fixtureWorkloadFile
	raw []byte // the .binlog file
}

// eachFixture runs f on every recording (binlog_row_metadata MINIMAL and
// FULL), as subtests named by it.
func eachFixture(t *testing.T, f func(t *testing.T, fx *mysql8Fixture)) {
	for _, fs := range fixtureSets {
		t.Run(fs.metadata, func(t *testing.T) { f(t, loadMySQL8Fixture(t, fs)) })
	}
}

func loadMySQL8Fixture(t *testing.T, fs fixtureSet) *mysql8Fixture {
	t.Helper()
	fx := &mysql8Fixture{set: fs}
	js, err := os.ReadFile(filepath.Join(fixtureDir, fs.workload))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &fx.w); err != nil {
		t.Fatal(err)
	}
	if got := fx.w.Variables["binlog_row_metadata"]; got != fs.metadata {
		t.Fatalf("%s was recorded with binlog_row_metadata=%s, want %s", fs.workload, got, fs.metadata)
	}
	if fx.raw, err = os.ReadFile(filepath.Join(fixtureDir, fs.binlog)); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(fx.raw, replication.BinLogFileHeader) {
		t.Fatalf("%s does not start with the binary log magic", fs.binlog)
	}
	return fx
}

// events decodes a recorded stream (magic, then events) afresh.
func decodeEvents(t *testing.T, raw []byte) []*replication.BinlogEvent {
	t.Helper()
	var out []*replication.BinlogEvent
	err := replayParser().ParseReader(bytes.NewReader(raw[len(replication.BinLogFileHeader):]), func(e *replication.BinlogEvent) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// replayOptions describe one replay.
type replayOptions struct {
	from   string   // start position ("MySQL56/": the beginning)
	tables []string // the stream's tables
	// batch sends everything in one batch, as when the whole log is
	// ready at once; otherwise each event is sent as it is handled, as
	// when events trickle in.
	batch bool
	// latestSchema serves the schema as it was at the end of the
	// recording, whatever the reader's position (a stream that resumes
	// from before a DDL); otherwise the schema as of the reader's position.
	latestSchema bool
	raw          []byte // the stream to replay instead of the fixture's
}

// replay feeds the fixture through a reader and returns what it sent.
func (fx *mysql8Fixture) replay(t *testing.T, o replayOptions) ([]engines.Event, error) {
	t.Helper()
	raw := o.raw
	if raw == nil {
		raw = fx.raw
	}
	start, err := parsePosition(o.from, flavorMySQL)
	if err != nil {
		t.Fatal(err)
	}
	schema := &fixtureSchemaConnector{t: t}
	for _, s := range fx.w.Schema {
		set, err := gomysql.ParseMysqlGTIDSet(s.Before)
		if err != nil {
			t.Fatal(err)
		}
		schema.snaps = append(schema.snaps, schemaSnap{before: set, s: s})
	}
	src := &Source{
		cfg:      Config{Host: "fixture", Port: 3306, User: "repl", Database: fx.w.Database},
		keyspace: "ks", flavor: flavorMySQL, db: sql.OpenDB(schema),
		log: slog.New(slog.NewTextHandler(io.Discard, nil)), tables: make(map[string]*tableInfo),
	}
	defer src.Close()
	var got []engines.Event
	r := newReader(src, flavorMySQL, start, o.tables, func(evs []engines.Event) error {
		got = append(got, evs...)
		return nil
	})
	r.sentPos = r.pos.clone() // as run does on the first connection
	if !o.latestSchema {
		schema.at = func() gomysql.GTIDSet { return r.pos.gtid }
	}
	ctx := context.Background()
	for _, ev := range decodeEvents(t, raw) {
		if err := r.handle(ctx, ev); err != nil {
			return got, err
		}
		if !o.batch {
			if err := r.flush(); err != nil {
				return got, err
			}
		}
	}
	return got, r.flush()
}

func (fx *mysql8Fixture) mustReplay(t *testing.T, o replayOptions) []engines.Event {
	t.Helper()
	got, err := fx.replay(t, o)
	if err != nil {
		t.Fatalf("replay from %q of %v: %v", o.from, o.tables, err)
	}
	return got
}

// TestMySQL8ReplayGolden compares the engine events of the recorded
// workload with the golden files: op images with typed values, commits
// with their positions and times, schema changes.
func TestMySQL8ReplayGolden(t *testing.T) { eachFixture(t, testMySQL8ReplayGolden) }

func testMySQL8ReplayGolden(t *testing.T, fx *mysql8Fixture) {
	base := strings.TrimSuffix(fx.set.binlog, ".binlog")
	for _, tc := range []struct {
		golden string
		tables []string
	}{
		{base + ".typed.golden", []string{"typed"}},
		{base + ".typed+other.golden", []string{"typed", "OTHER"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			got := renderEvents(fx.mustReplay(t, replayOptions{from: prefixMySQL, tables: tc.tables}))
			header := fmt.Sprintf("# Engine events of VSTREAM %s from %s, replaying %s/%s (recorded from %s,\n# @@version %s, binlog_row_metadata=%s). Regenerate: go test ./engines/binlog -run TestMySQL8ReplayGolden -update\n",
				strings.Join(tc.tables, ", "), prefixMySQL, fixtureDir, fx.set.binlog, fx.w.DoltVersion, fx.w.ServerVersion, fx.set.metadata)
			got = header + got
			path := filepath.Join(fixtureDir, tc.golden)
			if *updateGolden {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("the events differ from %s (-update rewrites it):\n%s", path, lineDiff(string(want), got))
			}
		})
	}
}

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

// TestMySQL8ReplayOtherTable: a stream of both tables sees the other
// table's rows and schema change, in the same transactions.
func TestMySQL8ReplayOtherTable(t *testing.T) { eachFixture(t, testMySQL8ReplayOtherTable) }

func testMySQL8ReplayOtherTable(t *testing.T, fx *mysql8Fixture) {
	only := fx.mustReplay(t, replayOptions{from: prefixMySQL, tables: []string{"typed"}})
	both := fx.mustReplay(t, replayOptions{from: prefixMySQL, tables: []string{"typed", "other"}})
	var commitsOnly, commitsBoth []engines.Event
	var otherRows []string
	schema := map[string]int{}
	for _, e := range only {
		if e.Kind == engines.Commit {
			commitsOnly = append(commitsOnly, e)
		}
	}
	for _, e := range both {
		switch e.Kind {
		case engines.Commit:
			commitsBoth = append(commitsBoth, e)
		case engines.SchemaChange:
			schema[e.Table]++
		case engines.RowChange:
			if e.Table == "other" {
				otherRows = append(otherRows, opOf(e)+fmt.Sprint(e.After)+fmt.Sprint(e.Before))
			}
		}
	}
	if !reflect.DeepEqual(commitsOnly, commitsBoth) {
		t.Fatalf("the commits differ with another table in the stream")
	}
	if schema["other"] != 2 || schema["typed"] != 2 {
		t.Fatalf("schema changes %v, want 2 of each table (CREATE, ALTER)", schema)
	}
	want := []string{"+[1 in txn][]", "+[2 only other][]", "+[3 x][]", "*[3 y][3 x]", "+[4 after 4][]"}
	if !reflect.DeepEqual(otherRows, want) {
		t.Fatalf("rows of other:\n%q\nwant\n%q", otherRows, want)
	}
}

// TestMySQL8ReplayResume: a stream from any recorded position gets
// exactly the events after it, although the binary log is replayed from
// its beginning (as Dolt does, ignoring the GTID set of the dump request):
// the reader skips the transactions its position holds.
func TestMySQL8ReplayResume(t *testing.T) { eachFixture(t, testMySQL8ReplayResume) }

func testMySQL8ReplayResume(t *testing.T, fx *mysql8Fixture) {
	tables := []string{"typed", "other"}
	all := fx.mustReplay(t, replayOptions{from: prefixMySQL, tables: tables})
	for _, st := range fx.w.Steps {
		from, err := parsePosition(st.After, flavorMySQL)
		if err != nil {
			t.Fatal(err)
		}
		got := fx.mustReplay(t, replayOptions{from: from.String(), tables: tables})
		var want []engines.Event
		for i, e := range all {
			if e.Kind == engines.Commit && e.Pos == from.engine() {
				want = all[i+1:]
			}
		}
		if len(want) == 0 && len(got) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("from %s (after %q): %d events, want the %d after it:\n%s", from, st.Name, len(got), len(want), lineDiff(renderEvents(want), renderEvents(got)))
		}
	}
	// A position that also holds another server's transactions (a
	// replica promoted, several sources): those stay in every position.
	foreign := uuidB + ":1-100"
	from := fx.w.Steps[3].After + "," + foreign
	got := fx.mustReplay(t, replayOptions{from: "MySQL56/" + from, tables: tables})
	if len(got) == 0 {
		t.Fatal("nothing after a position with two servers")
	}
	for _, e := range got {
		if e.Kind == engines.Commit || e.Kind == engines.SchemaChange {
			p, err := parsePosition(string(e.Pos), flavorMySQL)
			if err != nil {
				t.Fatal(err)
			}
			f, _ := parsePosition(foreign, flavorMySQL)
			if c, err := compare(p, f); err != nil || c != 1 {
				t.Fatalf("commit at %s does not hold %s (%d, %v)", e.Pos, foreign, c, err)
			}
		}
	}
	if last := got[len(got)-1].Pos; !strings.Contains(string(last), foreign) || !strings.Contains(string(last), fx.w.Final) {
		t.Fatalf("last position %s, want %s and %s", last, fx.w.Final, foreign)
	}
	// A position that holds everything: nothing but nothing.
	if got := fx.mustReplay(t, replayOptions{from: fx.w.Final, tables: tables}); len(got) != 0 {
		t.Fatalf("from the final position: %d events, want none:\n%s", len(got), renderEvents(got))
	}
}

// TestMySQL8ReplayBatched: with the whole log in one batch, consecutive
// commits without rows merge into the last one; nothing else changes.
func TestMySQL8ReplayBatched(t *testing.T) { eachFixture(t, testMySQL8ReplayBatched) }

func testMySQL8ReplayBatched(t *testing.T, fx *mysql8Fixture) {
	tables := []string{"typed"}
	each := fx.mustReplay(t, replayOptions{from: prefixMySQL, tables: tables})
	one := fx.mustReplay(t, replayOptions{from: prefixMySQL, tables: tables, batch: true})
	var want []engines.Event
	for i, e := range each {
		if e.Kind == engines.Commit && i+1 < len(each) && each[i+1].Kind == engines.Commit && (i == 0 || each[i-1].Kind != engines.RowChange) {
			continue // a commit without rows, followed by another such commit
		}
		want = append(want, e)
	}
	if !reflect.DeepEqual(one, want) {
		t.Fatalf("one batch:\n%s", lineDiff(renderEvents(want), renderEvents(one)))
	}
	if len(one) >= len(each) {
		t.Fatalf("no commits merged (%d events in one batch, %d one by one)", len(one), len(each))
	}
}

// TestMySQL8ReplayCompressed: MySQL 8.0.20+ with
// binlog_transaction_compression=ON wraps each DML transaction's events
// (BEGIN … XID) into one zstd TRANSACTION_PAYLOAD event after its GTID
// event. Dolt cannot write those, so this test builds them from the
// recording, the way MySQL lays them out, and the stream must not change.
func TestMySQL8ReplayCompressed(t *testing.T) { eachFixture(t, testMySQL8ReplayCompressed) }

func testMySQL8ReplayCompressed(t *testing.T, fx *mysql8Fixture) {
	compressed, n := compressTransactions(t, fx.raw)
	if n == 0 {
		t.Fatal("no transaction compressed")
	}
	var payloads int
	for _, e := range decodeEvents(t, compressed) {
		if p, ok := e.Event.(*replication.TransactionPayloadEvent); ok {
			payloads++
			if len(p.Events) < 3 {
				t.Fatalf("a payload of %d events", len(p.Events))
			}
		}
	}
	if payloads != n {
		t.Fatalf("%d payload events decoded, %d written", payloads, n)
	}
	for _, tables := range [][]string{{"typed"}, {"typed", "other"}} {
		plain := fx.mustReplay(t, replayOptions{from: prefixMySQL, tables: tables})
		got := fx.mustReplay(t, replayOptions{from: prefixMySQL, tables: tables, raw: compressed})
		if !reflect.DeepEqual(got, plain) {
			t.Fatalf("compressed stream of %v:\n%s", tables, lineDiff(renderEvents(plain), renderEvents(got)))
		}
		mid := fx.w.Steps[6].After
		plain = fx.mustReplay(t, replayOptions{from: mid, tables: tables})
		got = fx.mustReplay(t, replayOptions{from: mid, tables: tables, raw: compressed})
		if !reflect.DeepEqual(got, plain) {
			t.Fatalf("compressed stream of %v from %s:\n%s", tables, mid, lineDiff(renderEvents(plain), renderEvents(got)))
		}
	}
}

// TestMySQL8ReplayWithoutColumnNames: the recorded server writes no column
// names (binlog_row_metadata=MINIMAL), so a stream that starts before a
// DDL while the table already has its new columns cannot decode the old
// rows: it must say so, naming the fix, and not mis-assign values.
func TestMySQL8ReplayWithoutColumnNames(t *testing.T) {
	fx := loadMySQL8Fixture(t, fixtureSets[0])
	got, err := fx.replay(t, replayOptions{from: prefixMySQL, tables: []string{"typed"}, latestSchema: true})
	if !errors.Is(err, engines.ErrUnsupported) || !strings.Contains(err.Error(), "binlog_row_metadata=FULL") {
		t.Fatalf("replay with today's schema: %v, want ErrUnsupported naming binlog_row_metadata=FULL", err)
	}
	for _, e := range got {
		if e.Kind == engines.RowChange {
			t.Fatalf("a row was sent before the error: %v", e)
		}
	}
	// From after the DDL the table and the log agree again.
	from := ""
	for _, st := range fx.w.Steps {
		if st.Name == "add a column" {
			from = st.After
		}
	}
	evs := fx.mustReplay(t, replayOptions{from: from, tables: []string{"typed"}, latestSchema: true})
	rows := 0
	for _, e := range evs {
		if e.Kind == engines.RowChange {
			rows++
		}
	}
	if rows == 0 {
		t.Fatal("no rows after the DDL")
	}
}

// selected returns a row of the recorded final SELECT of a table, by id,
// as column → text ("" for NULL is not distinguished: see selectedRows).
func (fx *mysql8Fixture) selected(t *testing.T, table, id string) map[string]string {
	t.Helper()
	for _, row := range fx.selectedRows(t, table) {
		if row["id"] != nil && *row["id"] == id {
			out := map[string]string{}
			for k, v := range row {
				if v != nil {
					out[k] = *v
				}
			}
			return out
		}
	}
	t.Fatalf("no row %s in the recorded contents of %s", id, table)
	return nil
}

// selectedRows returns the recorded final SELECT of a table: column →
// text, nil for NULL.
func (fx *mysql8Fixture) selectedRows(t *testing.T, table string) []map[string]*string {
	t.Helper()
	tab, ok := fx.w.Tables[table]
	if !ok {
		t.Fatalf("no recorded contents of %s", table)
	}
	var out []map[string]*string
	for _, row := range tab.Rows {
		m := map[string]*string{}
		for i, cell := range row {
			if cell == nil {
				m[tab.Columns[i]] = nil
				continue
			}
			kind, text, _ := strings.Cut(*cell, ":")
			if kind == "x" {
				b, err := hex.DecodeString(text)
				if err != nil {
					t.Fatal(err)
				}
				text = string(b)
			}
			m[tab.Columns[i]] = &text
		}
		out = append(out, m)
	}
	return out
}

// TestMySQL8ReplayMatchesSelect: the stream folded by key equals the
// tables as the server's own SELECT returned them at the end of the
// recording, value by value in the engine's types (the binary log decoded
// by fromBinlog, the SELECT's text by fromText).
func TestMySQL8ReplayMatchesSelect(t *testing.T) { eachFixture(t, testMySQL8ReplayMatchesSelect) }

func testMySQL8ReplayMatchesSelect(t *testing.T, fx *mysql8Fixture) {
	evs := fx.mustReplay(t, replayOptions{from: prefixMySQL, tables: []string{"typed", "other"}})
	// The tables' final schema, decoded as the engine decodes it.
	last := fx.w.Schema[len(fx.w.Schema)-1]
	db := sql.OpenDB(&fixtureSchemaConnector{t: t, snaps: []schemaSnap{{s: last}}})
	defer db.Close()
	for _, table := range []string{"typed", "other"} {
		info, err := readTable(context.Background(), db, fx.w.Database, table)
		if err != nil {
			t.Fatal(err)
		}
		folded := map[string]map[string]any{}
		for _, e := range evs {
			if e.Kind != engines.RowChange || e.Table != table {
				continue
			}
			if e.Before != nil {
				delete(folded, fmt.Sprint(e.Before[0]))
			}
			if e.After != nil {
				folded[fmt.Sprint(e.After[0])] = imageOf(t, e, e.After)
			}
		}
		selected := fx.selectedRows(t, table)
		if len(folded) != len(selected) {
			t.Fatalf("%s: %d rows folded from the stream, %d selected", table, len(folded), len(selected))
		}
		for _, row := range selected {
			id := *row["id"]
			got, ok := folded[id]
			if !ok {
				t.Fatalf("%s: row %s selected but not in the stream", table, id)
			}
			for _, c := range info.cols {
				text := row[c.name]
				var raw []byte
				if text != nil {
					raw = []byte(*text)
				}
				want, err := c.fromText(raw)
				if err != nil {
					t.Fatalf("%s.%s: %v", table, c.name, err)
				}
				// A column added (without a default) after the row's
				// last change is not in its image: NULL, as a reader
				// mapping old images by name takes it.
				v := got[c.name]
				if c.kind == kTime {
					v, want = doltTime(v), doltTime(want)
				}
				if c.kind == kJSON {
					v = doltJSON(v)
				}
				if !reflect.DeepEqual(v, want) {
					t.Errorf("%s row %s: %s = %s in the stream, %s by SELECT", table, id, c.name, fmtValue(got[c.name]), fmtValue(want))
				}
			}
		}
	}
}

// doltTime undoes a quirk of Dolt where a MySQL server differs: Dolt
// reports a TIME column declared without fractional seconds as time(6),
// and its SELECT shows six zero fractional digits ("-838:59:59.000000"),
// while its binary log declares no fraction ("-838:59:59"), as MySQL's
// SELECT and binary log both do. An all-zero fraction is dropped.
func doltTime(v any) any {
	if s, ok := v.(string); ok {
		return strings.TrimSuffix(s, ".000000")
	}
	return v
}

// doltJSON undoes another: Dolt's SELECT prints JSON compact, while
// MySQL's, which the engine matches, puts a space after ',' and ':'.
func doltJSON(v any) any {
	if s, ok := v.(string); ok {
		var b bytes.Buffer
		if json.Compact(&b, []byte(s)) == nil {
			return b.String()
		}
	}
	return v
}

// TestMySQL8ReplayWithColumnNames: with binlog_row_metadata=FULL the
// binary log names its columns, so a stream that starts before a DDL
// decodes the old rows by name with today's schema: the same rows as a
// stream that read each schema in its time.
func TestMySQL8ReplayWithColumnNames(t *testing.T) {
	fx := loadMySQL8Fixture(t, fixtureSets[1])
	tables := []string{"typed", "other"}
	today := fx.mustReplay(t, replayOptions{from: prefixMySQL, tables: tables, latestSchema: true})
	intime := fx.mustReplay(t, replayOptions{from: prefixMySQL, tables: tables})
	if !reflect.DeepEqual(today, intime) {
		t.Fatalf("decoded with today's schema:\n%s", lineDiff(renderEvents(intime), renderEvents(today)))
	}
	// The images before the ALTER have the 35 columns they had.
	for _, e := range today {
		if e.Kind == engines.RowChange && e.Table == "typed" {
			if len(e.Columns) != 35 {
				t.Fatalf("the first row of typed has %d columns, want the 35 of its time", len(e.Columns))
			}
			break
		}
	}
}

// --- transactions and images ------------------------------------------

type txn struct {
	rows   []engines.Event
	commit engines.Event
}

// splitTxns groups events into transactions, checking that every row and
// schema change is followed by a commit.
func splitTxns(t *testing.T, evs []engines.Event) []txn {
	t.Helper()
	var out []txn
	var cur txn
	for _, e := range evs {
		switch e.Kind {
		case engines.RowChange:
			cur.rows = append(cur.rows, e)
		case engines.SchemaChange:
			if len(cur.rows) != 0 {
				t.Fatalf("a schema change inside a transaction at %s", e.Pos)
			}
		case engines.Commit:
			cur.commit = e
			out = append(out, cur)
			cur = txn{}
		default:
			t.Fatalf("event of kind %v", e.Kind)
		}
	}
	if len(cur.rows) != 0 {
		t.Fatalf("%d rows after the last commit", len(cur.rows))
	}
	return out
}

// imageOf maps a row image by column name.
func imageOf(t *testing.T, e engines.Event, img []any) map[string]any {
	t.Helper()
	if img == nil {
		return nil
	}
	if len(e.Columns) != len(img) {
		t.Fatalf("an image of %d values with %d column names", len(img), len(e.Columns))
	}
	m := make(map[string]any, len(img))
	for i, v := range img {
		m[e.Columns[i]] = v
	}
	return m
}

func opOf(e engines.Event) string {
	switch {
	case e.Before == nil:
		return "+"
	case e.After == nil:
		return "-"
	}
	return "*"
}

// rowIDs lists a transaction's rows as op and id: "+2", "*3", "-5".
func rowIDs(t *testing.T, tx txn) []string {
	t.Helper()
	var out []string
	for _, r := range tx.rows {
		img := r.After
		if img == nil {
			img = r.Before
		}
		out = append(out, opOf(r)+fmt.Sprint(img[0]))
	}
	return out
}

func mustUUID(t *testing.T, s string) (u [16]byte) {
	t.Helper()
	set, err := gomysql.ParseMysqlGTIDSet(s + ":1")
	if err != nil {
		t.Fatal(err)
	}
	for k := range *set.(*gomysql.MysqlGTIDSet) {
		u = k
	}
	return u
}

// --- rendering -----------------------------------------------------------

// renderEvents prints events for the golden files: one line per commit and
// schema change, a block per row with every column's typed value (before
// => after where an update changed it).
func renderEvents(evs []engines.Event) string {
	var b strings.Builder
	for _, e := range evs {
		switch e.Kind {
		case engines.Commit:
			fmt.Fprintf(&b, "commit %s at %s\n", e.Pos, fmtTime(e.Time))
		case engines.SchemaChange:
			fmt.Fprintf(&b, "schema-change %s at %s\n", e.Table, e.Pos)
		case engines.RowChange:
			fmt.Fprintf(&b, "row %s %s at %s\n", opOf(e), e.Table, fmtTime(e.Time))
			n := max(len(e.Before), len(e.After))
			for i := 0; i < n; i++ {
				name := "?"
				if i < len(e.Columns) {
					name = e.Columns[i]
				}
				switch {
				case e.Before == nil:
					fmt.Fprintf(&b, "  %-8s %s\n", name, fmtValue(e.After[i]))
				case e.After == nil:
					fmt.Fprintf(&b, "  %-8s %s\n", name, fmtValue(e.Before[i]))
				case reflect.DeepEqual(e.Before[i], e.After[i]):
					fmt.Fprintf(&b, "  %-8s %s\n", name, fmtValue(e.After[i]))
				default:
					fmt.Fprintf(&b, "  %-8s %s => %s\n", name, fmtValue(e.Before[i]), fmtValue(e.After[i]))
				}
			}
		default:
			fmt.Fprintf(&b, "unknown event %v\n", e)
		}
	}
	return b.String()
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "(no time)"
	}
	if t.Location() != time.UTC {
		return t.Format(time.RFC3339Nano) + " (not UTC: " + t.Location().String() + ")"
	}
	return t.Format(time.RFC3339Nano)
}

// fmtValue shows a value with its Go type: the engine's representation is
// part of what the golden files pin.
func fmtValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return "int64 " + strconv.FormatInt(x, 10)
	case uint64:
		return "uint64 " + strconv.FormatUint(x, 10)
	case float32:
		return "float32 " + strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return "float64 " + strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return "string " + strconv.Quote(x)
	case []byte:
		return fmt.Sprintf("bytes 0x%x", x)
	case time.Time:
		return "time " + fmtTime(x)
	}
	return fmt.Sprintf("%T %v", v, v)
}

// lineDiff shows the first differing lines of two texts.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			lo, hi := max(0, i-3), min(max(len(w), len(g)), i+8)
			var b strings.Builder
			fmt.Fprintf(&b, "first difference at line %d:\n", i+1)
			for j := lo; j < hi; j++ {
				var a, c string
				if j < len(w) {
					a = w[j]
				}
				if j < len(g) {
					c = g[j]
				}
				mark := " "
				if a != c {
					mark = "!"
				}
				fmt.Fprintf(&b, "%s want %-60q got %q\n", mark, a, c)
			}
			return b.String()
		}
	}
	return "(no difference)"
}

// TestMySQL8ReplayCommitTimes: MySQL 8 writes each transaction's
// original_commit_timestamp (microseconds, the commit on the server where
// it was first committed) into its GTID event; Dolt writes a short GTID
// event without it, so the engine falls back to the events' header
// timestamps (seconds). With the GTID events rewritten as MySQL 8.0 lays
// them out, commits and rows carry the original commit time, and nothing
// else changes.
func TestMySQL8ReplayCommitTimes(t *testing.T) { eachFixture(t, testMySQL8ReplayCommitTimes) }

func testMySQL8ReplayCommitTimes(t *testing.T, fx *mysql8Fixture) {
	rewritten, octs := rewriteGTIDEvents(t, fx.raw)
	for _, e := range decodeEvents(t, rewritten) {
		if g, ok := e.Event.(*replication.GTIDEvent); ok {
			if g.OriginalCommitTimestamp == 0 || g.ImmediateCommitTimestamp != g.OriginalCommitTimestamp+2_000_000 ||
				g.OriginalServerVersion != 80031 || g.ImmediateServerVersion != 80031 || g.SequenceNumber == 0 {
				t.Fatalf("a rewritten GTID event decodes as %+v", g)
			}
		}
	}
	for _, compress := range []bool{false, true} {
		raw := rewritten
		if compress {
			raw, _ = compressTransactions(t, rewritten)
		}
		tables := []string{"typed", "other"}
		plain := fx.mustReplay(t, replayOptions{from: prefixMySQL, tables: tables})
		got := fx.mustReplay(t, replayOptions{from: prefixMySQL, tables: tables, raw: raw})
		if len(got) != len(plain) {
			t.Fatalf("compressed %v: %d events, %d without commit timestamps", compress, len(got), len(plain))
		}
		for i, txn := range splitTxns(t, got) {
			want, ok := octs[string(txn.commit.Pos)]
			if !ok {
				t.Fatalf("no GTID event for the commit at %s", txn.commit.Pos)
			}
			if !txn.commit.Time.Equal(want) || txn.commit.Time.Location() != time.UTC {
				t.Fatalf("commit %d at %s: time %v, want the original commit timestamp %v", i, txn.commit.Pos, txn.commit.Time, want)
			}
			for _, r := range txn.rows {
				if !r.Time.Equal(want) {
					t.Fatalf("a row of the commit at %s: time %v, want %v", txn.commit.Pos, r.Time, want)
				}
			}
		}
		for i := range got {
			got[i].Time, plain[i].Time = time.Time{}, time.Time{}
		}
		if !reflect.DeepEqual(got, plain) {
			t.Fatalf("compressed %v: the events differ beyond their times:\n%s", compress, lineDiff(renderEvents(plain), renderEvents(got)))
		}
	}
}

// rewriteGTIDEvents gives every GTID event the body MySQL 8.0 writes:
// after flags, SID and GNO, the logical timestamps (type 2, last committed,
// sequence number), the immediate commit timestamp with bit 55 set and the
// original commit timestamp (7 bytes each, microseconds), the transaction
// length (0 here) and the immediate and original server versions (80031).
// The original commit time is the event's header time plus GNO
// milliseconds and 7 µs; the immediate one is 2 s later (as on a replica).
// It returns the original commit time by the position after each
// transaction.
func rewriteGTIDEvents(t *testing.T, raw []byte) ([]byte, map[string]time.Time) {
	t.Helper()
	out := bytes.NewBuffer(append([]byte(nil), replication.BinLogFileHeader...))
	octs := map[string]time.Time{}
	pos, _ := gomysql.ParseMysqlGTIDSet("")
	checksum := false
	seq := int64(0)
	for _, e := range decodeEvents(t, raw) {
		if fde, ok := e.Event.(*replication.FormatDescriptionEvent); ok {
			checksum = fde.ChecksumAlgorithm == replication.BINLOG_CHECKSUM_ALG_CRC32
		}
		g, ok := e.Event.(*replication.GTIDEvent)
		if !ok {
			out.Write(e.RawData)
			continue
		}
		seq++
		oct := time.Unix(int64(e.Header.Timestamp), 0).Add(time.Duration(g.GNO)*time.Millisecond + 7*time.Microsecond).UTC()
		ict := oct.Add(2 * time.Second)
		body := append([]byte{g.CommitFlag}, g.SID...)
		body = binary.LittleEndian.AppendUint64(body, uint64(g.GNO))
		body = append(body, replication.LogicalTimestampTypeCode)
		body = binary.LittleEndian.AppendUint64(body, uint64(seq-1))
		body = binary.LittleEndian.AppendUint64(body, uint64(seq))
		var ts [8]byte
		binary.LittleEndian.PutUint64(ts[:], uint64(ict.UnixMicro())|1<<55)
		body = append(body, ts[:7]...)
		binary.LittleEndian.PutUint64(ts[:], uint64(oct.UnixMicro()))
		body = append(body, ts[:7]...)
		body = append(body, 0) // transaction_length
		body = binary.LittleEndian.AppendUint32(body, 80031|1<<31)
		body = binary.LittleEndian.AppendUint32(body, 80031)
		out.Write(buildEvent(e.RawData[:replication.EventHeaderSize], body, checksum))
		if err := pos.Update(mysqlGTID(g)); err != nil {
			t.Fatal(err)
		}
		octs[prefixMySQL+pos.String()] = oct
	}
	return out.Bytes(), octs
}

// buildEvent builds an event from a header (its timestamp, type, server id and
// log position are kept; size and flags are set) and a body, with a
// CRC32 checksum when the stream has them.
func buildEvent(header, body []byte, checksum bool) []byte {
	size := replication.EventHeaderSize + len(body)
	if checksum {
		size += replication.BinlogChecksumLength
	}
	ev := append(append([]byte(nil), header[:replication.EventHeaderSize]...), body...)
	binary.LittleEndian.PutUint32(ev[9:13], uint32(size))
	binary.LittleEndian.PutUint16(ev[17:19], 0)
	if checksum {
		ev = binary.LittleEndian.AppendUint32(ev, crc32.ChecksumIEEE(ev))
	}
	return ev
}

// --- synthesized compression ---------------------------------------------

// compressTransactions rewrites a recorded stream as a server with
// binlog_transaction_compression=ON sends it: the events of each DML
// transaction from its BEGIN to its XID, without their checksums and with
// log positions 0, compressed with zstd into one TRANSACTION_PAYLOAD event
// (fields: payload size, compression type 0 = zstd, uncompressed size,
// end mark, then the payload) that carries a checksum of its own.
func compressTransactions(t *testing.T, raw []byte) ([]byte, int) {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	out := bytes.NewBuffer(append([]byte(nil), replication.BinLogFileHeader...))
	checksum := false
	var inner []byte
	var inTxn bool
	n := 0
	for _, e := range decodeEvents(t, raw) {
		data := e.RawData
		if fde, ok := e.Event.(*replication.FormatDescriptionEvent); ok {
			checksum = fde.ChecksumAlgorithm == replication.BINLOG_CHECKSUM_ALG_CRC32
		}
		q, isQuery := e.Event.(*replication.QueryEvent)
		if isQuery && string(q.Query) == "BEGIN" {
			inTxn, inner = true, inner[:0]
		}
		if !inTxn {
			out.Write(data)
			continue
		}
		ev := append([]byte(nil), data...)
		if checksum && e.Header.EventType != replication.FORMAT_DESCRIPTION_EVENT {
			ev = ev[:len(ev)-replication.BinlogChecksumLength]
		}
		binary.LittleEndian.PutUint32(ev[9:13], uint32(len(ev)))
		binary.LittleEndian.PutUint32(ev[13:17], 0)
		inner = append(inner, ev...)
		if _, isXID := e.Event.(*replication.XIDEvent); !isXID {
			continue
		}
		inTxn = false
		payload := enc.EncodeAll(inner, nil)
		var body []byte
		field := func(typ byte, v uint64) {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], v)
			size := 8
			for size > 1 && b[size-1] == 0 {
				size--
			}
			body = append(body, typ, byte(size))
			body = append(body, b[:size]...)
		}
		field(replication.OTW_PAYLOAD_SIZE_FIELD, uint64(len(payload)))
		field(replication.OTW_PAYLOAD_COMPRESSION_TYPE_FIELD, replication.ZSTD)
		field(replication.OTW_PAYLOAD_UNCOMPRESSED_SIZE_FIELD, uint64(len(inner)))
		body = append(body, replication.OTW_PAYLOAD_HEADER_END_MARK)
		body = append(body, payload...)
		head := append([]byte(nil), data[:replication.EventHeaderSize]...) // the XID's timestamp, server id, log position
		head[4] = byte(replication.TRANSACTION_PAYLOAD_EVENT)
		out.Write(buildEvent(head, body, checksum))
		n++
	}
	return out.Bytes(), n
}

// --- information_schema as recorded ----------------------------------------

// fixtureSchemaConnector is a database/sql connector that answers the
// engine's information_schema queries from the snapshots recorded with the
// fixture: the last one in force at the reader's position (at), or the
// last of all (at nil).
type fixtureSchemaConnector struct {
	t     *testing.T
	snaps []schemaSnap
	at    func() gomysql.GTIDSet
}

type schemaSnap struct {
	before gomysql.GTIDSet // in force once a position holds more than this
	s      fixtureSchema
}

func (c *fixtureSchemaConnector) Connect(context.Context) (driver.Conn, error) {
	return &fixtureSchemaConn{c: c}, nil
}
func (c *fixtureSchemaConnector) Driver() driver.Driver { return fixtureSchemaDriver{} }

type fixtureSchemaDriver struct{}

func (fixtureSchemaDriver) Open(string) (driver.Conn, error) {
	return nil, errors.New("fixture schema: use the connector")
}

type fixtureSchemaConn struct{ c *fixtureSchemaConnector }

func (*fixtureSchemaConn) Prepare(q string) (driver.Stmt, error) {
	return nil, fmt.Errorf("fixture schema: cannot prepare %q", q)
}
func (*fixtureSchemaConn) Close() error { return nil }
func (*fixtureSchemaConn) Begin() (driver.Tx, error) {
	return nil, errors.New("fixture schema: no transactions")
}

var schemaQuery = regexp.MustCompile(`(?is)^\s*select\s+(.*?)\s+from\s+information_schema\.(columns|statistics)\s+where\s+(.*?)(?:\s+order\s+by\s+(.*?))?\s*$`)

func (c *fixtureSchemaConn) QueryContext(_ context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	m := schemaQuery.FindStringSubmatch(q)
	if m == nil {
		return nil, fmt.Errorf("fixture schema: unexpected query %q (only SELECT … FROM information_schema.COLUMNS/STATISTICS WHERE … is recorded)", q)
	}
	var snap *fixtureSchema
	for i := range c.c.snaps {
		if at := c.c.at; at == nil || at().Contain(c.c.snaps[i].before) && !at().Equal(c.c.snaps[i].before) {
			snap = &c.c.snaps[i].s
		}
	}
	var rows []map[string]*string
	if snap != nil {
		rows = snap.Columns
		if strings.EqualFold(m[2], "statistics") {
			rows = snap.Statistics
		}
	}
	// WHERE: col = ? AND col = 'literal' …
	next := 0
	for _, cond := range regexp.MustCompile(`(?i)\s+and\s+`).Split(m[3], -1) {
		lhs, rhs, ok := strings.Cut(cond, "=")
		if !ok {
			return nil, fmt.Errorf("fixture schema: unsupported condition %q", cond)
		}
		col, rhs := strings.ToUpper(strings.TrimSpace(lhs)), strings.TrimSpace(rhs)
		var want string
		switch {
		case rhs == "?":
			if next >= len(args) {
				return nil, fmt.Errorf("fixture schema: too few arguments for %q", q)
			}
			want = fmt.Sprint(args[next].Value)
			next++
		case len(rhs) >= 2 && rhs[0] == '\'' && rhs[len(rhs)-1] == '\'':
			want = rhs[1 : len(rhs)-1]
		default:
			return nil, fmt.Errorf("fixture schema: unsupported condition %q", cond)
		}
		var kept []map[string]*string
		for _, r := range rows {
			if v, ok := r[col]; ok && v != nil && strings.EqualFold(*v, want) {
				kept = append(kept, r)
			} else if !ok {
				return nil, fmt.Errorf("fixture schema: no column %s recorded", col)
			}
		}
		rows = kept
	}
	// ORDER BY col, col …
	if m[4] != "" {
		keys := strings.Split(m[4], ",")
		sort.SliceStable(rows, func(i, j int) bool {
			for _, k := range keys {
				k = strings.ToUpper(strings.TrimSpace(k))
				a, b := deref(rows[i][k]), deref(rows[j][k])
				if a == b {
					continue
				}
				x, errA := strconv.ParseFloat(a, 64)
				y, errB := strconv.ParseFloat(b, 64)
				if errA == nil && errB == nil {
					return x < y
				}
				return a < b
			}
			return false
		})
	}
	// SELECT list: columns and COALESCE(column, 'literal').
	var exprs []func(map[string]*string) driver.Value
	var names []string
	for _, item := range splitTopLevel(m[1]) {
		item = strings.TrimSpace(item)
		if cm := regexp.MustCompile(`(?is)^coalesce\(\s*(\w+)\s*,\s*'([^']*)'\s*\)$`).FindStringSubmatch(item); cm != nil {
			col, lit := strings.ToUpper(cm[1]), cm[2]
			exprs = append(exprs, func(r map[string]*string) driver.Value {
				if v := r[col]; v != nil {
					return *v
				}
				return lit
			})
			names = append(names, item)
			continue
		}
		if !regexp.MustCompile(`^\w+$`).MatchString(item) {
			return nil, fmt.Errorf("fixture schema: unsupported select expression %q", item)
		}
		col := strings.ToUpper(item)
		if snap != nil && len(rows) > 0 {
			if _, ok := rows[0][col]; !ok {
				return nil, fmt.Errorf("fixture schema: no column %s recorded", col)
			}
		}
		exprs = append(exprs, func(r map[string]*string) driver.Value {
			if v := r[col]; v != nil {
				return *v
			}
			return nil
		})
		names = append(names, item)
	}
	out := &fixtureRows{names: names}
	for _, r := range rows {
		vals := make([]driver.Value, len(exprs))
		for i, f := range exprs {
			vals[i] = f(r)
		}
		out.rows = append(out.rows, vals)
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// splitTopLevel splits at commas outside parentheses and quotes.
func splitTopLevel(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

type fixtureRows struct {
	names []string
	rows  [][]driver.Value
}

func (r *fixtureRows) Columns() []string { return r.names }
func (r *fixtureRows) Close() error      { return nil }
func (r *fixtureRows) Next(dest []driver.Value) error {
	if len(r.rows) == 0 {
		return io.EOF
	}
	copy(dest, r.rows[0])
	r.rows = r.rows[1:]
	return nil
}
