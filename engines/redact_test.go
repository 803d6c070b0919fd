package engines

import "testing"

func TestScrub(t *testing.T) {
	for _, tc := range []struct{ msg, password, want string }{
		{"login failed with s3cret", "s3cret", "login failed with [redacted]"},
		{"dial postgres://u:p%40ss%20w0rd%21@h/db", "p@ss w0rd!", "dial postgres://u:[redacted]@h/db"},
		{"query p%40ss+w0rd%21 and raw p@ss w0rd!", "p@ss w0rd!", "query [redacted] and raw [redacted]"},
		{"nothing to hide", "s3cret", "nothing to hide"},
		{"no password configured", "", "no password configured"},
	} {
		if got := Scrub(tc.msg, tc.password); got != tc.want {
			t.Errorf("Scrub(%q, %q) = %q, want %q", tc.msg, tc.password, got, tc.want)
		}
	}
}
