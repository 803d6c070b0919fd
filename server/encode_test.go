package server

import (
	"testing"
	"time"
)

func TestPlainDecimal(t *testing.T) {
	for _, tc := range []struct {
		s     string
		scale int
		want  bool
	}{
		{"12.50", 2, true},
		{"-12.50", 2, true},
		{"0.00", 2, true},
		{"-0.00", 2, true},
		{"7", 0, true},
		{"-7", 0, true},
		{"0", 0, true},
		{"12.5", 2, false},   // too few fractional digits
		{"12.500", 2, false}, // too many
		{"12", 2, false},
		{"12.", 0, false},
		{".5", 1, false},
		{"007.5", 1, false}, // leading zeros
		{"1e5", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"1.2.3", 1, false},
		{"+1", 0, false},
	} {
		if got := plainDecimal(tc.s, tc.scale); got != tc.want {
			t.Errorf("plainDecimal(%q, %d) = %v, want %v", tc.s, tc.scale, got, tc.want)
		}
	}
}

func TestNegativeZero(t *testing.T) {
	for s, want := range map[string]bool{
		"-0": true, "-0.00": true, "0.00": false, "-0.01": false, "-10": false, "": false,
	} {
		if got := negativeZero(s); got != want {
			t.Errorf("negativeZero(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestAppendTime(t *testing.T) {
	at := func(y, mo, d, h, mi, s, ns int) time.Time {
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	}
	for _, tc := range []struct {
		t         time.Time
		precision int
		want      string
	}{
		{at(2024, 2, 29, 0, 0, 0, 0), -1, "2024-02-29"},
		{at(999, 12, 31, 0, 0, 0, 0), -1, "0999-12-31"},
		{at(1, 1, 1, 0, 0, 0, 0), -1, "0001-01-01"},
		{at(2024, 2, 29, 23, 59, 59, 0), 0, "2024-02-29 23:59:59"},
		{at(2024, 2, 29, 23, 59, 59, 500000000), 1, "2024-02-29 23:59:59.5"},
		{at(2024, 2, 29, 1, 2, 3, 123456000), 6, "2024-02-29 01:02:03.123456"},
		{at(2024, 2, 29, 1, 2, 3, 120000000), 3, "2024-02-29 01:02:03.120"},
		{at(9999, 12, 31, 23, 59, 59, 999999000), 6, "9999-12-31 23:59:59.999999"},
	} {
		if b, ok := appendTime([]byte("x"), tc.t, tc.precision); !ok || string(b) != "x"+tc.want {
			t.Errorf("appendTime(%v, %d) = %q, %v; want %q", tc.t, tc.precision, b[1:], ok, tc.want)
		}
	}
	// Years a DATETIME cannot hold take the general way.
	for _, y := range []int{-1, 10000} {
		if b, ok := appendTime([]byte("x"), at(y, 1, 1, 0, 0, 0, 0), 0); ok || string(b) != "x" {
			t.Errorf("year %d: %q, %v; want nothing appended, false", y, b, ok)
		}
	}
}
