package mssqlcdc

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/vstreamd/vstreamd/engines"
)

// lsn is a SQL Server log sequence number: binary(10), three big-endian
// parts (virtual log file, log block, record slot), ordered as bytes.
// Change tables, sys.fn_cdc_get_max_lsn() and the capture functions use
// the binary form; sys.dm_db_log_stats and sys.dm_cdc_log_scan_sessions
// print it as text, "0000002A:00000F58:0003" (the log architecture guide's
// form, hexadecimal, zero-padded). The engine's positions are that text.
type lsn [10]byte

// String is the canonical text form, upper-case hexadecimal.
func (l lsn) String() string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, 0, 22)
	for i, c := range l {
		if i == 4 || i == 8 {
			b = append(b, ':')
		}
		b = append(b, digits[c>>4], digits[c&15])
	}
	return string(b)
}

func (l lsn) isZero() bool { return l == lsn{} }

func (l lsn) compare(o lsn) int { return bytes.Compare(l[:], o[:]) }

// next is the smallest LSN greater than l (l + 1 as an 80-bit integer):
// change functions take closed ranges, so a window after position l
// starts there (what sys.fn_cdc_increment_lsn returns). The greatest LSN
// has no successor: next returns it (FuzzMSSQLLSN found the wrap to zero).
func (l lsn) next() lsn {
	if l == maxLSNValue {
		return l
	}
	for i := len(l) - 1; i >= 0; i-- {
		l[i]++
		if l[i] != 0 {
			break
		}
	}
	return l
}

// prev is the greatest LSN less than l (l - 1): the position right before
// the transaction that commits at l. The zero LSN has no predecessor:
// prev returns it.
func (l lsn) prev() lsn {
	if l.isZero() {
		return l
	}
	for i := len(l) - 1; i >= 0; i-- {
		l[i]--
		if l[i] != 0xFF {
			break
		}
	}
	return l
}

// maxLSNValue is the greatest LSN.
var maxLSNValue = lsn{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}

func (l lsn) position() engines.Position { return engines.Position(l.String()) }

func maxLSN(a, b lsn) lsn {
	if a.compare(b) >= 0 {
		return a
	}
	return b
}

// parseLSN reads an LSN in its text form ("0000002A:00000F58:0003", any
// case) or as the binary literal SQL Server prints ("0x0000002A00000F580003").
func parseLSN(s string) (lsn, bool) {
	var l lsn
	s = strings.TrimSpace(s)
	var digits string
	switch {
	case len(s) == 22 && s[8] == ':' && s[17] == ':':
		digits = s[:8] + s[9:17] + s[18:]
	case len(s) == 22 && (s[:2] == "0x" || s[:2] == "0X"):
		digits = s[2:]
	default:
		return l, false
	}
	if _, err := hex.Decode(l[:], []byte(digits)); err != nil {
		return lsn{}, false
	}
	return l, true
}

// lsnFromBytes reads a binary(10) value as the driver returns it.
func lsnFromBytes(b []byte) (lsn, bool) {
	var l lsn
	if len(b) != len(l) {
		return l, false
	}
	copy(l[:], b)
	return l, true
}

// lsnValue reads an LSN the server returned: binary(10) bytes, or the text
// of a DMV column; NULL is the zero LSN.
func lsnValue(v any) (lsn, error) {
	switch x := v.(type) {
	case nil:
		return lsn{}, nil
	case []byte:
		if l, ok := lsnFromBytes(x); ok {
			return l, nil
		}
	case string:
		if l, ok := parseLSN(x); ok {
			return l, nil
		}
	}
	return lsn{}, fmt.Errorf("unexpected LSN value %v (%T)", v, v)
}

// positionLSN reads a position of this engine.
func positionLSN(p engines.Position) (lsn, error) {
	l, ok := parseLSN(string(p))
	if !ok || l.isZero() {
		return lsn{}, engines.Errorf(engines.ErrBadPosition, "%q is not a SQL Server LSN (like 0000002A:00000F58:0003)", p)
	}
	return l, nil
}
