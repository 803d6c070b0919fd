package binlog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/vstreamd/vstreamd/integration/testdb"
)

// The recorded MySQL 8 fixtures: testdata/mysql8 (see its README.md).
// TestRecordMySQL8Fixtures writes them against a Dolt server, when
// VSTREAMD_RECORD_FIXTURES=1; the replay tests (mysql8_test.go) read them.
const (
	fixtureDir      = "testdata/mysql8"
	fixtureBinlog   = "workload.binlog"
	fixtureWorkload = "workload.json"
	fixtureDB       = "vsd"
)

// fixtureStep is one step of the recorded workload: statements run on one
// connection, in a transaction when Txn is set.
type fixtureStep struct {
	Name     string   `json:"name"`
	SQL      []string `json:"sql"`
	Txn      bool     `json:"txn,omitempty"`
	Rollback bool     `json:"rollback,omitempty"`
	DDL      bool     `json:"ddl,omitempty"`
	// After is @@global.gtid_executed right after the step.
	After string `json:"after"`
}

// fixtureSchema is information_schema as the server reported it after a
// DDL: every column of the COLUMNS and STATISTICS rows of the database, in
// ORDINAL_POSITION and INDEX_NAME, SEQ_IN_INDEX order.
//
// It is the schema once the reader's position holds more than Before (the
// first transaction of a DDL step is the DDL; Dolt may follow it with a
// transaction of its own that backfills a new column's default).
type fixtureSchema struct {
	Before     string               `json:"before"` // @@global.gtid_executed before the DDL
	After      string               `json:"after"`  // … and after the step
	Columns    []map[string]*string `json:"columns"`
	Statistics []map[string]*string `json:"statistics"`
}

// fixtureWorkloadFile is workload.json.
type fixtureWorkloadFile struct {
	Recorder      string            `json:"recorder"`
	DoltVersion   string            `json:"dolt_version"`
	ServerVersion string            `json:"server_version"` // @@version
	ServerUUID    string            `json:"server_uuid"`
	Database      string            `json:"database"`
	Variables     map[string]string `json:"variables"` // binlog settings, or the error reading them
	Start         string            `json:"start"`     // @@global.gtid_executed before the workload
	Steps         []fixtureStep     `json:"steps"`
	Final         string            `json:"final"`
	Schema        []fixtureSchema   `json:"schema"`
	// Tables are the tables' contents at the end, as SELECT * … ORDER BY
	// id returns them in a session with time_zone '+00:00' (text
	// protocol): cells "s:<text>", "x:<hex>" (not UTF-8) or null.
	Tables map[string]fixtureTable `json:"tables"`
	Events map[string]int          `json:"events"` // recorded events by type
}

// fixtureTable is a table's contents.
type fixtureTable struct {
	Columns []string    `json:"columns"`
	Rows    [][]*string `json:"rows"`
}

// fixtureTypedTable has a column of (nearly) every MySQL type.
const fixtureTypedTable = `CREATE TABLE typed (
  id INT NOT NULL,
  i8 TINYINT, u8 TINYINT UNSIGNED, i16 SMALLINT, u16 SMALLINT UNSIGNED,
  i24 MEDIUMINT, u24 MEDIUMINT UNSIGNED, i32 INT, u32 INT UNSIGNED,
  i64 BIGINT, u64 BIGINT UNSIGNED,
  f32 FLOAT, f64 DOUBLE, d_small DECIMAL(5,2), d_big DECIMAL(40,10),
  dt DATETIME, dt6 DATETIME(6), ts TIMESTAMP NULL, ts3 TIMESTAMP(3) NULL, da DATE,
  tm TIME, tm6 TIME(6), yr YEAR,
  ch CHAR(5), vc VARCHAR(100), tx TEXT, bn BINARY(4), vb VARBINARY(16), bl BLOB,
  en ENUM('small','medium','large'), st SET('a','b','c','d'), js JSON,
  b1 BIT(1), b12 BIT(12), b64 BIT(64),
  PRIMARY KEY (id)
)`

