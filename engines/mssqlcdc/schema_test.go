package mssqlcdc

import (
	"bytes"
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

func columnNames(t *engines.Table) string {
	var n []string
	for _, c := range t.Columns {
		n = append(n, c.Name)
	}
	return strings.Join(n, ",")
}

// TestCaptureInstances: only CDC-enabled tables are listed; a table with
// two capture instances (a column added, a new instance made for it) is
// streamed from the newer one, unless the URL names the older; a capture
// instance of some columns streams those.
func TestCaptureInstances(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE t (id INT PRIMARY KEY, val VARCHAR(10))")
	f.exec("CREATE TABLE plain (id INT PRIMARY KEY)")
	f.exec("CREATE TABLE part (id INT PRIMARY KEY, a INT, secret VARCHAR(10))",
		"EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'part', @role_name = NULL, @captured_column_list = N'id, a'")
	f.exec("INSERT INTO t (id, val) VALUES (1, 'a')")
	f.capture()
	ctx := context.Background()
	src := f.source("sa", "")
	if ts, err := src.Tables(ctx); err != nil || strings.Join(ts, ",") != "part,t" {
		t.Fatalf("tables %q, %v", ts, err)
	}
	old := current(t, src)

	f.exec("ALTER TABLE t ADD extra INT")
	f.exec("EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N't', @role_name = NULL, @capture_instance = N'dbo_t_v2'")
	f.exec("UPDATE t SET extra = 7 WHERE id = 1")
	end := current(t, src)
	f.capture()
	if tbl, err := src.Table(ctx, "t"); err != nil || columnNames(tbl) != "id,val,extra" {
		t.Fatalf("t from its newest capture instance: %v, %v", tbl, err)
	}
	if ts, _ := src.Tables(ctx); strings.Join(ts, ",") != "part,t" {
		t.Fatalf("a table with two capture instances is listed once: %q", ts)
	}
	// The new instance starts after the old position; the old one has it.
	err := src.Stream(ctx, old, []string{"t"}, func([]engines.Event) error { return nil })
	wantErr(t, err, engines.ErrPositionUnavailable, "(capture_instance=dbo_t) to continue")

	var logs bytes.Buffer
	u := "&capture_instance=dbo_t"
	pinned := f.source("sa", u)
	pinned.log = slog.New(slog.NewTextHandler(&logs, nil))
	tbl, err := pinned.Table(ctx, "t")
	if err != nil || columnNames(tbl) != "id,val" {
		t.Fatalf("t from its pinned first capture instance: %v, %v", tbl, err)
	}
	if !strings.Contains(logs.String(), "columns=extra") {
		t.Fatalf("no warning about the column not streamed: %s", logs.String())
	}
	evs := f.stream(pinned, old, "t").reached(t, end)
	if got := rowsOnly(evs); !reflect.DeepEqual(got, []string{"* 1 a (was 1 a)"}) {
		t.Fatalf("changes from the first capture instance: %q", got)
	}

	if tbl, err := src.Table(ctx, "part"); err != nil || columnNames(tbl) != "id,a" {
		t.Fatalf("part: %v, %v", tbl, err)
	}
	sn, err := src.Snapshot(ctx, "part")
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	if cols := strings.Join(sn.Columns(), ","); cols != "id,a" {
		t.Fatalf("copy columns of part: %s", cols)
	}
}

// TestChooseInstance: the choice among capture instances when columns
// were dropped or recreated (column ids no longer in the table).
func TestChooseInstance(t *testing.T) {
	s := &Source{cfg: Config{Redacted: "sqlserver://u@h?database=d"}}
	tbl := &table{schema: "dbo", name: "t"}
	src := []sourceColumn{{column: column{id: 1, name: "id"}}, {column: column{id: 3, name: "b"}}}
	now := time.Now()
	older := captureInstance{name: "dbo_t", created: now.Add(-time.Hour)}
	newer := captureInstance{name: "dbo_t_v2", created: now}
	tests := []struct {
		name     string
		captured map[string][]int
		pinned   []string
		want     string
		err      string
	}{
		{"NewestMatching", map[string][]int{"dbo_t": {1, 3}, "dbo_t_v2": {1, 3}}, nil, "dbo_t_v2", ""},
		{"NewerCapturesADroppedColumn", map[string][]int{"dbo_t": {1, 3}, "dbo_t_v2": {1, 2, 3}}, nil, "dbo_t", ""},
		{"NoneMatches", map[string][]int{"dbo_t": {1, 2}, "dbo_t_v2": {2, 3}}, nil, "", "no capture instance of table [dbo].[t] matches its columns"},
		{"PinnedMismatch", map[string][]int{"dbo_t": {1, 2}, "dbo_t_v2": {1, 3}}, []string{"dbo_t"}, "", "URL parameter capture_instance"},
		{"PinnedOlder", map[string][]int{"dbo_t": {1}, "dbo_t_v2": {1, 3}}, []string{"DBO_T"}, "dbo_t", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.cfg.CaptureInstances = tc.pinned
			ci, err := s.chooseInstance(tbl, []captureInstance{older, newer}, tc.captured, src)
			if tc.err != "" {
				wantErr(t, err, engines.ErrMisconfigured, tc.err)
				return
			}
			if err != nil || ci.name != tc.want {
				t.Fatalf("chose %s (%v), want %s", ci.name, err, tc.want)
			}
		})
	}
}
