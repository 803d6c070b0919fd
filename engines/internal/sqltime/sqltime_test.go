package sqltime

import (
	"testing"
	"time"
)

// TestParse: the fast parser of date and time texts agrees with
// time.ParseInLocation wherever it answers, and answers for MySQL's forms.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{"2024-02-29", true},
		{"0000-01-01", true},
		{"0999-12-31 23:59:59", true},
		{"2024-02-29 12:34:56.5", true},
		{"2024-02-29 12:34:56.123456", true},
		{"9999-12-31 23:59:59.999999", true},
		{"2023-02-29", false}, // not a day
		{"2024-04-31 00:00:00", false},
		{"2024-00-15", false}, // zero month: the caller keeps the text
		{"2024-05-00", false},
		{"2024-13-01", false},
		{"2024-01-01 24:00:00", false},
		{"2024-01-01 23:60:00", false},
		{"2024-01-01T10:00:00", false},
		{"2024-01-01 10:00:00.", false},
		{"2024-01-01 10:00:00.1234567", false},
		{"2024-1-01", false},
		{"-024-01-01", false},
		{"", false},
	} {
		got, ok := Parse(tc.s)
		if ok != tc.ok {
			t.Errorf("Parse(%q) ok = %v, want %v", tc.s, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		layout := "2006-01-02 15:04:05.999999999"
		if len(tc.s) == 10 {
			layout = "2006-01-02"
		}
		want, err := time.ParseInLocation(layout, tc.s, time.UTC)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("Parse(%q) = %v, time.ParseInLocation = %v, %v", tc.s, got, want, err)
		}
	}
}
