package binlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/vstreamd/vstreamd/engines/internal/box"
)

// The reader decodes the row images of a rows event itself, straight into
// engine values: go-mysql's decoding makes a Go value of each column, which
// fromBinlog then converts, and was 40 % of vstreamd's CPU in a stream of
// 1000-row transactions. The values are the ones go-mysql and fromBinlog
// give, to the byte; a value this decoder does not read as they would (a
// zero or pre-1970 date, a negative TIME, MySQL's binary JSON, a column
// whose type changed since the event) sends the whole event through
// go-mysql instead
// (errUseGoMySQL): those values stay exactly as they always were.
//
// Row image format (MySQL's Rows_log_event): for each row, a bitmap of
// the NULL columns among those the event's column bitmap marks, then the
// value of every marked column that is not NULL, in the binlog type and
// metadata of the table map event.

// errUseGoMySQL: the event has a value the image decoder leaves to go-mysql.
var errUseGoMySQL = errors.New("decoded by go-mysql")

// imageColumn is the decoding of one column of a table map's images.
type imageColumn struct {
	c      *column
	typ    byte   // the binlog type; of a MYSQL_TYPE_STRING, its real type
	meta   uint16 // the table map's metadata
	length int    // STRING: the field's length; ENUM, SET, BIT, integers: bytes
	prefix int    // character and binary types: the bytes of the length before the value
}

// imagePlan returns the decoding of the columns of a table map into cols
// (matched to its columns by the reader), appended to plan[:0], and false
// when a column's binlog type is not one the decoder reads as that
// column's kind.
func imagePlan(plan []imageColumn, tm *replication.TableMapEvent, cols []column) ([]imageColumn, bool) {
	plan = plan[:0]
	if len(tm.ColumnType) != len(cols) || len(tm.ColumnMeta) != len(cols) {
		return plan, false
	}
	numeric := 0 // numeric columns so far: the binlog's signedness bitmap has a bit for each
	for i := range cols {
		ic := imageColumn{c: &cols[i], typ: tm.ColumnType[i], meta: tm.ColumnMeta[i]}
		if !ic.init() {
			return plan, false
		}
		if tm.IsNumericColumn(i) {
			signedness := tm.SignednessBitmap // binlog_row_metadata: empty when NO_LOG
			if cols[i].kind == kInt && numeric/8 < len(signedness) && signedness[numeric/8]&(0x80>>(numeric%8)) != 0 {
				return plan, false // unsigned then, signed now: go-mysql's value is the unsigned one
			}
			numeric++
		}
		plan = append(plan, ic)
	}
	return plan, true
}

// intBytes is the width of a binlog integer type.
func intBytes(t byte) int {
	switch t {
	case gomysql.MYSQL_TYPE_TINY:
		return 1
	case gomysql.MYSQL_TYPE_SHORT:
		return 2
	case gomysql.MYSQL_TYPE_INT24:
		return 3
	case gomysql.MYSQL_TYPE_LONG:
		return 4
	}
	return 8
}

