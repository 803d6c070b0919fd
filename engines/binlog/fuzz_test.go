package binlog

// Fuzz targets of the engine's decoding: binary log events as the
// replication connection receives them, and column values as the copy
// phase's SELECT and go-mysql hand them over. Seeds: the recorded MySQL 8
// binary logs (testdata/mysql8), one transaction each, and values of every
// column kind; the corpus grows in testdata/fuzz.
//
//	go test -run='^$' -fuzz=FuzzBinlogEvents -fuzztime=10m -parallel=1 ./engines/binlog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/vstreamd/vstreamd/engines"
)

// fuzzReplay is a recording split for fuzzing: the events before the first
// transaction (Rotate, Format_description, Previous_gtids), which tell the
// parser how to read the rest, and each transaction's raw events.
type fuzzReplay struct {
	fx        *mysql8Fixture
	header    [][]byte
	txns      [][]byte
	tableMaps map[string]bool // the recording's table map events
	src       *Source         // serves the schema as at the end of the recording
}

func loadFuzzReplays(tb testing.TB) []*fuzzReplay {
	var out []*fuzzReplay
	for _, fs := range fixtureSets {
		fx := loadMySQL8Fixture(tb, fs)
		fr := &fuzzReplay{fx: fx, tableMaps: map[string]bool{}}
		var cur []byte
		err := replayParser().ParseReader(bytes.NewReader(fx.raw[len(replication.BinLogFileHeader):]), func(e *replication.BinlogEvent) error {
			raw := append([]byte(nil), e.RawData...)
			switch e.Event.(type) {
			case *replication.RotateEvent, *replication.FormatDescriptionEvent, *replication.PreviousGTIDsEvent:
				if len(fr.txns) == 0 && cur == nil {
					fr.header = append(fr.header, raw)
					return nil
				}
			}
			cur = append(cur, raw...)
			switch x := e.Event.(type) {
			case *replication.TableMapEvent:
				fr.tableMaps[string(raw)] = true
			case *replication.XIDEvent:
				fr.txns, cur = append(fr.txns, cur), nil
			case *replication.QueryEvent:
				if !bytes.EqualFold(bytes.TrimSpace(x.Query), []byte("BEGIN")) {
					fr.txns, cur = append(fr.txns, cur), nil // DDL, COMMIT
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("%s: %v", fs.binlog, err)
		}
		schema := &fixtureSchemaConnector{}
		for _, s := range fx.w.Schema {
			set, err := gomysql.ParseMysqlGTIDSet(s.Before)
			if err != nil {
				tb.Fatal(err)
			}
			schema.snaps = append(schema.snaps, schemaSnap{before: set, s: s})
		}
		fr.src = &Source{
			cfg:      Config{Host: "fixture", Port: 3306, User: "repl", Database: fx.w.Database},
			keyspace: "ks", flavor: flavorMySQL, db: sql.OpenDB(schema),
			log: slog.New(slog.NewTextHandler(io.Discard, nil)), tables: make(map[string]*tableInfo),
		}
		for _, name := range fuzzTables {
			if _, err := fr.src.cachedTable(context.Background(), name); err != nil {
				tb.Fatal(err)
			}
		}
		out = append(out, fr)
	}
	return out
}

// fuzzTables are the recording's tables, which the fuzzed streams stream.
var fuzzTables = []string{"typed", "other"}

// source returns a source of the recording's schema with the tables read
// already: every input starts from the same state.
func (fr *fuzzReplay) source() *Source {
	s := &Source{cfg: fr.src.cfg, keyspace: fr.src.keyspace, flavor: fr.src.flavor, db: fr.src.db, log: fr.src.log,
		tables: make(map[string]*tableInfo, len(fr.src.tables))}
	for k, v := range fr.src.tables {
		s.tables[k] = v
	}
	return s
}

// FuzzBinlogEvents: events after a recording's header, however damaged,
// are parsed as the replication connection parses them and handled by the
// reader: no panic in the engine (go-mysql's own parser panics are errors,
// as its BinlogSyncer recovers them), and every row change it sends has an
// image per op, of as many values as column names, of a streamed table.
func FuzzBinlogEvents(f *testing.F) {
	replays := loadFuzzReplays(f)
	for i, fr := range replays {
		for _, tx := range fr.txns {
			f.Add(uint8(i), tx)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		fr := replays[int(which)%len(replays)]
		p := replayParser()
		for _, h := range fr.header {
			if _, err := p.Parse(h); err != nil {
				t.Fatal(err)
			}
		}
		evs := parseTolerant(p, data, fr.tableMaps)
		start, err := parsePosition("MySQL56/", flavorMySQL)
		if err != nil {
			t.Fatal(err)
		}
		tables := fuzzTables
		var got []engines.Event
		r := newReader(fr.source(), flavorMySQL, start, tables, func(evs []engines.Event) error {
			got = append(got, evs...)
			return nil
		})
		r.sentPos = r.pos.clone()
		ctx := context.Background()
		for _, ev := range evs {
			if err := r.handle(ctx, ev); err != nil {
				break
			}
		}
		if err := r.flush(); err != nil {
			t.Fatal(err)
		}
		for _, e := range got {
			checkFuzzEvent(t, e, tables)
		}
	})
}

// parseTolerant parses events until the first that fails; a panic of the
// parser ends the stream too (go-mysql's BinlogSyncer recovers those).
//
// The fuzzed events are those the reader acts on (GTIDs, queries, rows,
// commits, rotations), and table maps only as the recording has them:
// FuzzBinlogEvents found three inputs on which go-mysql v1.16.0's own
// decoding dies with a fatal error no recover catches, all reachable only
// by a stream a server does not write. A table map's optional metadata and
// a compressed event's payload are decoded into buffers of the sizes they
// claim, without a bound (fatal out of memory); MySQL's binary JSON is
// followed without a depth limit (stack overflow: see blobForJSON).
// testdata/fuzz keeps the inputs. The target keeps away from them so that
// it searches the engine's own code.
func parseTolerant(p *replication.BinlogParser, data []byte, tableMaps map[string]bool) (evs []*replication.BinlogEvent) {
	defer func() {
		if recover() != nil {
			evs = nil
		}
	}()
	for len(data) >= replication.EventHeaderSize {
		size := binary.LittleEndian.Uint32(data[9:13])
		if size < replication.EventHeaderSize || int64(size) > int64(len(data)) {
			return evs
		}
		raw := data[:size]
		switch t := replication.EventType(raw[4]); {
		case t == replication.TABLE_MAP_EVENT && !tableMaps[string(raw)]:
			return evs
		case t != replication.TABLE_MAP_EVENT && !fuzzedEventTypes[t]:
			return evs
		}
		e, err := p.Parse(raw)
		if err != nil {
			return evs
		}
		if tm, ok := e.Event.(*replication.TableMapEvent); ok {
			blobForJSON(tm)
		}
		evs = append(evs, e)
		data = data[size:]
	}
	return evs
}

// fuzzedEventTypes are the events a fuzzed stream may hold besides the
// recording's table maps.
var fuzzedEventTypes = map[replication.EventType]bool{
	replication.GTID_EVENT: true, replication.ANONYMOUS_GTID_EVENT: true, replication.MARIADB_GTID_EVENT: true,
	replication.QUERY_EVENT: true, replication.XID_EVENT: true, replication.ROTATE_EVENT: true,
	replication.WRITE_ROWS_EVENTv1: true, replication.UPDATE_ROWS_EVENTv1: true, replication.DELETE_ROWS_EVENTv1: true,
	replication.WRITE_ROWS_EVENTv2: true, replication.UPDATE_ROWS_EVENTv2: true, replication.DELETE_ROWS_EVENTv2: true,
	replication.PARTIAL_UPDATE_ROWS_EVENT: true,
}

// blobForJSON makes the JSON columns of a table map BLOBs (same metadata:
// the length's size) for the rows events that follow. go-mysql v1.16.0's
// decoder of MySQL's binary JSON follows offsets without a depth limit: a
// value whose offsets point back at itself overflows the stack, a fatal
// error no recover catches (FuzzBinlogEvents found it; testdata/fuzz keeps
// the input). Servers write valid binary JSON; the fuzz target keeps
// away from that decoder so that it searches the engine's own code.
func blobForJSON(tm *replication.TableMapEvent) {
	for i, t := range tm.ColumnType {
		if t == gomysql.MYSQL_TYPE_JSON {
			tm.ColumnType[i] = gomysql.MYSQL_TYPE_BLOB
		}
	}
}

func checkFuzzEvent(t *testing.T, e engines.Event, tables []string) {
	switch e.Kind {
	case engines.RowChange:
		if e.Before == nil && e.After == nil {
			t.Fatalf("a row change without images: %+v", e)
		}
		for _, img := range [][]any{e.Before, e.After} {
			if img != nil && len(img) != len(e.Columns) {
				t.Fatalf("an image of %d values with %d column names", len(img), len(e.Columns))
			}
		}
		known := false
		for _, tb := range tables {
			known = known || strings.EqualFold(tb, e.Table) // the reader matches names as the server may: in any case
		}
		if !known {
			t.Fatalf("a row change of table %q, which is not streamed", e.Table)
		}
	case engines.Commit, engines.SchemaChange:
		if e.Pos == "" {
			t.Fatalf("%v without a position", e.Kind)
		}
	}
}

// fuzzColumns are columns of every kind, as readTable makes them.
var fuzzColumns = []struct{ dataType, columnType, charset string }{
	{"tinyint", "tinyint(4)", ""}, {"tinyint", "tinyint(3) unsigned", ""},
	{"smallint", "smallint(6)", ""}, {"mediumint", "mediumint(8) unsigned", ""},
	{"int", "int(11)", ""}, {"bigint", "bigint(20) unsigned", ""}, {"bigint", "bigint(20)", ""},
	{"float", "float", ""}, {"float", "float(7,3)", ""}, {"double", "double", ""}, {"double", "double(10,4)", ""},
	{"decimal", "decimal(40,10)", ""}, {"date", "date", ""}, {"datetime", "datetime(6)", ""},
	{"timestamp", "timestamp(3)", ""}, {"time", "time(6)", ""}, {"year", "year(4)", ""},
	{"varchar", "varchar(20)", "utf8mb4"}, {"char", "char(5)", "latin1"}, {"text", "text", "cp1251"},
	{"varchar", "varchar(5)", "ucs2"}, {"varchar", "varchar(5)", "utf16"}, {"varchar", "varchar(5)", "utf32"},
	{"varchar", "varchar(5)", "sjis"}, {"varchar", "varchar(5)", "gbk"}, {"varchar", "varchar(5)", "big5"},
	{"varchar", "varchar(5)", "euckr"}, {"binary", "binary(16)", ""}, {"varbinary", "varbinary(4)", ""},
	{"enum", "enum('a','b''c')", "utf8mb4"}, {"set", "set('x','y','z')", "latin1"}, {"bit", "bit(64)", ""},
	{"bit", "bit(3)", ""}, {"json", "json", ""}, {"geometry", "geometry", ""},
}

// FuzzBinlogValue: a value of any column kind, as text (a SELECT's text
// protocol), as go-sql-driver's parsed value, and as the Go values go-mysql
// decodes from row events, becomes an engine value or an error, never a
// panic; an enum or set type of any spelling too.
func FuzzBinlogValue(f *testing.F) {
	for i := range fuzzColumns {
		for _, v := range []string{"", "0", "-1", "255", "18446744073709551615", "3.25", "2024-02-29 13:14:15.123456",
			"0000-00-00", "838:59:59.000000", "b'c", "x,y", `{"a": [1, 2]}`, "\xff\xfe\x00a"} {
			f.Add(uint8(i), "", []byte(v))
		}
	}
	f.Add(uint8(29), "enum('a','b''c','')", []byte("2"))
	f.Add(uint8(30), "set('x,y','''',\"q\")", []byte("7"))
	f.Fuzz(func(t *testing.T, which uint8, columnType string, b []byte) {
		fc := fuzzColumns[int(which)%len(fuzzColumns)]
		if columnType == "" {
			columnType = fc.columnType
		}
		c := column{name: "c", dataType: fc.dataType, columnType: columnType, charset: fc.charset}
		c.init()
		c.fromText(b)
		c.driverValue(string(b))
		var n8 [8]byte
		copy(n8[:], b)
		bits := binary.LittleEndian.Uint64(n8[:])
		for _, v := range []any{
			b, string(b), int64(bits), int32(bits), int16(bits), int8(bits), uint64(bits), uint32(bits),
			uint16(bits), uint8(bits), math.Float32frombits(uint32(bits)), math.Float64frombits(bits),
			time.Unix(int64(bits)%(1<<40), 0).In(time.FixedZone("x", int(int32(bits>>32))%86400)),
		} {
			if got, err := c.fromBinlog(v); err == nil && got == nil {
				t.Fatalf("%s: %T %v decodes to NULL without an error", columnType, v, v)
			}
			c.driverValue(v)
		}
		if _, err := c.fromBinlog(nil); err != nil {
			t.Fatalf("NULL: %v", err)
		}
		_ = fmt.Sprint(typeLabels(columnType), typeLength(columnType), typeScale(columnType))
	})
}

// FuzzBinlogPosition: any text given as a position (pos > '...') parses or
// fails with an error, and a parsed position prints as text that parses to
// the same position.
func FuzzBinlogPosition(f *testing.F) {
	for _, s := range []string{"MySQL56/", "MySQL56/3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42",
		"MySQL56/3e11fa47-71ca-11e1-9e33-c80aa9429562:tag:1-3:5", "MariaDB/0-1-42,1-2-7", "FilePos/mysql-bin.000042:4",
		"MariaDB/", "FilePos/x:", "MySQL56/a:b:c"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, mariadb bool) {
		flavor := flavorMySQL
		if mariadb {
			flavor = flavorMariaDB
		}
		p, err := parsePosition(s, flavor)
		if err != nil {
			return
		}
		again, err := parsePosition(p.String(), flavor)
		if err != nil {
			t.Fatalf("%q parses as %q, which does not parse: %v", s, p.String(), err)
		}
		if again.String() != p.String() {
			t.Fatalf("%q parses as %q, which parses as %q", s, p.String(), again.String())
		}
		if c, err := compare(p, again); err == nil && c != 0 {
			t.Fatalf("%q compares %d with itself", p.String(), c)
		}
	})
}
