package binlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/vstreamd/vstreamd/engines/internal/box"
	"github.com/vstreamd/vstreamd/integration/testdb"
)

// imageTypes are the columns of the differential test's table: every type
// the image decoder reads, at the widths where its format changes.
var imageTypes = []struct {
	name, ddl string
	gen       func(r *rand.Rand) string // a SQL literal
}{
	{"ti", "TINYINT", intLit(-128, 127)},
	{"tu", "TINYINT UNSIGNED", intLit(0, 255)},
	{"si", "SMALLINT", intLit(-32768, 32767)},
	{"su", "SMALLINT UNSIGNED", intLit(0, 65535)},
	{"mi", "MEDIUMINT", intLit(-8388608, 8388607)},
	{"mu", "MEDIUMINT UNSIGNED", intLit(0, 16777215)},
	{"i", "INT", intLit(-2147483648, 2147483647)},
	{"iu", "INT UNSIGNED", intLit(0, 4294967295)},
	{"bi", "BIGINT", func(r *rand.Rand) string { return fmt.Sprint(r.Int63() - r.Int63()) }},
	{"bu", "BIGINT UNSIGNED", func(r *rand.Rand) string { return fmt.Sprint(r.Uint64()) }},
	{"f", "FLOAT", func(r *rand.Rand) string { return fmt.Sprintf("%g", (r.Float64()-0.5)*1e6) }},
	{"f2", "FLOAT(7,3)", func(r *rand.Rand) string { return fmt.Sprintf("%.3f", (r.Float64()-0.5)*1e4) }},
	{"d", "DOUBLE", func(r *rand.Rand) string { return fmt.Sprintf("%g", (r.Float64()-0.5)*1e300) }},
	{"dc", "DECIMAL(10,2)", decimalLit(8, 2)},
	{"dc0", "DECIMAL(5,0)", decimalLit(5, 0)},
	{"dcf", "DECIMAL(9,9)", decimalLit(0, 9)},
	{"dcw", "DECIMAL(65,30)", decimalLit(35, 30)},
	{"dcs", "DECIMAL(20,7)", decimalLit(13, 7)},
	{"dt", "DATE", func(r *rand.Rand) string { return "'" + randTime(r).Format("2006-01-02") + "'" }},
	{"dtt", "DATETIME", func(r *rand.Rand) string { return "'" + randTime(r).Format("2006-01-02 15:04:05") + "'" }},
	{"dt3", "DATETIME(3)", func(r *rand.Rand) string { return "'" + randTime(r).Format("2006-01-02 15:04:05.000") + "'" }},
	{"dt6", "DATETIME(6)", func(r *rand.Rand) string { return "'" + randTime(r).Format("2006-01-02 15:04:05.000000") + "'" }},
	{"ts", "TIMESTAMP NULL", func(r *rand.Rand) string { return "'" + randTimestamp(r).Format("2006-01-02 15:04:05") + "'" }},
	{"ts2", "TIMESTAMP(2) NULL", func(r *rand.Rand) string { return "'" + randTimestamp(r).Format("2006-01-02 15:04:05.00") + "'" }},
	{"ts5", "TIMESTAMP(5) NULL", func(r *rand.Rand) string { return "'" + randTimestamp(r).Format("2006-01-02 15:04:05.00000") + "'" }},
	{"y", "YEAR", intLit(1901, 2155)},
	{"tm", "TIME", timeLit(0)},
	{"tm1", "TIME(1)", timeLit(1)},
	{"tm4", "TIME(4)", timeLit(4)},
	{"tm6", "TIME(6)", timeLit(6)},
	{"c", "CHAR(10)", textLit(10)},
	{"cw", "CHAR(255)", textLit(255)},
	{"vc", "VARCHAR(64)", textLit(64)},
	{"vcl", "VARCHAR(300)", textLit(300)},
	{"l1", "VARCHAR(20) CHARACTER SET latin1", func(r *rand.Rand) string { return []string{"'café'", "'naïve'", "'x'", "''"}[r.Intn(4)] }},
	{"tx", "TEXT", textLit(400)},
	{"tt", "TINYTEXT", textLit(100)},
	{"vb", "VARBINARY(20)", binLit(20)},
	{"bn", "BINARY(8)", binLit(8)},
	{"bl", "BLOB", binLit(300)},
	{"e", "ENUM('a','b','c')", func(r *rand.Rand) string { return []string{"'a'", "'b'", "'c'"}[r.Intn(3)] }},
	{"st", "SET('x','y','z')", func(r *rand.Rand) string { return []string{"''", "'x'", "'y,z'", "'x,y,z'"}[r.Intn(4)] }},
	{"b1", "BIT(1)", intLit(0, 1)},
	{"b12", "BIT(12)", intLit(0, 4095)},
	{"b64", "BIT(64)", func(r *rand.Rand) string { return fmt.Sprint(r.Uint64()) }},
	{"j", "JSON", func(r *rand.Rand) string { return fmt.Sprintf(`'{"k": %d, "s": "v"}'`, r.Intn(100)) }},
}