// init resolves a STRING's real type and reports whether the decoder reads
// the binlog type as the column's kind.
func (ic *imageColumn) init() bool {
	if ic.typ == gomysql.MYSQL_TYPE_STRING && ic.meta >= 256 {
		// The real type is in the first byte; a field longer than 255
		// keeps the high bits of its length in that byte's 0x30 bits.
		real, low := byte(ic.meta>>8), int(ic.meta&0xff)
		if real&0x30 != 0x30 {
			ic.length = low | int((real&0x30)^0x30)<<4
			real |= 0x30
		} else {
			ic.length = low
		}
		ic.typ = real
	} else if ic.typ == gomysql.MYSQL_TYPE_STRING {
		ic.length = int(ic.meta)
	}
	k := ic.c.kind
	switch ic.typ {
	case gomysql.MYSQL_TYPE_TINY, gomysql.MYSQL_TYPE_SHORT, gomysql.MYSQL_TYPE_INT24,
		gomysql.MYSQL_TYPE_LONG, gomysql.MYSQL_TYPE_LONGLONG:
		ic.length = intBytes(ic.typ)
		return (k == kInt || k == kUint) && ic.c.bits == 8*ic.length
	case gomysql.MYSQL_TYPE_YEAR:
		return k == kYear
	case gomysql.MYSQL_TYPE_FLOAT:
		return k == kFloat
	case gomysql.MYSQL_TYPE_DOUBLE:
		return k == kDouble
	case gomysql.MYSQL_TYPE_NEWDECIMAL:
		prec, scale := int(ic.meta>>8), int(ic.meta&0xff)
		return k == kDecimal && prec >= 1 && prec <= 65 && scale <= 30 && scale <= prec
	case gomysql.MYSQL_TYPE_DATE:
		return k == kDate
	case gomysql.MYSQL_TYPE_DATETIME2:
		return k == kDatetime && ic.meta <= 6
	case gomysql.MYSQL_TYPE_TIMESTAMP2:
		return k == kTimestamp && ic.meta <= 6
	case gomysql.MYSQL_TYPE_TIME2:
		return k == kTime && ic.meta <= 6
	case gomysql.MYSQL_TYPE_VARCHAR, gomysql.MYSQL_TYPE_VAR_STRING:
		ic.prefix = 1
		if ic.meta >= 256 {
			ic.prefix = 2
		}
		return k == kChar || k == kBinary
	case gomysql.MYSQL_TYPE_STRING:
		ic.prefix = 1
		if ic.length >= 256 {
			ic.prefix = 2
		}
		return k == kChar || k == kFixedBinary
	case gomysql.MYSQL_TYPE_BLOB:
		ic.prefix = int(ic.meta)
		return (k == kChar || k == kBinary || (k == kJSON && !ic.c.mysqlJSON)) && ic.meta >= 1 && ic.meta <= 4
	case gomysql.MYSQL_TYPE_ENUM:
		ic.length = int(ic.meta & 0xff)
		return k == kEnum && (ic.length == 1 || ic.length == 2)
	case gomysql.MYSQL_TYPE_SET:
		ic.length = int(ic.meta & 0xff)
		return k == kSet && ic.length >= 1 && ic.length <= 8
	case gomysql.MYSQL_TYPE_BIT:
		bits := int(ic.meta>>8)*8 + int(ic.meta&0xff)
		ic.length = (bits + 7) / 8
		return k == kBit && ic.length >= 1 && ic.length <= 8
	}
	return false
}

// imageReader reads the row images of one rows event. Its rows, texts
// and values come from the reader's slabs (arena and box), which outlive
// the event.
type imageReader struct {
	plan    []imageColumn
	data    []byte // the images
	pos     int
	arena   *box.Arena
	box     *box.Slab
	scratch [2 + 65 + 9]byte
}

