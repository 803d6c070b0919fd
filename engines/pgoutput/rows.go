package pgoutput

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/vstreamd/vstreamd/engines/internal/box"
)

// A copy query reads the columns of fixed-size types in PostgreSQL's binary
// format (no text to parse: a copy reads millions of values) and every other
// column as text, the form the change stream (pgoutput protocol 1) uses.

// pgEpoch is 2000-01-01 00:00:00 UTC, the zero of binary dates and time
// stamps, in Unix seconds.
const pgEpoch = 946684800

// binaryResult reports whether the copy query reads c in binary format.
func (c *column) binaryResult() bool {
	switch c.kind {
	case kInt, kFloat4, kFloat8, kBool, kBytea, kDate, kTimestamp, kTimestampTZ:
		return true
	}
	return false
}

// resultFormats is the format code (0 text, 1 binary) of each column of a
// copy query.
func resultFormats(cols []column) []int16 {
	f := make([]int16, len(cols))
	for i := range cols {
		if cols[i].binaryResult() {
			f[i] = 1
		}
	}
	return f
}

// rowDecoder turns the values of result rows into engine values. Rows,
// texts and values are carved from slabs: a copy chunk keeps all its rows
// until it is emitted, so nothing is kept alive longer than it would be
// anyway.
type rowDecoder struct {
	cols    []column
	formats []int16
	text    box.Arena
	box     box.Slab
}

func newRowDecoder(cols []column) *rowDecoder {
	return &rowDecoder{cols: cols, formats: resultFormats(cols)}
}

// decode returns the row's values; vals are only read, not kept.
func (d *rowDecoder) decode(vals [][]byte) ([]any, error) {
	row := d.box.Row(len(d.cols))
	for i, v := range vals {
		if v == nil {
			continue
		}
		c := &d.cols[i]
		var err error
		switch {
		case d.formats[i] == 1:
			row[i], err = decodeBinary(c.kind, v, &d.box)
		default:
			row[i], err = decodeText(c.kind, &c.typ, v, &d.text, &d.box)
		}
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.name, err)
		}
	}
	return row, nil
}

// decodeBinary reads a value in PostgreSQL's binary format (the types'
// send functions) for the kinds binaryResult names, boxed by bx.
func decodeBinary(k kind, b []byte, bx *box.Slab) (any, error) {
	switch k {
	case kInt:
		switch len(b) {
		case 2:
			return bx.Int64(int64(int16(binary.BigEndian.Uint16(b)))), nil
		case 4:
			return bx.Int64(int64(int32(binary.BigEndian.Uint32(b)))), nil
		case 8:
			return bx.Int64(int64(binary.BigEndian.Uint64(b))), nil
		}
	case kFloat4:
		if len(b) == 4 {
			return math.Float32frombits(binary.BigEndian.Uint32(b)), nil
		}
	case kFloat8:
		if len(b) == 8 {
			return bx.Float64(math.Float64frombits(binary.BigEndian.Uint64(b))), nil
		}
	case kBool:
		if len(b) == 1 {
			if b[0] != 0 {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case kBytea:
		return append([]byte{}, b...), nil
	case kDate:
		if len(b) == 4 {
			days := int32(binary.BigEndian.Uint32(b))
			if days == math.MaxInt32 || days == math.MinInt32 {
				return nil, fmt.Errorf("infinity has no MySQL value")
			}
			t, err := inMySQLRange(time.Unix(pgEpoch+int64(days)*86400, 0).UTC())
			return boxTime(bx, t, err)
		}
	case kTimestamp, kTimestampTZ:
		if len(b) == 8 {
			us := int64(binary.BigEndian.Uint64(b))
			if us == math.MaxInt64 || us == math.MinInt64 {
				return nil, fmt.Errorf("infinity has no MySQL value")
			}
			sec, frac := us/1e6, us%1e6
			if frac < 0 {
				sec, frac = sec-1, frac+1e6
			}
			t, err := inMySQLRange(time.Unix(pgEpoch+sec, frac*1000).UTC())
			return boxTime(bx, t, err)
		}
	default:
		return nil, fmt.Errorf("no binary decoding for kind %d", k)
	}
	return nil, fmt.Errorf("binary value of %d bytes does not fit the type", len(b))
}

// boxTime boxes the time inMySQLRange accepted.
func boxTime(bx *box.Slab, t time.Time, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return bx.Time(t), nil
}

// inMySQLRange refuses times MySQL's DATE and DATETIME cannot hold.
func inMySQLRange(t time.Time) (time.Time, error) {
	switch y := t.Year(); {
	case y < 1:
		return time.Time{}, fmt.Errorf("dates before year 1 have no MySQL value")
	case y > 9999:
		return time.Time{}, fmt.Errorf("year %d has no MySQL value", y)
	}
	return t, nil
}
