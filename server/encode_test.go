package server

import "testing"

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