// readImages reads the row images of an event, appended to rows; with
// bitmap2 (an update) before and after images alternate.
func readImages(rows [][]any, plan []imageColumn, data []byte, bitmap1, bitmap2 []byte, arena *box.Arena, bx *box.Slab) ([][]any, error) {
	ir := &imageReader{plan: plan, data: data, arena: arena, box: bx}
	for ir.more() {
		row, err := ir.next(bitmap1)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
		if bitmap2 == nil {
			continue
		}
		if row, err = ir.next(bitmap2); err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// more reports whether images remain.
func (ir *imageReader) more() bool { return ir.pos < len(ir.data) }

// next reads one row image whose present columns bitmap marks; the
// columns it does not mark are nil.
func (ir *imageReader) next(bitmap []byte) ([]any, error) {
	n := len(ir.plan)
	if len(bitmap)*8 < n {
		return nil, fmt.Errorf("a column bitmap of %d bytes for %d columns", len(bitmap), n)
	}
	present := 0
	for i := 0; i < n; i++ {
		if bitmap[i/8]&(1<<(i%8)) != 0 {
			present++
		}
	}
	if present == 0 {
		return nil, fmt.Errorf("a row image whose bitmap marks no column")
	}
	nulls, err := ir.take((present + 7) / 8)
	if err != nil {
		return nil, err
	}
	row := ir.box.Row(n)
	k := 0
	for i := range ir.plan {
		if bitmap[i/8]&(1<<(i%8)) == 0 {
			continue
		}
		null := nulls[k/8]&(1<<(k%8)) != 0
		k++
		if null {
			continue
		}
		ic := &ir.plan[i]
		var v any
		var m int
		var err error
		switch {
		case ic.prefix > 0:
			m, err = lengthPrefixed(ir.data[ir.pos:], ic.prefix)
			if err == nil {
				v = ir.chars(ic.c, ir.data[ir.pos+ic.prefix:ir.pos+m])
			}
		case ic.typ == gomysql.MYSQL_TYPE_NEWDECIMAL:
			var text []byte
			if text, m, err = decimalText(ir.scratch[:0], ir.data[ir.pos:], int(ic.meta>>8), int(ic.meta&0xff)); err == nil {
				v = ir.box.String(ir.arena.String(text))
			}
		case ic.typ == gomysql.MYSQL_TYPE_TIME2:
			var text []byte
			if text, m, err = time2Text(ir.scratch[:0], ir.data[ir.pos:], int(ic.meta)); err == nil {
				v = ir.box.String(ir.arena.String(text))
			}
		default:
			v, m, err = ic.value(ir.data[ir.pos:], ir.box)
		}
		if err != nil {
			if errors.Is(err, errUseGoMySQL) {
				return nil, err
			}
			return nil, fmt.Errorf("column %s at byte %d of the row images: %w", ic.c.name, ir.pos, err)
		}
		row[i] = v
		ir.pos += m
	}
	return row, nil
}

// take consumes n bytes.
func (ir *imageReader) take(n int) ([]byte, error) {
	if n > len(ir.data)-ir.pos {
		return nil, errShortImage
	}
	b := ir.data[ir.pos : ir.pos+n]
	ir.pos += n
	return b, nil
}

var errShortImage = errors.New("a row image ends inside a value")

// chars is the engine value of the bytes b of a character or binary
// column.
func (ir *imageReader) chars(c *column, b []byte) any {
	switch c.kind {
	case kBinary:
		return append([]byte(nil), b...)
	case kFixedBinary:
		return c.padded(b)
	}
	if c.decode != nil {
		return ir.box.String(c.decode(b))
	}
	return ir.box.String(ir.arena.String(b))
}

// value decodes the value at the start of b, of a column that is not of a
// character or binary type: the engine value and its length in bytes.
func (ic *imageColumn) value(b []byte, bx *box.Slab) (any, int, error) {
	c := ic.c
	switch ic.typ {
	case gomysql.MYSQL_TYPE_TINY, gomysql.MYSQL_TYPE_SHORT, gomysql.MYSQL_TYPE_INT24,
		gomysql.MYSQL_TYPE_LONG, gomysql.MYSQL_TYPE_LONGLONG:
		w := ic.length
		if len(b) < w {
			return nil, 0, errShortImage
		}
		u := littleEndian(b[:w])
		if c.kind == kUint {
			return bx.Uint64(u), w, nil
		}
		shift := 64 - 8*w
		return bx.Int64(int64(u<<shift) >> shift), w, nil
	case gomysql.MYSQL_TYPE_YEAR:
		if len(b) < 1 {
			return nil, 0, errShortImage
		}
		y := int64(b[0])
		if y != 0 {
			y += 1900
		}
		return bx.Int64(y), 1, nil
	case gomysql.MYSQL_TYPE_FLOAT:
		if len(b) < 4 {
			return nil, 0, errShortImage
		}
		return float32Text(math.Float32frombits(binary.LittleEndian.Uint32(b)), c.scale), 4, nil
	case gomysql.MYSQL_TYPE_DOUBLE:
		if len(b) < 8 {
			return nil, 0, errShortImage
		}
		return bx.Float64(math.Float64frombits(binary.LittleEndian.Uint64(b))), 8, nil
	case gomysql.MYSQL_TYPE_DATE, gomysql.MYSQL_TYPE_DATETIME2, gomysql.MYSQL_TYPE_TIMESTAMP2:
		var t time.Time
		var n int
		var err error
		switch ic.typ {
		case gomysql.MYSQL_TYPE_DATE:
			t, n, err = dateValue(b)
		case gomysql.MYSQL_TYPE_DATETIME2:
			t, n, err = datetime2Value(b, int(ic.meta))
		default:
			t, n, err = timestamp2Value(b, int(ic.meta))
		}
		if err != nil {
			return nil, 0, err
		}
		return bx.Time(t), n, nil
	case gomysql.MYSQL_TYPE_ENUM:
		if len(b) < ic.length {
			return nil, 0, errShortImage
		}
		return bx.String(c.enumLabel(int64(littleEndian(b[:ic.length])))), ic.length, nil
	case gomysql.MYSQL_TYPE_SET:
		if len(b) < ic.length {
			return nil, 0, errShortImage
		}
		return bx.String(c.setText(int64(littleEndian(b[:ic.length])))), ic.length, nil
	case gomysql.MYSQL_TYPE_BIT:
		if len(b) < ic.length {
			return nil, 0, errShortImage
		}
		return bx.Uint64(bigEndian(b[:ic.length])), ic.length, nil
	}
	return nil, 0, errUseGoMySQL // imagePlan admits no other type
}

// lengthPrefixed returns the size of a value preceded by its length in p
// bytes, the length included.
func lengthPrefixed(b []byte, p int) (int, error) {
	if len(b) < p {
		return 0, errShortImage
	}
	n := littleEndian(b[:p])
	if n > uint64(len(b)-p) {
		return 0, errShortImage
	}
	return p + int(n), nil
}

func littleEndian(b []byte) uint64 {
	var u uint64
	for i := len(b) - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	return u
}

func bigEndian(b []byte) uint64 {
	var u uint64
	for _, x := range b {
		u = u<<8 | uint64(x)
	}
	return u
}
