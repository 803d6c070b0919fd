package binlog

import "time"

// The binary formats of the temporal and DECIMAL values of row images
// (MySQL's my_time.cc and decimal.c describe them), read as go-mysql and
// fromBinlog make their engine values; see images.go.

// dateValue reads a DATE (3 bytes: day, month and year in bits 0-4, 5-8
// and 9-23). The zero date and a date with a zero month or day are left
// to go-mysql.
func dateValue(b []byte) (time.Time, int, error) {
	if len(b) < 3 {
		return time.Time{}, 0, errShortImage
	}
	v := littleEndian(b[:3])
	y, m, d := int(v>>9), int(v>>5&15), int(v&31)
	t, ok := civil(y, m, d, 0, 0, 0, 0)
	if !ok {
		return time.Time{}, 0, errUseGoMySQL
	}
	return t, 3, nil
}

// civil is the time of a date and time MySQL can print: a year of four
// digits, a month and day of the calendar.
func civil(y, mo, d, h, mi, s, ns int) (time.Time, bool) {
	if y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	return t, t.Day() == d
}

// fracBytes is the size of the fractional seconds of a temporal value of
// fsp digits, and fracMicros reads them as microseconds.
func fracBytes(fsp int) int { return (fsp + 1) / 2 }

func fracMicros(b []byte, fsp int) int64 {
	switch fsp {
	case 1, 2:
		return int64(b[0]) * 10000
	case 3, 4:
		return int64(bigEndian(b[:2])) * 100
	case 5, 6:
		return int64(bigEndian(b[:3]))
	}
	return 0
}

// datetimeEpoch is 1970-01-01 00:00:00 as DATETIME2's integer part.
const datetimeEpoch = (1970*13+1)<<22 | 1<<17

// datetime2Value reads a DATETIME(fsp) of MySQL 5.6.4 and later: 5 bytes,
// big-endian, offset by 2^39, then the fractional seconds. Values before
// 1970 (whose text go-mysql parses) and dates with a zero month or day are
// left to go-mysql.
func datetime2Value(b []byte, fsp int) (time.Time, int, error) {
	n := 5 + fracBytes(fsp)
	if len(b) < n {
		return time.Time{}, 0, errShortImage
	}
	v := int64(bigEndian(b[:5])) - 0x8000000000
	if v < datetimeEpoch {
		return time.Time{}, 0, errUseGoMySQL
	}
	ymd, hms := v>>17, v&(1<<17-1)
	ym := ymd >> 5
	y, mo, d := int(ym/13), int(ym%13), int(ymd&31)
	h, mi, s := int(hms>>12), int(hms>>6&63), int(hms&63)
	if mo == 0 || d == 0 {
		return time.Time{}, 0, errUseGoMySQL
	}
	// The time go-mysql makes with time.Date (which carries what is out of
	// range over, as this sum does), without its normalizing.
	sec := (unixDays(y, mo)+int64(d-1))*86400 + int64(h*3600+mi*60+s)
	return time.Unix(sec, fracMicros(b[5:], fsp)*1000).UTC(), n, nil
}

// unixDays is the number of days from 1970-01-01 to the first day of month
// mo (1-12) of year y (1970 or later) of the Gregorian calendar: years
// counted from March, so that February's length comes last.
func unixDays(y, mo int) int64 {
	if mo <= 2 {
		y--
	}
	era, yoe := y/400, y%400
	doy := (153*((mo+9)%12) + 2) / 5 // the month's first day, from March 1st
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097+doe) - 719468 // 719468: days from 0000-03-01 to 1970-01-01
}

// timestamp2Value reads a TIMESTAMP(fsp): 4 bytes of Unix seconds,
// big-endian, then the fractional seconds. The zero timestamp is left to
// go-mysql.
func timestamp2Value(b []byte, fsp int) (time.Time, int, error) {
	n := 4 + fracBytes(fsp)
	if len(b) < n {
		return time.Time{}, 0, errShortImage
	}
	sec := int64(bigEndian(b[:4]))
	if sec == 0 {
		return time.Time{}, 0, errUseGoMySQL
	}
	return time.Unix(sec, fracMicros(b[4:], fsp)*1000).UTC(), n, nil
}