func intLit(lo, hi int64) func(r *rand.Rand) string {
	return func(r *rand.Rand) string {
		switch r.Intn(8) {
		case 0:
			return fmt.Sprint(lo)
		case 1:
			return fmt.Sprint(hi)
		}
		return fmt.Sprint(lo + r.Int63n(hi-lo+1))
	}
}

func decimalLit(intg, scale int) func(r *rand.Rand) string {
	digits := func(r *rand.Rand, n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteByte(byte('0' + r.Intn(10)))
		}
		return b.String()
	}
	return func(r *rand.Rand) string {
		s := "0"
		if intg > 0 {
			s = digits(r, 1+r.Intn(intg))
		}
		if r.Intn(5) == 0 {
			s = "0"
		}
		if scale > 0 {
			s += "." + digits(r, scale)
		}
		if r.Intn(2) == 0 {
			s = "-" + s
		}
		return s
	}
}

// timeLit is a TIME(fsp) from 0 to 838:59:59, the fraction zero at times.
func timeLit(fsp int) func(r *rand.Rand) string {
	return func(r *rand.Rand) string {
		s := fmt.Sprintf("'%d:%02d:%02d", r.Intn(839), r.Intn(60), r.Intn(60))
		if fsp > 0 && r.Intn(4) > 0 {
			s += fmt.Sprintf(".%0*d", fsp, r.Intn(int(math.Pow10(fsp))))
		}
		return s + "'"
	}
}

func randTime(r *rand.Rand) time.Time {
	return time.Date(1970+r.Intn(8030), time.Month(1+r.Intn(12)), 1+r.Intn(31), r.Intn(24), r.Intn(60), r.Intn(60), r.Intn(1e9), time.UTC)
}

func randTimestamp(r *rand.Rand) time.Time {
	return time.Unix(1+r.Int63n(1<<31-2), int64(r.Intn(1e9))).UTC()
}

func textLit(n int) func(r *rand.Rand) string {
	return func(r *rand.Rand) string {
		runes := []rune("abcxyz éü€😀'\\")
		var b strings.Builder
		for i := r.Intn(n + 1); i > 0; i-- {
			switch c := runes[r.Intn(len(runes))]; c {
			case '\'', '\\':
				b.WriteRune('\\')
				b.WriteRune(c)
			default:
				b.WriteRune(c)
			}
		}
		return "'" + b.String() + "'"
	}
}

func binLit(n int) func(r *rand.Rand) string {
	return func(r *rand.Rand) string {
		b := make([]byte, r.Intn(n+1))
		r.Read(b)
		return fmt.Sprintf("X'%X'", b)
	}
}

// TestImagesMatchGoMySQL decodes the rows events of a random workload on
// a real MariaDB with the image decoder and with go-mysql (and fromBinlog),
// and wants the same values, to the type: columns of every type the image
// decoder reads, NULLs, updates and deletes, and values it leaves to
// go-mysql (zero and pre-1970 dates).
//
// Both with the binlog's column metadata (names, signedness) and without
// it (MariaDB's default): without it go-mysql reads unsigned integers as
// signed, and fromBinlog reinterprets them.
func TestImagesMatchGoMySQL(t *testing.T) {
	for _, metadata := range []string{"FULL", "NO_LOG"} {
		t.Run(metadata, func(t *testing.T) { testImagesMatchGoMySQL(t, metadata) })
	}
}

