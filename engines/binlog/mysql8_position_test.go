package binlog

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/vstreamd/vstreamd/engines"
)

// MySQL GTID sets as MySQL 8.0/8.4 print them (@@gtid_executed, SHOW
// BINARY LOG STATUS, vtgate's MySQL56/ positions).
const (
	uuidA = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	uuidB = "8ad1c6e4-5c3a-11ef-a8a4-0242ac120002"
	uuidC = "fe0bf5ae-1f1c-11ef-9a4a-0242ac120003"
)

func TestParseMySQLPositions(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// vtgate's form and the bare GTID set give the same position.
		{"MySQL56/" + uuidA + ":1-5", "MySQL56/" + uuidA + ":1-5"},
		{uuidA + ":1-5", "MySQL56/" + uuidA + ":1-5"},
		{"  MySQL56/" + uuidA + ":1-5  ", "MySQL56/" + uuidA + ":1-5"},
		// Several servers, in any order, as @@gtid_executed prints them
		// (with a newline after each comma): sorted by UUID.
		{uuidC + ":1-3,\n" + uuidA + ":1-5,\n" + uuidB + ":7", "MySQL56/" + uuidA + ":1-5," + uuidB + ":7," + uuidC + ":1-3"},
		{"MySQL56/" + uuidB + ":1-10:12-20:22," + uuidA + ":1", "MySQL56/" + uuidA + ":1," + uuidB + ":1-10:12-20:22"},
		// Adjacent and overlapping intervals merge; single GTIDs widen.
		{uuidA + ":1-3:4-5:7:8", "MySQL56/" + uuidA + ":1-5:7-8"},
		{uuidA + ":1-5," + uuidA + ":3-9", "MySQL56/" + uuidA + ":1-9"},
		// Upper-case UUIDs (MySQL accepts them) print in lower case.
		{"3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5", "MySQL56/" + uuidA + ":1-5"},
		// MySQL 8.4 tagged GTIDs: uuid:tag:intervals, untagged first, tags
		// sorted and lower-cased.
		{"MySQL56/" + uuidA + ":etl:1-5", "MySQL56/" + uuidA + ":etl:1-5"},
		{uuidA + ":1-10:etl:1-5:Alpha:3", "MySQL56/" + uuidA + ":1-10:alpha:3:etl:1-5"},
		{uuidB + ":etl:1-2," + uuidA + ":1-3:etl:4", "MySQL56/" + uuidA + ":1-3:etl:4," + uuidB + ":etl:1-2"},
		// The empty set: a server that has not committed anything yet.
		{"MySQL56/", "MySQL56/"},
		// File positions (servers without GTIDs).
		{"FilePos/binlog.000003:1234", "FilePos/binlog.000003:1234"},
		{"binlog.000003:1234", "FilePos/binlog.000003:1234"},
		{"FilePos/mysql-bin.000010:4", "FilePos/mysql-bin.000010:4"},
	} {
		p, err := parsePosition(tc.in, flavorMySQL)
		if err != nil {
			t.Errorf("parsePosition(%q): %v", tc.in, err)
			continue
		}
		if got := p.String(); got != tc.want {
			t.Errorf("parsePosition(%q) = %q, want %q", tc.in, got, tc.want)
		}
		// The canonical text parses back to an equal position.
		back, err := parsePosition(p.String(), flavorMySQL)
		if err != nil {
			t.Errorf("parsePosition(%q) (canonical of %q): %v", p, tc.in, err)
			continue
		}
		if c, err := compare(p, back); err != nil || c != 0 || back.String() != p.String() {
			t.Errorf("%q round-trips to %q (compare %d, %v)", p, back, c, err)
		}
	}
}

func TestParseMySQLPositionErrors(t *testing.T) {
	for _, in := range []string{
		"MariaDB/0-1-5",                        // a MariaDB position on a MySQL server
		"MySQL56/junk",                         // no UUID
		"MySQL56/" + uuidA,                     // no interval
		"MySQL56/" + uuidA + ":etl",            // a tag without an interval
		"MySQL56/" + uuidA + ":5-3",            // end before start
		"MySQL56/" + uuidA + ":1-x",            // not a number
		"MySQL56/not-a-uuid-at-all:1-5",        // bad UUID
		"MySQL56/" + uuidA + ":1-5,",           // trailing comma
		"MySQL56/" + uuidA + ":1-5:-bad-tag:3", // tags start with a letter or _
		"FilePos/binlog.000001:x",              // offset not a number
		"FilePos/binlog.000001",                // no offset
	} {
		p, err := parsePosition(in, flavorMySQL)
		if !errors.Is(err, engines.ErrBadPosition) {
			t.Errorf("parsePosition(%q) = %q, %v; want ErrBadPosition", in, p, err)
		}
	}
	// And the other way round: a MySQL set on a MariaDB server.
	if _, err := parsePosition("MySQL56/"+uuidA+":1-5", flavorMariaDB); !errors.Is(err, engines.ErrBadPosition) {
		t.Errorf("MySQL56 position on MariaDB: %v, want ErrBadPosition", err)
	}
}

