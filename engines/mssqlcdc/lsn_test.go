package mssqlcdc

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

func TestPositions(t *testing.T) {
	s := &Source{}
	for _, tc := range []struct{ in, want string }{
		{"0000002A:00000F58:0003", "0000002A:00000F58:0003"},
		{"0000002a:00000f58:0003", "0000002A:00000F58:0003"}, // some versions print lower case
		{"0x0000002A00000F580003", "0000002A:00000F58:0003"},
		{" 0000002A:00000F58:0003 ", "0000002A:00000F58:0003"},
	} {
		got, err := s.ParsePosition(tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("ParsePosition(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "junk", "00000000:00000000:0000", "2A:F58:3", "0000002A:00000F58", "0000002G:00000F58:0003", "MySQL56/x:1-2"} {
		if _, err := s.ParsePosition(bad); !errors.Is(err, engines.ErrBadPosition) {
			t.Errorf("ParsePosition(%q): %v, want ErrBadPosition", bad, err)
		}
	}
	a, b := engines.Position("0000002A:00000F58:0003"), engines.Position("0000002B:00000001:0001")
	if c, err := s.ComparePositions(a, b); err != nil || c != -1 {
		t.Fatalf("Compare(%s, %s) = %d, %v", a, b, c, err)
	}
	if c, err := s.ComparePositions(b, b); err != nil || c != 0 {
		t.Fatalf("Compare(%s, %s) = %d, %v", b, b, c, err)
	}
	if _, err := s.ComparePositions(a, "x"); !errors.Is(err, engines.ErrBadPosition) {
		t.Fatalf("Compare with junk: %v", err)
	}
}

func TestLSNNextPrev(t *testing.T) {
	l, _ := parseLSN("0000002A:FFFFFFFF:FFFF")
	if got := l.next().String(); got != "0000002B:00000000:0000" {
		t.Fatalf("next: %s", got)
	}
	if got := l.next().prev(); got != l {
		t.Fatalf("prev(next(l)) = %s", got)
	}
	if got := l.prev().String(); got != "0000002A:FFFFFFFF:FFFE" {
		t.Fatalf("prev: %s", got)
	}
}

func TestParseURL(t *testing.T) {
	u, _ := url.Parse("sqlserver://repl:s3cret@db.example:1433?database=shop&schema=sales&capture_instance=sales_orders_v2,%20sales_x&poll=1s&agent_timeout=5m&reconnect=0&encrypt=true")
	cfg, err := ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database != "shop" || cfg.Schema != "sales" || cfg.User != "repl" || cfg.PollMax != time.Second || cfg.AgentTimeout != 5*time.Minute || cfg.Reconnect != 0 ||
		strings.Join(cfg.CaptureInstances, "|") != "sales_orders_v2|sales_x" {
		t.Fatalf("%+v", cfg)
	}
	if strings.Contains(cfg.Redacted, "s3cret") || cfg.Redacted != "sqlserver://repl@db.example:1433?database=shop" {
		t.Fatalf("redacted: %s", cfg.Redacted)
	}
	for _, p := range []string{"schema=", "capture_instance", "poll", "agent_timeout", "reconnect"} {
		if strings.Contains(cfg.ConnString, p) {
			t.Fatalf("the driver's URL keeps vstreamd's parameter %s: %s", p, cfg.ConnString)
		}
	}
	if !strings.Contains(cfg.ConnString, "encrypt=true") || !strings.Contains(cfg.ConnString, "database=shop") || !strings.Contains(cfg.ConnString, "s3cret") {
		t.Fatalf("the driver's URL: %s", cfg.ConnString)
	}
	defaults, err := ParseURL(&url.URL{Scheme: "sqlserver", User: url.User("u"), Host: "h", RawQuery: "database=d"})
	if err != nil || defaults.Schema != "dbo" || defaults.PollMax != DefaultPollMax || defaults.AgentTimeout != DefaultAgentTimeout || defaults.Reconnect != DefaultReconnect {
		t.Fatalf("defaults: %+v, %v", defaults, err)
	}
	for _, bad := range []string{
		"sqlserver://u:p@h:1433",                       // no database
		"sqlserver://h:1433?database=d",                // no user
		"sqlserver://u:p@:1433?database=d",             // no host
		"sqlserver://u:p@h?database=d&poll=soon",       // bad duration
		"sqlserver://u:p@h?database=d&schema=",         // empty schema
		"mssql://u:p@h?database=d",                     // another scheme
		"sqlserver://u:p@h?database=d&agent_timeout=0", // no wait at all
	} {
		u, _ := url.Parse(bad)
		if _, err := ParseURL(u); !errors.Is(err, engines.ErrMisconfigured) || strings.Contains(err.Error(), ":p@") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