func testImagesMatchGoMySQL(t *testing.T, metadata string) {
	m := testdb.StartMariaDB(t, testdb.MariaDBOptions{Extra: []string{"--binlog-row-metadata=" + metadata}})
	var ddl []string
	for _, c := range imageTypes {
		ddl = append(ddl, c.name+" "+c.ddl)
	}
	m.Exec(t, "CREATE DATABASE ks", "CREATE TABLE ks.wide (id INT PRIMARY KEY, "+strings.Join(ddl, ", ")+")")
	r := rand.New(rand.NewSource(1))
	row := func(id int) string {
		vals := []string{fmt.Sprint(id)}
		for _, c := range imageTypes {
			if r.Intn(10) == 0 {
				vals = append(vals, "NULL")
			} else {
				vals = append(vals, c.gen(r))
			}
		}
		return "(" + strings.Join(vals, ", ") + ")"
	}
	var stmts []string
	for id := 0; id < 600; id += 50 {
		var rows []string
		for i := id; i < id+50; i++ {
			rows = append(rows, row(i))
		}
		stmts = append(stmts, "INSERT INTO ks.wide VALUES "+strings.Join(rows, ", "))
	}
	for i := 0; i < 20; i++ {
		c := imageTypes[r.Intn(len(imageTypes))]
		stmts = append(stmts, fmt.Sprintf("UPDATE ks.wide SET %s = %s WHERE id %% 20 = %d", c.name, c.gen(r), i))
	}
	stmts = append(stmts, "DELETE FROM ks.wide WHERE id % 7 = 0")
	// Values the image decoder leaves to go-mysql, one statement each.
	for i, set := range []string{
		"dt = '0000-00-00'", "dt = '2024-00-15'", "dtt = '0000-00-00 00:00:00'", "dt6 = '1969-12-31 23:59:59.5'",
		"dt3 = '2024-02-00 10:00:00'", "ts = '0000-00-00 00:00:00'", "dtt = '1000-01-01 00:00:00'",
		"tm = '-10:00:00'", "tm4 = '-00:00:01.5'",
	} {
		stmts = append(stmts, fmt.Sprintf("UPDATE ks.wide SET %s WHERE id = %d", set, 7*i+1)) // not deleted
	}
	stmts = append(stmts, "FLUSH BINARY LOGS")
	m.Exec(t, stmts...)

	u, err := url.Parse(m.URL(testdb.ReplUser, testdb.ReplPass, "ks"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := Open(context.Background(), "ks", u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	info, err := src.cachedTable(context.Background(), "wide")
	if err != nil {
		t.Fatal(err)
	}

	p := replication.NewBinlogParser()
	p.SetFlavor(gomysql.MariaDBFlavor)
	p.SetTimestampStringLocation(time.UTC)
	p.SetParseTime(true)
	p.SetRowsEventDecodeFunc(decodeRowsEvent)
	files, err := filepath.Glob(filepath.Join(m.Dir, "data", "mariadb-bin.0*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no binary logs in %s: %v", m.Dir, err)
	}
	var fast, slow, rows int
	rd := &reader{}
	for _, f := range files {
		err := p.ParseFile(f, 0, func(ev *replication.BinlogEvent) error {
			e, ok := ev.Event.(*replication.RowsEvent)
			if !ok || string(e.Table.Table) != "wide" {
				return nil
			}
			if full := len(e.Table.SignednessBitmap) > 0; full != (metadata == "FULL") {
				return fmt.Errorf("event at %d: signedness metadata %v with binlog_row_metadata=%s", ev.Header.LogPos, full, metadata)
			}
			u, ok := undecodedImages(e)
			if !ok {
				return fmt.Errorf("event at %d: decoded already", ev.Header.LogPos)
			}
			if !rd.planFor(e.Table, info.cols) {
				return fmt.Errorf("event at %d: no image plan for the table", ev.Header.LogPos)
			}
			var bitmap2 []byte
			if isUpdate(ev.Header.EventType) {
				bitmap2 = e.ColumnBitmap2
			}
			got, fastErr := readImages(nil, rd.plan, u.data[u.pos:], e.ColumnBitmap1, bitmap2, &rd.text, &rd.box)
			want, err := rd.images(replication.EventType(0), e, info.cols) // not a fast type: go-mysql
			if err != nil {
				return fmt.Errorf("event at %d: go-mysql: %w", ev.Header.LogPos, err)
			}
			if errors.Is(fastErr, errUseGoMySQL) {
				slow++
				return nil
			}
			if fastErr != nil {
				return fmt.Errorf("event at %d: image decoder: %w", ev.Header.LogPos, fastErr)
			}
			fast++
			if len(got) != len(want) {
				return fmt.Errorf("event at %d: %d images, go-mysql %d", ev.Header.LogPos, len(got), len(want))
			}
			for i := range want {
				for j, c := range info.cols {
					if !reflect.DeepEqual(got[i][j], want[i][j]) {
						return fmt.Errorf("event at %d, image %d, column %s: %#v (%T), go-mysql %#v (%T)",
							ev.Header.LogPos, i, c.name, got[i][j], got[i][j], want[i][j], want[i][j])
					}
				}
				rows++
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
	}
	t.Logf("%d events decoded alike (%d images), %d left to go-mysql", fast, rows, slow)
	if fast == 0 || slow < 9 || rows < 600 {
		t.Errorf("want events of both kinds: %d decoded by the image decoder, %d by go-mysql", fast, slow)
	}
}

// TestImageValues reads hand-made values at the format's edges.
func TestImageValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    *column
		typ  byte
		meta uint16
		b    []byte
		want any
		n    int
		err  error
	}{
		{"int24 -1", &column{kind: kInt, bits: 24}, gomysql.MYSQL_TYPE_INT24, 0, []byte{0xff, 0xff, 0xff}, int64(-1), 3, nil},
		{"int24 unsigned", &column{kind: kUint, bits: 24}, gomysql.MYSQL_TYPE_INT24, 0, []byte{0xff, 0xff, 0xff}, uint64(1<<24 - 1), 3, nil},
		{"year 0", &column{kind: kYear}, gomysql.MYSQL_TYPE_YEAR, 0, []byte{0}, int64(0), 1, nil},
		{"zero date", &column{kind: kDate}, gomysql.MYSQL_TYPE_DATE, 0, []byte{0, 0, 0}, nil, 0, errUseGoMySQL},
		{"date", &column{kind: kDate}, gomysql.MYSQL_TYPE_DATE, 0, []byte{0x5d, 0xd0, 0x0f}, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), 3, nil},
		{"zero timestamp", &column{kind: kTimestamp}, gomysql.MYSQL_TYPE_TIMESTAMP2, 0, []byte{0, 0, 0, 0}, nil, 0, errUseGoMySQL},
		{"timestamp(3)", &column{kind: kTimestamp}, gomysql.MYSQL_TYPE_TIMESTAMP2, 3, []byte{0, 0, 0, 1, 0x03, 0xe7}, time.Unix(1, 999e5).UTC(), 6, nil},
		{"bit(12)", &column{kind: kBit}, gomysql.MYSQL_TYPE_BIT, 1<<8 | 4, []byte{0x0f, 0xff}, uint64(4095), 2, nil},
		{"enum out of range", &column{kind: kEnum, labels: []string{"a"}}, gomysql.MYSQL_TYPE_STRING, uint16(gomysql.MYSQL_TYPE_ENUM)<<8 | 1, []byte{2}, "", 1, nil},
		{"set", &column{kind: kSet, labels: []string{"a", "b", "c"}}, gomysql.MYSQL_TYPE_STRING, uint16(gomysql.MYSQL_TYPE_SET)<<8 | 1, []byte{5}, "a,c", 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ic := imageColumn{c: tc.c, typ: tc.typ, meta: tc.meta}
			if !ic.init() {
				t.Fatalf("type %d meta %#x not read as kind %d", tc.typ, tc.meta, tc.c.kind)
			}
			v, n, err := ic.value(tc.b, &box.Slab{})
			if !errors.Is(err, tc.err) || n != tc.n || !reflect.DeepEqual(v, tc.want) {
				t.Errorf("got %#v, %d, %v; want %#v, %d, %v", v, n, err, tc.want, tc.n, tc.err)
			}
		})
	}
}

func TestDecimalText(t *testing.T) {
	for _, tc := range []struct {
		prec, scale int
		b           []byte
		want        string
		err         error
	}{
		{2, 1, []byte{0x81, 5}, "1.5", nil},
		{2, 1, []byte{0x7e, 0xfa}, "-1.5", nil},
		{4, 2, []byte{0x80, 0}, "0.00", nil},
		{3, 3, []byte{0x80, 0x07}, "0.007", nil},
		{5, 0, []byte{0x80, 0x30, 0x39}, "12345", nil},
		{10, 0, []byte{0x81, 0x00, 0x00, 0x00, 0x00}, "1000000000", nil},
		{12, 2, []byte{0x80, 0x00, 0x00, 0x00, 0x00, 0x05}, "0.05", nil},
		{10, 2, []byte{0x80}, "", errShortImage},
	} {
		got, n, err := decimalText(nil, tc.b, tc.prec, tc.scale)
		if !errors.Is(err, tc.err) || string(got) != tc.want || (err == nil && n != len(tc.b)) {
			t.Errorf("DECIMAL(%d,%d) % x: %q, %d, %v; want %q, %v", tc.prec, tc.scale, tc.b, got, n, err, tc.want, tc.err)
		}
	}
}

func TestUnixDays(t *testing.T) {
	for y := 1970; y <= 10000; y += 7 {
		for mo := 1; mo <= 12; mo++ {
			want := time.Date(y, time.Month(mo), 1, 0, 0, 0, 0, time.UTC).Unix() / 86400
			if got := unixDays(y, mo); got != want {
				t.Fatalf("%d-%02d: %d days, time.Date %d", y, mo, got, want)
			}
		}
	}
}

func TestTime2Text(t *testing.T) {
	hms := func(h, m, s int) []byte {
		v := 0x800000 + h<<12 | m<<6 | s
		return []byte{byte(v >> 16), byte(v >> 8), byte(v)}
	}
	for _, tc := range []struct {
		fsp  int
		b    []byte
		want string
		err  error
	}{
		{0, hms(838, 59, 59), "838:59:59", nil},
		{0, hms(0, 0, 0), "00:00:00", nil},
		{3, append(hms(10, 0, 0), 0, 0), "10:00:00", nil}, // a zero fraction is not shown
		{3, append(hms(1, 2, 3), 0x01, 0xf4), "01:02:03.050", nil},
		{1, append(hms(1, 2, 3), 50), "01:02:03.5", nil},
		{6, append(hms(0, 0, 1), 0x00, 0x00, 0x07), "00:00:01.000007", nil},
		{0, []byte{0x7f, 0xff, 0xff}, "", errUseGoMySQL},  // negative
		{2, append(hms(0, 0, 1), 100), "", errUseGoMySQL}, // not a fraction
		{3, hms(1, 0, 0), "", errShortImage},
	} {
		got, _, err := time2Text(nil, tc.b, tc.fsp)
		if !errors.Is(err, tc.err) || string(got) != tc.want {
			t.Errorf("TIME(%d) % x: %q, %v; want %q, %v", tc.fsp, tc.b, got, err, tc.want, tc.err)
		}
	}
}

// TestImagePlanRefuses: the types and changes the image decoder leaves to
// go-mysql.
func TestImagePlanRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    column
		typ  byte
		meta uint16
	}{
		{"old time", col("time", "time", ""), gomysql.MYSQL_TYPE_TIME, 0},
		{"old datetime", col("datetime", "datetime", ""), gomysql.MYSQL_TYPE_DATETIME, 0},
		{"int then bigint", col("bigint", "bigint(20)", ""), gomysql.MYSQL_TYPE_LONG, 0},
		{"varchar then int", col("int", "int(11)", ""), gomysql.MYSQL_TYPE_VARCHAR, 64},
		{"geometry", col("point", "point", ""), gomysql.MYSQL_TYPE_GEOMETRY, 4},
		{"mysql json", column{kind: kJSON, mysqlJSON: true}, gomysql.MYSQL_TYPE_JSON, 4},
		{"mysql json as blob", column{kind: kJSON, mysqlJSON: true}, gomysql.MYSQL_TYPE_BLOB, 4},
		{"bit(0)", col("bit", "bit(1)", ""), gomysql.MYSQL_TYPE_BIT, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ic := imageColumn{c: &tc.c, typ: tc.typ, meta: tc.meta}
			if ic.init() {
				t.Errorf("type %d read as kind %d", tc.typ, tc.c.kind)
			}
		})
	}
	// Signed now, unsigned when the event was written.
	tm := &replication.TableMapEvent{ColumnCount: 1, ColumnType: []byte{gomysql.MYSQL_TYPE_LONG}, ColumnMeta: []uint16{0}, SignednessBitmap: []byte{0x80}}
	if _, ok := imagePlan(nil, tm, []column{col("int", "int(11)", "")}); ok {
		t.Error("a column unsigned in the binlog and signed now is read by the image decoder")
	}
}

