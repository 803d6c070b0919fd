package pgoutput

// Fuzz targets of the engine's decoding: the replication stream's CopyData
// messages (pgoutput protocol 1 inside XLogData, keepalives) and column
// values in text and binary form. Seeds are hand-built messages of a table
// with a column of every kind; the corpus grows in testdata/fuzz.
//
//	go test -run='^$' -fuzz=FuzzPgStream -fuzztime=10m -parallel=1 ./engines/pgoutput

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/jackc/pglogrepl"

	"github.com/vstreamd/vstreamd/engines"
)

// fuzzTable is a streamed table with a column of every decoding kind.
func fuzzTable() *table {
	t := &table{name: "t", oid: 16400, identity: "d", toast: true, key: []int{0}}
	for _, c := range []struct {
		name string
		typ  pgType
	}{
		{"id", pgType{oid: oidInt4}}, {"v", pgType{oid: oidText}}, {"n", pgType{oid: oidNumeric, typmod: 10<<16 | 2 + 4}},
		{"b", pgType{oid: oidBytea}}, {"ts", pgType{oid: oidTimestampTZ, typmod: -1}}, {"tn", pgType{oid: oidTimestamp, typmod: 3}},
		{"d", pgType{oid: oidDate}}, {"tm", pgType{oid: oidTime, typmod: -1}}, {"f4", pgType{oid: oidFloat4}},
		{"f8", pgType{oid: oidFloat8}}, {"bo", pgType{oid: oidBool}}, {"j", pgType{oid: oidJSONB}},
		{"arr", pgType{oid: 1007, category: "A", elem: &pgType{oid: oidInt4}}},
		{"tarr", pgType{oid: 1009, category: "A", elem: &pgType{oid: oidText}}},
		{"narr", pgType{oid: 1231, category: "A", elem: &pgType{oid: oidNumeric}}},
		{"e", pgType{oid: 16390, typtype: "e", labels: []string{"a", "b'c"}}},
		{"u", pgType{oid: oidUUID}},
	} {
		col := column{name: c.name, typ: c.typ, nullable: c.name != "id"}
		col.kind, col.mysql = mapType(c.typ)
		t.columns = append(t.columns, col)
	}
	return t
}

// failingDB is a database every query of which fails: what the decoder
// reads from the server (domains, TOASTed values) is not there.
type failingDB struct{}

func (failingDB) Connect(context.Context) (driver.Conn, error) {
	return nil, errors.New("fuzz: no server")
}
func (failingDB) Driver() driver.Driver { return nil }

// Message builders (pgoutput protocol 1, as PostgreSQL sends it).
type msgBuf []byte

func (b msgBuf) u8(v byte) msgBuf    { return append(b, v) }
func (b msgBuf) u16(v uint16) msgBuf { return binary.BigEndian.AppendUint16(b, v) }
func (b msgBuf) u32(v uint32) msgBuf { return binary.BigEndian.AppendUint32(b, v) }
func (b msgBuf) u64(v uint64) msgBuf { return binary.BigEndian.AppendUint64(b, v) }
func (b msgBuf) str(s string) msgBuf { return append(append(b, s...), 0) }

// tupleOf builds TupleData: nil is NULL, "\x00toast" an unchanged TOAST
// value, anything else text.
func (b msgBuf) tuple(vals ...*string) msgBuf {
	b = b.u16(uint16(len(vals)))
	for _, v := range vals {
		switch {
		case v == nil:
			b = b.u8('n')
		case *v == "\x00toast":
			b = b.u8('u')
		default:
			b = b.u8('t').u32(uint32(len(*v)))
			b = append(b, *v...)
		}
	}
	return b
}

func xlog(m msgBuf) []byte {
	return append(msgBuf{'w'}.u64(0x1000).u64(0x2000).u64(0), m...)
}

func relationMsg(t *table) msgBuf {
	b := msgBuf{'R'}.u32(t.oid).str("public").str(t.name).u8('d').u16(uint16(len(t.columns)))
	for i, c := range t.columns {
		flags := byte(0)
		if i == 0 {
			flags = 1
		}
		b = b.u8(flags).str(c.name).u32(c.typ.oid).u32(uint32(c.typ.typmod))
	}
	return b
}

func p(s string) *string { return &s }

// fuzzRow is a row of fuzzTable in text form.
func fuzzRow(id string) []*string {
	return []*string{p(id), p("some text"), p("-12.50"), p(`\x00ff41`), p("2024-02-29 13:14:15.5+05:30"),
		p("2024-02-29 13:14:15.123"), p("2024-02-29"), p("24:00:00"), p("1.5"), p("-2.25e+100"), p("t"),
		p(`{"a": [1, 2.5, "x"]}`), p("{1,NULL,-3}"), p(`{a,"b,c",NULL}`), p("{1.50,NaN}"), p("b'c"),
		p("6f9619ff-8b86-d011-b42d-00c04fc964ff")}
}

// frames joins CopyData payloads as the fuzz input: each one's length
// (2 bytes) and bytes.
func frames(msgs ...[]byte) []byte {
	var out []byte
	for _, m := range msgs {
		out = binary.BigEndian.AppendUint16(out, uint16(len(m)))
		out = append(out, m...)
	}
	return out
}

