package pgoutput

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// Options are the engine settings that do not come from the URL.
type Options struct {
	Logger *slog.Logger
}

// Config is a parsed postgres:// source URL.
type Config struct {
	// ConnString is the URL for regular connections (vstreamd's own
	// parameters removed), understood by pgx.
	ConnString string
	// Redacted is the URL without the password, for messages.
	Redacted string
	User     string
	Database string
	// Schema whose tables are streamed (parameter schema, default public).
	Schema string
	// Slot is a permanent replication slot to stream from (parameter slot);
	// empty: temporary slots per session stream.
	Slot string
	// Publication to stream (parameter publication); empty: vstreamd
	// creates and maintains vstreamd_<schema>.
	Publication string
	// Reconnect is how long a stream on a permanent slot keeps trying to
	// re-establish a broken replication connection (parameter reconnect).
	Reconnect time.Duration
	// ResumeWindow is how long the positions a stream on a permanent slot
	// delivered stay resumable at least (parameter resume_window): the slot
	// is confirmed up to positions delivered that long ago, and up to where
	// a stream resumes (see confirm.go).
	ResumeWindow time.Duration
	// SnapshotReuse is how long a snapshot exported for a copy chunk
	// serves the chunks after it (parameter snapshot_reuse; 0: every chunk
	// takes its own). See export.go.
	SnapshotReuse time.Duration
	// Status is how often standby status updates are sent while streaming.
	Status time.Duration
}

// Defaults of Config.ResumeWindow and Config.SnapshotReuse when the URL
// does not set them.
const (
	DefaultResumeWindow  = 5 * time.Minute
	DefaultSnapshotReuse = time.Second
)

var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ParseURL reads postgres://user:pass@host:port/db?params. Parameters
// vstreamd does not know are passed to the driver (sslmode, connect_timeout
// …). Errors never show the password.
func ParseURL(u *url.URL) (Config, error) {
	cfg := Config{Schema: "public", Reconnect: 30 * time.Second, ResumeWindow: DefaultResumeWindow,
		SnapshotReuse: DefaultSnapshotReuse, Status: 10 * time.Second}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return cfg, fmt.Errorf("%w: scheme %q is not postgres", engines.ErrMisconfigured, u.Scheme)
	}
	if u.Hostname() == "" {
		return cfg, fmt.Errorf("%w: the postgres:// URL has no host (want postgres://user:pass@host:port/db)", engines.ErrMisconfigured)
	}
	if u.User != nil {
		cfg.User = u.User.Username()
	}
	if cfg.User == "" {
		return cfg, fmt.Errorf("%w: the postgres:// URL has no user (want postgres://user:pass@host:port/db)", engines.ErrMisconfigured)
	}
	cfg.Database = strings.Trim(u.Path, "/")
	if cfg.Database == "" || strings.Contains(cfg.Database, "/") {
		return cfg, fmt.Errorf("%w: the postgres:// URL must name one database: postgres://user:pass@host:port/db", engines.ErrMisconfigured)
	}
	q := u.Query()
	for _, p := range []struct {
		name string
		dst  *string
	}{{"schema", &cfg.Schema}, {"slot", &cfg.Slot}, {"publication", &cfg.Publication}} {
		if v, ok := q[p.name]; ok {
			*p.dst = v[0]
			q.Del(p.name)
			if !identRe.MatchString(*p.dst) {
				return cfg, fmt.Errorf("%w: URL parameter %s=%q: use a lowercase PostgreSQL identifier (letters, digits, _)", engines.ErrMisconfigured, p.name, *p.dst)
			}
		}
	}
	for _, p := range []struct {
		name, example string
		dst           *time.Duration
	}{{"reconnect", "30s", &cfg.Reconnect}, {"resume_window", "5m", &cfg.ResumeWindow},
		{"snapshot_reuse", "1s", &cfg.SnapshotReuse}} {
		if v := q.Get(p.name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return cfg, fmt.Errorf("%w: URL parameter %s=%q: want a duration such as %s", engines.ErrMisconfigured, p.name, v, p.example)
			}
			*p.dst = d
		}
		q.Del(p.name)
	}
	if !q.Has("sslmode") {
		q.Set("sslmode", "prefer")
	}
	c := *u
	c.RawQuery = q.Encode()
	cfg.ConnString = c.String()
	r := c
	r.User = url.User(cfg.User)
	r.RawQuery = ""
	cfg.Redacted = r.String()
	return cfg, nil
}

// connURL parses ConnString. Its error names the source without the
// password (url.Parse's would show the whole URL).
func (c Config) connURL() (*url.URL, error) {
	u, err := url.Parse(c.ConnString)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, engines.Errorf(engines.ErrMisconfigured, "the URL of PostgreSQL %s: %v", c.Redacted, err)
	}
	return u, nil
}

// publication is the publication streams read.
func (c Config) publication() string {
	if c.Publication != "" {
		return c.Publication
	}
	return "vstreamd_" + c.Schema
}