// fixtureSteps is the recorded workload.
var fixtureSteps = []fixtureStep{
	{Name: "create tables", DDL: true, SQL: []string{
		fixtureTypedTable,
		"CREATE TABLE other (id INT PRIMARY KEY, note VARCHAR(32))",
	}},
	{Name: "insert one row of extreme values", SQL: []string{`INSERT INTO typed VALUES (1,
		-128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
		-9223372036854775808, 18446744073709551615,
		1.5, -2.25e300, -123.45, '123456789012345678901234567890.0123456789',
		'2024-02-29 23:59:59', '2024-02-29 23:59:59.123456', '2038-01-19 03:14:07', '2001-02-03 04:05:06.789', '1000-01-01',
		'-838:59:59', '12:34:56.000789', 2155,
		'ab', 'héllo wörld ✓', 'line one\nline two', x'00ff', x'deadbeef', x'000102',
		'large', 'a,c', '{"k": [1, 2.5, "x", null, true], "n": {"m": -1}}',
		b'1', b'101010101010', x'FFFFFFFFFFFFFFFF')`}},
	{Name: "insert several rows", SQL: []string{`INSERT INTO typed (id, i32, u64, d_small, vc, en, st, js, b12) VALUES
		(2, 2, 0, 0.00, 'two', 'small', '', '[]', b'0'),
		(3, 3, 3, 3.10, 'three', 'medium', 'b,d', '"str"', b'111'),
		(4, -4, 4, -4.99, '', 'large', 'a', '{}', NULL),
		(5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`}},
	{Name: "update one row", SQL: []string{
		"UPDATE typed SET i32 = i32 + 40, vc = 'TWO', dt6 = '2020-01-01 00:00:00.5', js = '[1, {\"a\": \"b\"}]' WHERE id = 2"}},
	{Name: "update several rows", SQL: []string{"UPDATE typed SET u8 = 7, st = 'a,b,c,d' WHERE id IN (3, 4)"}},
	{Name: "delete one row", SQL: []string{"DELETE FROM typed WHERE id = 5"}},
	{Name: "transaction over two tables", Txn: true, SQL: []string{
		"INSERT INTO typed (id, vc) VALUES (10, 'in txn')",
		"UPDATE typed SET vc = 'changed in txn' WHERE id = 1",
		"INSERT INTO other VALUES (1, 'in txn')",
		"DELETE FROM typed WHERE id = 4",
		"UPDATE typed SET i32 = 10 WHERE id = 10",
	}},
	{Name: "other table only", SQL: []string{
		"INSERT INTO other VALUES (2, 'only other'), (3, 'x')",
		"UPDATE other SET note = 'y' WHERE id = 3",
	}},
	{Name: "rolled back", Txn: true, Rollback: true, SQL: []string{
		"INSERT INTO typed (id, vc) VALUES (99, 'rolled back')",
		"UPDATE typed SET vc = 'rolled back' WHERE id = 1",
	}},
	{Name: "key-changing update", SQL: []string{"UPDATE typed SET id = 100 WHERE id = 2"}},
	{Name: "timestamp written in another session time zone", SQL: []string{
		"SET time_zone = '+05:30'",
		"INSERT INTO typed (id, dt, ts, ts3) VALUES (11, '2024-06-01 12:00:00', '2024-06-01 12:00:00', '2024-06-01 12:00:00.250')",
		"SET time_zone = '+00:00'",
	}},
	{Name: "add a column", DDL: true, SQL: []string{"ALTER TABLE typed ADD COLUMN added VARCHAR(20) DEFAULT 'dflt'"}},
	{Name: "insert after the DDL", SQL: []string{"INSERT INTO typed (id, vc, added) VALUES (12, 'after alter', 'new column')"}},
	{Name: "update after the DDL", SQL: []string{"UPDATE typed SET added = 'set', u16 = 1 WHERE id = 1"}},
	{Name: "delete several rows", SQL: []string{"DELETE FROM typed WHERE id IN (3, 10)"}},
	{Name: "DDL of the other table", DDL: true, SQL: []string{"ALTER TABLE other ADD COLUMN n INT"}},
	{Name: "other table after its DDL", SQL: []string{"INSERT INTO other VALUES (4, 'after', 4)"}},
	{Name: "last row", SQL: []string{"INSERT INTO typed (id, vc) VALUES (13, 'last')"}},
}

