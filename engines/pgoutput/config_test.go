package pgoutput

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// TestParseURLDurations: the duration parameters, their defaults, and the
// error a bad one gets (naming it, without the password).
func TestParseURLDurations(t *testing.T) {
	for _, tc := range []struct {
		query                    string
		reconnect, window, reuse time.Duration
		err                      string
	}{
		{"", 30 * time.Second, DefaultResumeWindow, DefaultSnapshotReuse, ""},
		{"?snapshot_reuse=0", 30 * time.Second, DefaultResumeWindow, 0, ""},
		{"?snapshot_reuse=250ms&resume_window=0&reconnect=1m", time.Minute, 0, 250 * time.Millisecond, ""},
		{"?snapshot_reuse=soon", 0, 0, 0, `URL parameter snapshot_reuse="soon": want a duration such as 1s`},
		{"?snapshot_reuse=-1s", 0, 0, 0, `URL parameter snapshot_reuse="-1s"`},
		{"?resume_window=5", 0, 0, 0, `URL parameter resume_window="5": want a duration such as 5m`},
	} {
		u, err := url.Parse("postgres://u:sekrit@127.0.0.1:5432/db" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := ParseURL(u)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, engines.ErrMisconfigured) || strings.Contains(err.Error(), "sekrit") {
				t.Errorf("%s: error %v, want ErrMisconfigured containing %q", tc.query, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		if cfg.Reconnect != tc.reconnect || cfg.ResumeWindow != tc.window || cfg.SnapshotReuse != tc.reuse {
			t.Errorf("%s: reconnect %v, resume_window %v, snapshot_reuse %v; want %v, %v, %v", tc.query,
				cfg.Reconnect, cfg.ResumeWindow, cfg.SnapshotReuse, tc.reconnect, tc.window, tc.reuse)
		}
		if strings.Contains(cfg.ConnString, "snapshot_reuse") || strings.Contains(cfg.ConnString, "resume_window") {
			t.Errorf("%s: vstreamd's parameters reach the driver: %s", tc.query, cfg.ConnString)
		}
	}
}
