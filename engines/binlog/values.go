package binlog

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// kind is how a column's values are represented (package engines lists the
// Go types).
type kind uint8

const (
	kOther kind = iota // bytes as the server sends them (spatial types …)
	kInt
	kUint
	kFloat
	kDouble
	kDecimal
	kDate
	kDatetime
	kTimestamp
	kTime
	kYear
	kChar
	kBinary
	kFixedBinary // BINARY(n): padded with zero bytes to n
	kEnum
	kSet
	kBit
	kJSON
)

func isCharacter(k kind) bool { return k == kChar || k == kEnum || k == kSet }

// column is one column as the engine decodes it.
type column struct {
	name       string
	columnType string // e.g. "bigint(20) unsigned", "enum('a','b')"
	dataType   string // e.g. "bigint", "enum"
	collation  string
	charset    string
	kind       kind
	size       int      // BINARY(n): n
	bits       int      // integer width
	labels     []string // ENUM and SET members
	latin1     bool     // binlog bytes are latin1, not UTF-8
}

// init derives the kind and details from the MySQL types.
func (c *column) init() {
	ct := strings.ToLower(c.columnType)
	unsigned := strings.Contains(ct, "unsigned")
	switch strings.ToLower(c.dataType) {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		c.kind = kInt
		c.bits = map[string]int{"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}[strings.ToLower(c.dataType)]
		if unsigned {
			c.kind = kUint
		}
	case "float":
		c.kind = kFloat
	case "double", "real", "double precision":
		c.kind = kDouble
	case "decimal", "numeric", "dec", "fixed":
		c.kind = kDecimal
	case "date":
		c.kind = kDate
	case "datetime":
		c.kind = kDatetime
	case "timestamp":
		c.kind = kTimestamp
	case "time":
		c.kind = kTime
	case "year":
		c.kind = kYear
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		c.kind = kChar
	case "binary":
		c.kind = kFixedBinary
		c.size = typeLength(ct)
	case "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		c.kind = kBinary
	case "enum":
		c.kind = kEnum
		c.labels = typeLabels(c.columnType)
	case "set":
		c.kind = kSet
		c.labels = typeLabels(c.columnType)
	case "bit":
		c.kind = kBit
	case "json":
		c.kind = kJSON
	default:
		c.kind = kOther
	}
	c.latin1 = strings.EqualFold(c.charset, "latin1")
}

// typeLength reads n from "binary(n)".
func typeLength(ct string) int {
	i, j := strings.IndexByte(ct, '('), strings.IndexByte(ct, ')')
	if i < 0 || j < i {
		return 1
	}
	n, err := strconv.Atoi(ct[i+1 : j])
	if err != nil {
		return 1
	}
	return n
}

// typeLabels reads the members of "enum('a','b”c')".
func typeLabels(ct string) []string {
	i := strings.IndexByte(ct, '(')
	if i < 0 {
		return nil
	}
	body := ct[i+1:]
	var out []string
	for len(body) > 0 && body[0] == '\'' {
		var b strings.Builder
		j := 1
		for ; j < len(body); j++ {
			if body[j] == '\'' {
				if j+1 < len(body) && body[j+1] == '\'' {
					b.WriteByte('\'')
					j++
					continue
				}
				break
			}
			if body[j] == '\\' && j+1 < len(body) {
				j++
			}
			b.WriteByte(body[j])
		}
		out = append(out, b.String())
		body = strings.TrimLeft(body[min(j+1, len(body)):], ",")
	}
	return out
}

const (
	layoutDate     = "2006-01-02"
	layoutDatetime = "2006-01-02 15:04:05.999999999"
)

// parseTime reads a DATE, DATETIME or TIMESTAMP text as UTC. A zero date
// (0000-00-00) stays text: no time.Time holds it.
func parseTime(s string, k kind) (any, error) {
	if strings.HasPrefix(s, "0000-00-00") {
		return s, nil
	}
	layout := layoutDatetime
	if k == kDate {
		layout = layoutDate
	}
	t, err := time.ParseInLocation(layout, s, time.UTC)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// fromBinlog turns a value go-mysql decoded from a row event into the
// engine representation of the column.
func (c *column) fromBinlog(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.kind {
	case kInt:
		return toInt64(v)
	case kUint:
		return toUint64(v, c.bits)
	case kFloat:
		if f, ok := v.(float32); ok {
			return f, nil
		}
	case kDouble:
		if f, ok := v.(float64); ok {
			return f, nil
		}
	case kDecimal:
		return fmt.Sprint(v), nil
	case kDate, kDatetime, kTimestamp:
		switch x := v.(type) {
		case string:
			return parseTime(x, c.kind)
		case time.Time:
			return x.UTC(), nil
		}
	case kTime:
		return fmt.Sprint(v), nil
	case kYear:
		return toInt64(v)
	case kChar, kJSON:
		b := bytesOf(v)
		if c.latin1 {
			return latin1String(b), nil
		}
		return string(b), nil
	case kBinary, kOther:
		return append([]byte(nil), bytesOf(v)...), nil
	case kFixedBinary:
		b := bytesOf(v)
		out := make([]byte, max(len(b), c.size))
		copy(out, b)
		return out, nil
	case kEnum:
		i, err := toInt64(v)
		if err != nil {
			return nil, err
		}
		if i == 0 || int(i) > len(c.labels) {
			return "", nil
		}
		return c.labels[i-1], nil
	case kSet:
		bits, err := toInt64(v)
		if err != nil {
			return nil, err
		}
		var parts []string
		for i, l := range c.labels {
			if bits&(1<<uint(i)) != 0 {
				parts = append(parts, l)
			}
		}
		return strings.Join(parts, ","), nil
	case kBit:
		i, err := toInt64(v)
		return uint64(i), err
	}
	return nil, fmt.Errorf("column %s (%s): unexpected binlog value %T", c.name, c.columnType, v)
}

// fromText turns a value of the text protocol (a SELECT) into the engine
// representation; nil is NULL. The bytes are not kept.
func (c *column) fromText(b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	s := string(b)
	switch c.kind {
	case kInt, kYear:
		return strconv.ParseInt(s, 10, 64)
	case kUint:
		return strconv.ParseUint(s, 10, 64)
	case kFloat:
		f, err := strconv.ParseFloat(s, 32)
		return float32(f), err
	case kDouble:
		return strconv.ParseFloat(s, 64)
	case kDate, kDatetime, kTimestamp:
		return parseTime(s, c.kind)
	case kBinary, kFixedBinary, kOther:
		return append([]byte(nil), b...), nil
	case kBit:
		var buf [8]byte
		if len(b) > 8 {
			return nil, fmt.Errorf("column %s: BIT value of %d bytes", c.name, len(b))
		}
		copy(buf[8-len(b):], b)
		return binary.BigEndian.Uint64(buf[:]), nil
	}
	return s, nil // DECIMAL, TIME, character types, ENUM, SET, JSON
}

func bytesOf(v any) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return []byte(fmt.Sprint(v))
}

func latin1String(b []byte) string {
	s, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return string(b)
	}
	return string(s)
}

func toInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		return int64(x), nil
	}
	return 0, fmt.Errorf("unexpected integer %T", v)
}

// toUint64 reads an unsigned column's value; without signedness metadata
// in the binlog go-mysql decodes it as signed, so it is reinterpreted at the
// column's width.
func toUint64(v any, bits int) (uint64, error) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint32:
		return uint64(x), nil
	case uint64:
		return x, nil
	}
	i, err := toInt64(v)
	if err != nil {
		return 0, err
	}
	if bits > 0 && bits < 64 {
		return uint64(i) & (1<<uint(bits) - 1), nil
	}
	return uint64(i), nil
}
