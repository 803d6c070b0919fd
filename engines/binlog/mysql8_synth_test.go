package binlog

// MySQL 8 events Dolt does not write, synthesized from the recording:
// original commit timestamps and compressed transaction payloads.

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"reflect"
	"testing"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/klauspost/compress/zstd"
)

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