// FuzzPgStream: CopyData messages of a replication stream, however damaged,
// become events or an error, never a panic; the events are sound (row
// images of the table's width, positions on commits).
func FuzzPgStream(f *testing.F) {
	t := fuzzTable()
	rel := xlog(relationMsg(t))
	begin := xlog(msgBuf{'B'}.u64(0x3000).u64(760000000000000).u32(742))
	commit := xlog(msgBuf{'C'}.u8(0).u64(0x3000).u64(0x3010).u64(760000000000000))
	row1, row2 := fuzzRow("1"), fuzzRow("2")
	toastRow := fuzzRow("1")
	toastRow[1] = p("\x00toast")
	keyOnly := make([]*string, len(t.columns))
	keyOnly[0] = p("2")
	insert := xlog(msgBuf{'I'}.u32(t.oid).u8('N').tuple(row1...))
	update := xlog(msgBuf{'U'}.u32(t.oid).u8('N').tuple(toastRow...))
	updateKey := xlog(msgBuf{'U'}.u32(t.oid).u8('K').tuple(keyOnly...).u8('N').tuple(row2...))
	updateOld := xlog(msgBuf{'U'}.u32(t.oid).u8('O').tuple(row1...).u8('N').tuple(toastRow...))
	del := xlog(msgBuf{'D'}.u32(t.oid).u8('K').tuple(keyOnly...))
	trunc := xlog(msgBuf{'T'}.u32(1).u8(0).u32(t.oid))
	keepalive := msgBuf{'k'}.u64(0x4000).u64(0).u8(0)
	f.Add(frames(rel, begin, insert, commit))
	f.Add(frames(rel, begin, insert, update, commit, keepalive))
	f.Add(frames(rel, begin, insert, updateKey, del, commit))
	f.Add(frames(rel, begin, updateOld, commit, begin, trunc, commit))
	f.Add(frames(rel, begin, insert, rel, update, commit))
	f.Fuzz(func(tt *testing.T, data []byte) {
		got := replayFrames(tt, data)
		for _, e := range got {
			switch e.Kind {
			case engines.RowChange:
				if e.Table != "t" || (e.Before == nil && e.After == nil) {
					tt.Fatalf("bad row change %+v", e)
				}
				width := len(t.columns)
				if e.Columns != nil {
					width = len(e.Columns)
				}
				for _, img := range [][]any{e.Before, e.After} {
					if img != nil && len(img) != width {
						tt.Fatalf("an image of %d values, want %d", len(img), width)
					}
				}
			case engines.Commit:
				if e.Pos == "" {
					tt.Fatal("a commit without a position")
				}
			}
		}
	})
}

// replayFrames feeds the CopyData payloads of data (see frames) to a
// replication of fuzzTable and returns the events it sends.
func replayFrames(tt *testing.T, data []byte) []engines.Event {
	src := &Source{keyspace: "ks", cfg: Config{Schema: "public", Redacted: "postgres://fuzz@h/db"},
		log: slog.New(slog.NewTextHandler(io.Discard, nil)), db: sql.OpenDB(failingDB{})}
	defer src.db.Close()
	var got []engines.Event
	r := &replication{src: src, tables: map[string]*table{"t": fuzzTable()}, relations: map[uint32]*relation{},
		send: func(evs []engines.Event) error { got = append(got, evs...); return nil }}
	for len(data) >= 2 {
		n := int(binary.BigEndian.Uint16(data))
		data = data[2:]
		if n > len(data) {
			n = len(data)
		}
		m := append([]byte(nil), data[:n]...)
		data = data[n:]
		if len(m) >= 18 && m[0] == pglogrepl.PrimaryKeepaliveMessageByteID {
			m[17] = 0 // a reply needs the connection, which the fuzz target has not
		}
		if err := r.copyData(m); err != nil {
			break
		}
	}
	if err := r.flush(); err != nil {
		tt.Fatal(err)
	}
	return got
}

// TestFuzzSeedsDecode: the seeds of FuzzPgStream are a stream the decoder
// reads, so that the fuzzer starts from messages that mean something.
func TestFuzzSeedsDecode(t *testing.T) {
	tb := fuzzTable()
	row := fuzzRow("1")
	got := replayFrames(t, frames(xlog(relationMsg(tb)), xlog(msgBuf{'B'}.u64(0x3000).u64(760000000000000).u32(742)),
		xlog(msgBuf{'I'}.u32(tb.oid).u8('N').tuple(row...)), xlog(msgBuf{'C'}.u8(0).u64(0x3000).u64(0x3010).u64(760000000000000))))
	if len(got) != 2 || got[0].Kind != engines.RowChange || got[1].Kind != engines.Commit || got[1].Pos != "0/3010" {
		t.Fatalf("events %+v, want an insert and its commit at 0/3010", got)
	}
}

// FuzzPgValue: a value of any column kind in text form (the change stream,
// text columns of a copy) or binary form (fixed-size columns of a copy)
// decodes or fails with an error, never a panic.
func FuzzPgValue(f *testing.F) {
	t := fuzzTable()
	for i, v := range fuzzRow("42") {
		f.Add(uint8(i), []byte(*v), false)
	}
	for _, b := range [][]byte{{0, 1}, {0, 0, 0, 1}, {0x7f, 0xff, 0xff, 0xff}, {0x80, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 1},
		{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {1}, {}} {
		for i := range t.columns {
			f.Add(uint8(i), b, true)
		}
	}
	f.Add(uint8(12), []byte("[0:1]={{1,2},{3,4}}"), false)
	f.Add(uint8(13), []byte(`{"a\"b",{c}}`), false)
	f.Fuzz(func(tt *testing.T, which uint8, b []byte, binaryForm bool) {
		c := &t.columns[int(which)%len(t.columns)]
		if binaryForm {
			if c.binaryResult() {
				decodeBinary(c.kind, b, nil)
			}
			return
		}
		v, err := c.decode(b)
		if err == nil && v == nil {
			tt.Fatalf("%s: %q decodes to NULL without an error", c.name, b)
		}
		d := newRowDecoder([]column{*c, *c})
		d.decode([][]byte{b, nil})
	})
}