// FuzzRowImages: the image decoder reads any bytes as images of a table
// of every kind it decodes without panicking, and either consumes them all
// or fails.
//
//	go test -run='^$' -fuzz=FuzzRowImages -fuzztime=1m ./engines/binlog
func FuzzRowImages(f *testing.F) {
	tm := &replication.TableMapEvent{}
	var cols []column
	add := func(typ byte, meta uint16, c column) {
		tm.ColumnType = append(tm.ColumnType, typ)
		tm.ColumnMeta = append(tm.ColumnMeta, meta)
		cols = append(cols, c)
	}
	add(gomysql.MYSQL_TYPE_LONGLONG, 0, col("bigint", "bigint(20)", ""))
	add(gomysql.MYSQL_TYPE_INT24, 0, col("mediumint", "mediumint(8) unsigned", ""))
	add(gomysql.MYSQL_TYPE_VARCHAR, 256, col("varchar", "varchar(64)", "utf8mb4"))
	add(gomysql.MYSQL_TYPE_VARCHAR, 20, col("varchar", "varchar(20)", "latin1"))
	add(gomysql.MYSQL_TYPE_NEWDECIMAL, 10<<8|2, col("decimal", "decimal(10,2)", ""))
	add(gomysql.MYSQL_TYPE_DATETIME2, 6, col("datetime", "datetime(6)", ""))
	add(gomysql.MYSQL_TYPE_TIMESTAMP2, 2, col("timestamp", "timestamp(2)", ""))
	add(gomysql.MYSQL_TYPE_DATE, 0, col("date", "date", ""))
	add(gomysql.MYSQL_TYPE_STRING, uint16(gomysql.MYSQL_TYPE_ENUM)<<8|1, col("enum", "enum('a','b')", ""))
	add(gomysql.MYSQL_TYPE_STRING, uint16(gomysql.MYSQL_TYPE_SET)<<8|1, col("set", "set('a','b')", ""))
	add(gomysql.MYSQL_TYPE_STRING, uint16(gomysql.MYSQL_TYPE_STRING)<<8|8, col("binary", "binary(8)", ""))
	add(gomysql.MYSQL_TYPE_BLOB, 2, col("blob", "blob", ""))
	add(gomysql.MYSQL_TYPE_BIT, 1<<8|4, col("bit", "bit(12)", ""))
	add(gomysql.MYSQL_TYPE_FLOAT, 4, col("float", "float", ""))
	add(gomysql.MYSQL_TYPE_DOUBLE, 8, col("double", "double", ""))
	add(gomysql.MYSQL_TYPE_YEAR, 0, col("year", "year(4)", ""))
	add(gomysql.MYSQL_TYPE_TIME2, 4, col("time", "time(4)", ""))
	tm.ColumnCount = uint64(len(cols))
	plan, ok := imagePlan(nil, tm, cols)
	if !ok {
		f.Fatal("no image plan for the fuzzed table")
	}
	f.Add([]byte{}, []byte{0xff, 0xff}, false)
	f.Add(bytes.Repeat([]byte{0x80}, 80), []byte{0xff, 0xff}, true)
	f.Add(bytes.Repeat([]byte{0}, 64), []byte{0x01, 0x00}, false)
	f.Fuzz(func(t *testing.T, data, bitmap []byte, update bool) {
		if len(bitmap) < 2 {
			return
		}
		var bitmap2 []byte
		if update {
			bitmap2 = bitmap
		}
		var arena box.Arena
		rows, err := readImages(nil, plan, data, bitmap, bitmap2, &arena, &box.Slab{})
		if err == nil && len(data) > 0 && len(rows) == 0 {
			t.Errorf("%d bytes read as no image", len(data))
		}
	})
}
