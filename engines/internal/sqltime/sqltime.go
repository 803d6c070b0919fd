// Package sqltime parses the date and time texts SQL servers print, fast:
// the engines read millions of them while copying a table.
package sqltime

import "time"

// Parse reads "YYYY-MM-DD[ HH:MM:SS[.f…]]" with a valid month and day (the
// texts MySQL prints for DATE, DATETIME and TIMESTAMP, and PostgreSQL with
// DateStyle ISO for date and timestamp) as a UTC time; ok is false for any
// other text, which the caller parses the slow way or refuses.
func Parse(s string) (t time.Time, ok bool) {
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			c := s[i] - '0'
			if c > 9 {
				return 0, false
			}
			n = n*10 + int(c)
		}
		return n, true
	}
	if len(s) != 10 && (len(s) < 19 || len(s) == 20 || len(s) > 26) {
		return t, false
	}
	if s[4] != '-' || s[7] != '-' {
		return t, false
	}
	y, ok1 := num(s[:4])
	mo, ok2 := num(s[5:7])
	d, ok3 := num(s[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return t, false
	}
	var h, mi, sec, ns int
	if len(s) > 10 {
		if s[10] != ' ' || s[13] != ':' || s[16] != ':' {
			return t, false
		}
		var ok4, ok5, ok6 bool
		h, ok4 = num(s[11:13])
		mi, ok5 = num(s[14:16])
		sec, ok6 = num(s[17:19])
		if !ok4 || !ok5 || !ok6 || h > 23 || mi > 59 || sec > 59 {
			return t, false
		}
		if len(s) > 19 {
			if s[19] != '.' {
				return t, false
			}
			frac, ok := num(s[20:])
			if !ok {
				return t, false
			}
			for i := len(s) - 20; i < 9; i++ {
				frac *= 10
			}
			ns = frac
		}
	}
	t = time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC)
	if t.Day() != d {
		return time.Time{}, false // February 30th and the like
	}
	return t, true
}