// TestRecordMySQL8Fixtures records testdata/mysql8 against Dolt: the
// workload above, then the binary log from its beginning, as the
// replication protocol delivers it (COM_BINLOG_DUMP_GTID).
func TestRecordMySQL8Fixtures(t *testing.T) {
	if os.Getenv("VSTREAMD_RECORD_FIXTURES") == "" {
		t.Skip("set VSTREAMD_RECORD_FIXTURES=1 to record testdata/mysql8 against Dolt (see testdata/mysql8/README.md)")
	}
	if _, err := testdb.FindDolt(); err != nil {
		t.Fatalf("recording needs Dolt: %v (%s)", err, testdb.DoltInstall)
	}
	for _, fs := range fixtureSets {
		t.Run(fs.binlog, func(t *testing.T) { recordFixture(t, fs) })
	}
}

// fixtureSet is one recording: the server's binlog_row_metadata and the
// files it goes to.
type fixtureSet struct {
	metadata         string // binlog_row_metadata: MINIMAL (the default) or FULL (column names in Table_map)
	binlog, workload string
}

var fixtureSets = []fixtureSet{
	{"MINIMAL", fixtureBinlog, fixtureWorkload},
	{"FULL", "workload-full.binlog", "workload-full.json"},
}

func recordFixture(t *testing.T, fs fixtureSet) {
	d := testdb.StartDolt(t, "binlog_row_metadata='"+fs.metadata+"'")
	admin := d.Admin(t, fixtureDB)
	ctx := context.Background()
	conn, err := admin.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	scalar := func(q string) string {
		t.Helper()
		var v sql.NullString
		if err := conn.QueryRowContext(ctx, q).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return v.String
	}
	gtidExecuted := func() string { return strings.ReplaceAll(scalar("SELECT @@global.gtid_executed"), "\n", "") }
	out := fixtureWorkloadFile{
		Recorder:      "go test ./engines/binlog -run TestRecordMySQL8Fixtures (VSTREAMD_RECORD_FIXTURES=1)",
		DoltVersion:   d.Version,
		ServerVersion: scalar("SELECT @@version"),
		ServerUUID:    scalar("SELECT @@server_uuid"),
		Database:      fixtureDB,
		Variables:     map[string]string{},
		Events:        map[string]int{},
	}
	for _, v := range []string{"log_bin", "gtid_mode", "enforce_gtid_consistency", "server_id", "binlog_format",
		"binlog_row_image", "binlog_checksum", "binlog_row_metadata", "binlog_transaction_compression", "binlog_rows_query_log_events"} {
		var val sql.NullString
		if err := conn.QueryRowContext(ctx, "SELECT @@global."+v).Scan(&val); err != nil {
			out.Variables[v] = "error: " + err.Error()
		} else {
			out.Variables[v] = val.String
		}
	}
	// MySQL 8.0.20+ compresses transactions into TRANSACTION_PAYLOAD events
	// with binlog_transaction_compression=ON: try it.
	if _, err := conn.ExecContext(ctx, "SET @@GLOBAL.binlog_transaction_compression = ON"); err != nil {
		out.Variables["SET GLOBAL binlog_transaction_compression=ON"] = "error: " + err.Error()
	} else {
		out.Variables["SET GLOBAL binlog_transaction_compression=ON"] = "ok"
	}
	exec("SET time_zone = '+00:00'")
	out.Start = gtidExecuted()
	for _, st := range fixtureSteps {
		before := gtidExecuted()
		if st.Txn {
			exec("BEGIN")
		}
		for _, q := range st.SQL {
			exec(q)
		}
		switch {
		case st.Rollback:
			exec("ROLLBACK")
		case st.Txn:
			exec("COMMIT")
		}
		st.After = gtidExecuted()
		out.Steps = append(out.Steps, st)
		if st.DDL {
			out.Schema = append(out.Schema, fixtureSchema{
				Before:     before,
				After:      st.After,
				Columns:    queryMaps(t, conn, "SELECT * FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION", fixtureDB),
				Statistics: queryMaps(t, conn, "SELECT * FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX", fixtureDB),
			})
		}
	}
	out.Final = gtidExecuted()
	out.Tables = map[string]fixtureTable{}
	for _, table := range []string{"typed", "other"} {
		out.Tables[table] = selectTable(t, conn, table)
	}
	final, err := gomysql.ParseMysqlGTIDSet(out.Final)
	if err != nil {
		t.Fatal(err)
	}

	// The binary log, from its beginning (Dolt ignores the GTID set of the
	// request anyway), until every transaction of the workload has come
	// and the server has been idle for a while.
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: 4242, Flavor: gomysql.MySQLFlavor, Host: "127.0.0.1", Port: uint16(d.Port),
		User: testdb.ReplUser, Password: testdb.ReplPass, RawModeEnabled: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	defer syncer.Close()
	empty, _ := gomysql.ParseMysqlGTIDSet("")
	st, err := syncer.StartSyncGTID(empty)
	if err != nil {
		t.Fatal(err)
	}
	parser := replayParser()
	seen, _ := gomysql.ParseMysqlGTIDSet("")
	var file bytes.Buffer
	file.Write(replication.BinLogFileHeader)
	deadline := time.Now().Add(60 * time.Second)
	for {
		wait := 2 * time.Second
		if !seen.Contain(final) {
			wait = time.Until(deadline)
		}
		ectx, cancel := context.WithTimeout(ctx, wait)
		ev, err := st.GetEvent(ectx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			if !seen.Contain(final) {
				t.Fatalf("the binary log ended at %s, want %s", seen, final)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Header.EventType == replication.HEARTBEAT_EVENT || ev.Header.EventType == replication.HEARTBEAT_LOG_EVENT_V2 {
			continue
		}
		raw := append([]byte(nil), ev.RawData...)
		file.Write(raw)
		out.Events[ev.Header.EventType.String()]++
		parsed, err := parser.Parse(raw)
		if err != nil {
			t.Fatalf("go-mysql cannot parse a recorded %s event: %v", ev.Header.EventType, err)
		}
		if g, ok := parsed.Event.(*replication.GTIDEvent); ok {
			if err := seen.Update(mysqlGTID(g)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.MkdirAll(fixtureDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fixtureDir, fs.binlog), file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	js, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fixtureDir, fs.workload), append(js, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d bytes of binary log (%v) from %s (@@version %s); final position %s",
		file.Len(), out.Events, d.Version, out.ServerVersion, out.Final)
}

// selectTable reads a table's contents as text.
func selectTable(t *testing.T, conn *sql.Conn, table string) fixtureTable {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), "SELECT * FROM "+quoteName(table)+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out fixtureTable
	if out.Columns, err = rows.Columns(); err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		raw := make([]sql.RawBytes, len(out.Columns))
		ptrs := make([]any, len(raw))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]*string, len(raw))
		for i, b := range raw {
			if b == nil {
				continue
			}
			cell := "s:" + string(b)
			if !utf8.Valid(b) {
				cell = "x:" + hex.EncodeToString(b)
			}
			row[i] = &cell
		}
		out.Rows = append(out.Rows, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// queryMaps returns every row of a query as column name → text (nil for
// NULL).
func queryMaps(t *testing.T, conn *sql.Conn, q string, args ...any) []map[string]*string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]*string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		m := make(map[string]*string, len(cols))
		for i, c := range cols {
			if vals[i].Valid {
				s := vals[i].String
				m[strings.ToUpper(c)] = &s
			} else {
				m[strings.ToUpper(c)] = nil
			}
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no rows", q)
	}
	return out
}