// time2Text reads a TIME(fsp) of MySQL 5.6.4 and later as the text
// go-mysql gives: 3 bytes, big-endian, offset by 2^23 (hours in bits
// 12-21, minutes in 6-11, seconds in 0-5), then the fractional seconds,
// shown to fsp digits unless they are zero. A negative time (its
// fraction is stored inverted) is left to go-mysql.
func time2Text(out, b []byte, fsp int) ([]byte, int, error) {
	n := 3 + fracBytes(fsp)
	if len(b) < n {
		return nil, 0, errShortImage
	}
	v := int64(bigEndian(b[:3])) - 0x800000
	us := fracMicros(b[3:], fsp)
	if v < 0 || us >= 1e6 {
		return nil, 0, errUseGoMySQL
	}
	out = appendPadded(out, uint64(v>>12&0x3ff), 2)
	out = append(out, ':')
	out = appendPadded(out, uint64(v>>6&63), 2)
	out = append(out, ':')
	out = appendPadded(out, uint64(v&63), 2)
	if us != 0 {
		out = append(out, '.')
		at := len(out)
		out = appendPadded(out, uint64(us), 6)[:at+fsp]
	}
	return out, n, nil
}

// decimalDigitBytes is the size of a group of fewer than nine digits.
var decimalDigitBytes = [9]int{0, 1, 1, 2, 2, 3, 3, 4, 4}

func decimalSize(digits int) int { return digits/9*4 + decimalDigitBytes[digits%9] }

// decimalText reads a DECIMAL(prec, scale) in MySQL's binary format as
// the text a SELECT prints: the integer digits in groups of nine, each a
// big-endian integer (a leading group of fewer digits in fewer bytes),
// then the fraction's digits likewise (a trailing group of fewer); the
// sign bit is the first bit, set for positive values, and a negative
// value has every byte inverted.
func decimalText(out, b []byte, prec, scale int) ([]byte, int, error) {
	intg := prec - scale
	size := decimalSize(intg) + decimalSize(scale)
	if len(b) < size {
		return nil, 0, errShortImage
	}
	var mask byte
	if b[0]&0x80 == 0 {
		mask = 0xff
		out = append(out, '-')
	}
	pos := 0
	// group appends the next group of digits.
	group := func(digits int) {
		nbytes := 4
		if digits < 9 {
			nbytes = decimalDigitBytes[digits]
		}
		var u uint64
		for i := 0; i < nbytes; i++ {
			x := b[pos+i] ^ mask
			if pos+i == 0 {
				x ^= 0x80
			}
			u = u<<8 | uint64(x)
		}
		pos += nbytes
		out = appendPadded(out, u, digits)
	}
	start := len(out)
	if lead := intg % 9; lead > 0 {
		group(lead)
	}
	for i := 0; i < intg/9; i++ {
		group(9)
	}
	// No leading zeros, and "0" for a number below one.
	digits := out[start:]
	z := 0
	for z < len(digits)-1 && digits[z] == '0' {
		z++
	}
	if len(digits) == 0 {
		out = append(out, '0')
	} else if z > 0 {
		out = append(out[:start], digits[z:]...)
	}
	if scale > 0 {
		out = append(out, '.')
		for i := 0; i < scale/9; i++ {
			group(9)
		}
		if tail := scale % 9; tail > 0 {
			group(tail)
		}
	}
	return out, size, nil
}

// appendPadded appends u in decimal, with leading zeros to width digits.
func appendPadded(out []byte, u uint64, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for u >= 10 {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
	}
	i--
	tmp[i] = byte('0' + u)
	for n := len(tmp) - i; n < width; n++ {
		out = append(out, '0')
	}
	return append(out, tmp[i:]...)
}
