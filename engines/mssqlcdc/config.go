package mssqlcdc

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// Options are the engine settings that do not come from the URL.
type Options struct {
	Logger *slog.Logger
}

// Config is a parsed sqlserver:// source URL.
type Config struct {
	// ConnString is the URL for go-mssqldb: vstreamd's own parameters
	// removed, database and the driver's parameters (encrypt,
	// TrustServerCertificate, connection timeout …) kept.
	ConnString string
	// Redacted is the URL without password and parameters, for messages.
	Redacted string
	User     string
	Database string
	// Schema whose CDC-enabled tables are streamed (parameter schema,
	// default dbo).
	Schema string
	// CaptureInstances pins the capture instance of their tables
	// (parameter capture_instance, comma-separated); other tables use the
	// newest capture instance whose columns the table still has.
	CaptureInstances []string
	// PollMax is the longest wait between two polls of the change tables
	// when nothing changes (parameter poll, default DefaultPollMax); a busy
	// stream polls again at once.
	PollMax time.Duration
	// AgentTimeout is how long a stream waits for the capture job to make
	// progress while the log moves on before it fails saying SQL Server
	// Agent is not running (parameter agent_timeout, default
	// DefaultAgentTimeout).
	AgentTimeout time.Duration
	// Reconnect is how long a stream keeps polling through a lost
	// connection before it fails (parameter reconnect, default
	// DefaultReconnect; 0 fails at once).
	Reconnect time.Duration
}

// Defaults of the URL parameters.
const (
	DefaultPollMax      = 500 * time.Millisecond
	DefaultAgentTimeout = time.Minute
	DefaultReconnect    = 30 * time.Second
)

// ParseURL reads sqlserver://user:pass@host:port?database=db[&params].
// Errors never show the password.
func ParseURL(u *url.URL) (Config, error) {
	cfg := Config{Schema: "dbo", PollMax: DefaultPollMax, AgentTimeout: DefaultAgentTimeout, Reconnect: DefaultReconnect}
	const want = "want sqlserver://user:pass@host:port?database=db"
	if u.Scheme != "sqlserver" {
		return cfg, fmt.Errorf("%w: scheme %q is not sqlserver", engines.ErrMisconfigured, u.Scheme)
	}
	if u.Hostname() == "" {
		return cfg, fmt.Errorf("%w: the sqlserver:// URL has no host (%s)", engines.ErrMisconfigured, want)
	}
	if u.User != nil {
		cfg.User = u.User.Username()
	}
	if cfg.User == "" {
		return cfg, fmt.Errorf("%w: the sqlserver:// URL has no user (%s)", engines.ErrMisconfigured, want)
	}
	q := u.Query()
	cfg.Database = q.Get("database")
	if cfg.Database == "" {
		return cfg, fmt.Errorf("%w: the sqlserver:// URL names no database (%s)", engines.ErrMisconfigured, want)
	}
	if v, ok := q["schema"]; ok {
		cfg.Schema = v[0]
		q.Del("schema")
		if cfg.Schema == "" {
			return cfg, fmt.Errorf("%w: URL parameter schema is empty", engines.ErrMisconfigured)
		}
	}
	if v := q.Get("capture_instance"); v != "" {
		for _, ci := range strings.Split(v, ",") {
			if ci = strings.TrimSpace(ci); ci != "" {
				cfg.CaptureInstances = append(cfg.CaptureInstances, ci)
			}
		}
	}
	q.Del("capture_instance")
	for _, p := range []struct {
		name string
		dst  *time.Duration
	}{{"poll", &cfg.PollMax}, {"agent_timeout", &cfg.AgentTimeout}, {"reconnect", &cfg.Reconnect}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || (d == 0 && p.name != "reconnect") {
			return cfg, fmt.Errorf("%w: URL parameter %s=%q: want a duration such as 30s", engines.ErrMisconfigured, p.name, v)
		}
		*p.dst = d
		q.Del(p.name)
	}
	c := *u
	c.RawQuery = q.Encode()
	cfg.ConnString = c.String()
	r := *u
	r.User = url.User(cfg.User)
	r.RawQuery = "database=" + url.QueryEscape(cfg.Database)
	cfg.Redacted = r.String()
	return cfg, nil
}

// pinned reports whether ci is a capture instance named in the URL.
func (c Config) pinned(ci string) bool {
	for _, p := range c.CaptureInstances {
		if strings.EqualFold(p, ci) {
			return true
		}
	}
	return false
}