func TestCompareMySQLPositions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int // -2: cannot be ordered
	}{
		{uuidA + ":1-5", uuidA + ":1-5", 0},
		{"MySQL56/" + uuidA + ":1-5", uuidA + ":1-3:4-5", 0},
		{uuidA + ":1-6", uuidA + ":1-5", 1},
		{uuidA + ":1-5", uuidA + ":1-6", -1},
		{"MySQL56/", uuidA + ":1", -1},
		{uuidA + ":1", "MySQL56/", 1},
		// Several servers: a superset is after, whichever server moved.
		{uuidA + ":1-5," + uuidB + ":1-3", uuidA + ":1-5," + uuidB + ":1-2", 1},
		{uuidA + ":1-5," + uuidB + ":1-3", uuidA + ":1-5", 1},
		{uuidB + ":1-3," + uuidA + ":1-5", uuidA + ":1-5," + uuidB + ":1-3", 0},
		// Gaps: a set with a hole is before the filled one.
		{uuidA + ":1-3:5", uuidA + ":1-5", -1},
		// Tagged GTIDs are their own sequences of the same server.
		{uuidA + ":1-5:etl:1-2", uuidA + ":1-5", 1},
		{uuidA + ":1-5:etl:1-2", uuidA + ":1-5:etl:1-3", -1},
		{uuidA + ":etl:1-2", uuidA + ":ETL:1-2", 0},
		// Diverged histories cannot be ordered.
		{uuidA + ":1-5", uuidB + ":1-5", -2},
		{uuidA + ":1-5," + uuidB + ":1", uuidA + ":1-4," + uuidB + ":1-2", -2},
		{uuidA + ":1-5:etl:1", uuidA + ":1-5:other:1", -2},
		{uuidA + ":1-3:5", uuidA + ":1-4", -2},
		// File positions: by the file's number, then the offset.
		{"FilePos/binlog.000002:4", "FilePos/binlog.000002:4", 0},
		{"FilePos/binlog.000002:900", "FilePos/binlog.000002:4", 1},
		{"FilePos/binlog.000009:900", "FilePos/binlog.000010:4", -1},
		{"FilePos/binlog.000100:4", "FilePos/binlog.000099:12345", 1},
		// A GTID set and a file position cannot be compared.
		{uuidA + ":1-5", "FilePos/binlog.000002:4", -2},
	} {
		a, err := parsePosition(tc.a, flavorMySQL)
		if err != nil {
			t.Fatalf("parsePosition(%q): %v", tc.a, err)
		}
		b, err := parsePosition(tc.b, flavorMySQL)
		if err != nil {
			t.Fatalf("parsePosition(%q): %v", tc.b, err)
		}
		got, err := compare(a, b)
		if tc.want == -2 {
			if !errors.Is(err, engines.ErrBadPosition) {
				t.Errorf("compare(%s, %s) = %d, %v; want ErrBadPosition", a, b, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("compare(%s, %s) = %d, %v; want %d", a, b, got, err, tc.want)
		}
	}
}

// TestMySQLGTIDEvents: the reader's text of a GTID event, tagged or not,
// moves the position as MySQL moves gtid_executed, and a position that
// holds a transaction marks it as replayed.
func TestMySQLGTIDEvents(t *testing.T) {
	sid, err := hex.DecodeString(strings.ReplaceAll(uuidA, "-", ""))
	if err != nil {
		t.Fatal(err)
	}
	ev := &replication.GTIDEvent{SID: sid, GNO: 6}
	if got := mysqlGTID(ev); got != uuidA+":6" {
		t.Fatalf("mysqlGTID = %q", got)
	}
	tagged := &replication.GTIDEvent{SID: sid, GNO: 3, Tag: mysql.NewTag("ETL")}
	if got := mysqlGTID(tagged); got != uuidA+":etl:3" {
		t.Fatalf("mysqlGTID(tagged) = %q", got)
	}
	start, err := parsePosition("MySQL56/"+uuidA+":1-5:etl:1-2", flavorMySQL)
	if err != nil {
		t.Fatal(err)
	}
	r := &reader{s: &Source{}, flavor: flavorMySQL, pos: start.clone()}
	for _, tc := range []struct {
		gtid     string
		replayed bool
		after    string
	}{
		{uuidA + ":5", true, uuidA + ":1-5:etl:1-2"},
		{uuidA + ":etl:2", true, uuidA + ":1-5:etl:1-2"},
		{uuidA + ":6", false, uuidA + ":1-6:etl:1-2"},
		{uuidA + ":etl:3", false, uuidA + ":1-6:etl:1-3"},
		{uuidB + ":1", false, uuidA + ":1-6:etl:1-3," + uuidB + ":1"},
		{uuidB + ":1", true, uuidA + ":1-6:etl:1-3," + uuidB + ":1"},
	} {
		r.beginTxn(tc.gtid)
		if r.replayed != tc.replayed {
			t.Errorf("%s after %s: replayed = %v, want %v", tc.gtid, r.pos, r.replayed, tc.replayed)
		}
		if !r.replayed {
			r.commitPos(&replication.BinlogEvent{Header: &replication.EventHeader{}})
		}
		if got := r.pos.String(); got != "MySQL56/"+tc.after {
			t.Errorf("after %s: %s, want MySQL56/%s", tc.gtid, got, tc.after)
		}
	}
	// The start position was cloned, not shared.
	if start.String() != "MySQL56/"+uuidA+":1-5:etl:1-2" {
		t.Errorf("the start position changed: %s", start)
	}
}
