package vstream

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// ErrBadToken: a token cannot be decoded or does not belong to the stream
// it is used with.
var ErrBadToken = errors.New("bad token")

const tokenPrefix = "vs1."

// Token is a resume point of one stream: everything up to and including the
// row it was issued for has been delivered. Pos is the transaction boundary
// before that row; Skip counts the rows of the next transaction already
// delivered; while Copying, only rows with key <= LastKey are covered (nil
// LastKey: no row copied yet) and the copy goes on after LastKey.
type Token struct {
	Keyspace string
	Shard    string
	Table    string
	Copying  bool
	Pos      engines.Position
	Skip     int64
	LastKey  []any
}

// Fresh returns the token of a stream that has delivered nothing yet: a
// full copy comes first.
func Fresh(keyspace, shard, table string) Token {
	return Token{Keyspace: keyspace, Shard: shard, Table: table, Copying: true}
}

// Phase is "copy" or "replicate".
func (t Token) Phase() string {
	if t.Copying {
		return "copy"
	}
	return "replicate"
}

// value tags of encoded key values.
const (
	tagNil byte = iota
	tagInt
	tagUint
	tagFloat64
	tagFloat32
	tagString
	tagBytes
	tagTime
	tagBool
)

// String encodes the token as "vs1." + base64url of a compact binary form:
// safe to paste inside a SQL string literal, stable across releases (a new
// layout gets a new prefix).
func (t Token) String() string {
	return string(t.AppendTo(make([]byte, 0, 64+2*len(t.Pos))))
}

// AppendTo appends the token's text (as String returns it) to dst.
func (t Token) AppendTo(dst []byte) []byte {
	var scratch [128]byte
	b := scratch[:0]
	var flags uint64
	if t.Copying {
		flags |= 1
	}
	if t.LastKey != nil {
		flags |= 2
	}
	b = binary.AppendUvarint(b, flags)
	b = appendString(b, t.Keyspace)
	b = appendString(b, t.Shard)
	b = appendString(b, t.Table)
	b = appendString(b, string(t.Pos))
	b = binary.AppendUvarint(b, uint64(t.Skip))
	if t.LastKey != nil {
		b = binary.AppendUvarint(b, uint64(len(t.LastKey)))
		for _, v := range t.LastKey {
			b = appendValue(b, v)
		}
	}
	dst = append(dst, tokenPrefix...)
	return base64.RawURLEncoding.AppendEncode(dst, b)
}

// IsToken reports whether s looks like a vstreamd token (rather than an
// engine position such as a GTID set).
func IsToken(s string) bool { return strings.HasPrefix(s, tokenPrefix) }

// ParseToken decodes a token made by Token.String.
func ParseToken(s string) (Token, error) {
	var t Token
	if !IsToken(s) {
		return t, fmt.Errorf("%w: %q is not a vstreamd token", ErrBadToken, s)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s[len(tokenPrefix):])
	if err != nil {
		return t, fmt.Errorf("%w: %q: %v", ErrBadToken, s, err)
	}
	d := decoder{b: raw}
	flags := d.uvarint()
	t.Copying = flags&1 != 0
	t.Keyspace = d.string()
	t.Shard = d.string()
	t.Table = d.string()
	t.Pos = engines.Position(d.string())
	skip := d.uvarint()
	if skip > math.MaxInt64 {
		d.fail()
	}
	t.Skip = int64(skip)
	if flags&2 != 0 {
		n := d.uvarint()
		if n > uint64(len(d.b)) {
			n = 0 // every value takes at least one byte: damaged
			d.fail()
		}
		t.LastKey = make([]any, 0, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			t.LastKey = append(t.LastKey, d.value())
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	if d.err != nil || flags > 3 || t.Table == "" || t.Skip < 0 {
		return Token{}, fmt.Errorf("%w: %q is damaged (copy it again from the pos column or vstream_positions())", ErrBadToken, s)
	}
	return t, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendValue encodes one key value. Engines hand out the Go types listed in
// package engines; other values (an engine's own decimal or time types) are
// kept as their text, which the engine's CompareKeys and Scan accept back.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, tagNil)
	case int64:
		return binary.AppendVarint(append(b, tagInt), x)
	case int:
		return binary.AppendVarint(append(b, tagInt), int64(x))
	case int32:
		return binary.AppendVarint(append(b, tagInt), int64(x))
	case int16:
		return binary.AppendVarint(append(b, tagInt), int64(x))
	case int8:
		return binary.AppendVarint(append(b, tagInt), int64(x))
	case uint64:
		return binary.AppendUvarint(append(b, tagUint), x)
	case uint:
		return binary.AppendUvarint(append(b, tagUint), uint64(x))
	case uint32:
		return binary.AppendUvarint(append(b, tagUint), uint64(x))
	case uint16:
		return binary.AppendUvarint(append(b, tagUint), uint64(x))
	case uint8:
		return binary.AppendUvarint(append(b, tagUint), uint64(x))
	case float64:
		return binary.BigEndian.AppendUint64(append(b, tagFloat64), math.Float64bits(x))
	case float32:
		return binary.BigEndian.AppendUint32(append(b, tagFloat32), math.Float32bits(x))
	case string:
		return appendString(append(b, tagString), x)
	case []byte:
		return appendString(append(b, tagBytes), string(x))
	case time.Time:
		b = binary.AppendVarint(append(b, tagTime), x.Unix())
		return binary.AppendUvarint(b, uint64(x.Nanosecond()))
	case bool:
		if x {
			return append(b, tagBool, 1)
		}
		return append(b, tagBool, 0)
	case fmt.Stringer:
		return appendString(append(b, tagString), x.String())
	default:
		return appendString(append(b, tagString), fmt.Sprint(x))
	}
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errors.New("truncated or malformed")
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) take(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.take(d.uvarint())) }

func (d *decoder) value() any {
	tag := d.take(1)
	if tag == nil {
		return nil
	}
	switch tag[0] {
	case tagNil:
		return nil
	case tagInt:
		return d.varint()
	case tagUint:
		return d.uvarint()
	case tagFloat64:
		if b := d.take(8); b != nil {
			return math.Float64frombits(binary.BigEndian.Uint64(b))
		}
	case tagFloat32:
		if b := d.take(4); b != nil {
			return math.Float32frombits(binary.BigEndian.Uint32(b))
		}
	case tagString:
		return d.string()
	case tagBytes:
		return []byte(d.string())
	case tagTime:
		sec := d.varint()
		nsec := d.uvarint()
		if nsec >= 1e9 {
			d.fail()
			return nil
		}
		return time.Unix(sec, int64(nsec)).UTC()
	case tagBool:
		if b := d.take(1); b != nil {
			return b[0] != 0
		}
	default:
		d.fail()
	}
	return nil
}

// lastToken is a resume token held as the row it belongs to while that
// row's batch is in use anyway (rows do not change once queued: keeping
// the row spares copying a token for every row), and copied by settle,
// so that the row does not keep its batch (a whole copy chunk) alive.
type lastToken struct {
	tok Token
	row *Row // nil: tok is the token
}

func (l *lastToken) get() Token {
	if l.row != nil {
		return l.row.Token
	}
	return l.tok
}

func (l *lastToken) setRow(r *Row) { l.row = r }
func (l *lastToken) set(t Token)   { l.tok, l.row = t, nil }
func (l *lastToken) settle()       { l.set(l.get()) }
