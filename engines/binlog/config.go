package binlog

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

// Config is a parsed mysql:// source URL.
type Config struct {
	Host     string
	Port     int
	User     string
	Password string
	Database string
	// ServerIDBase is the first replica server_id vstreamd registers with;
	// each stream takes the next one (URL parameter server_id, default a
	// random number in 1_000_000_000..1_999_999_999).
	ServerIDBase uint32
	// TLS, from the URL parameter tls: "" or "false" (none), "true" (verify),
	// "skip-verify", "preferred" is treated as "skip-verify".
	TLS *tls.Config
	// ConnectTimeout for every connection (URL parameter timeout).
	ConnectTimeout time.Duration
	// Heartbeat is the period the server sends heartbeats while idle.
	Heartbeat time.Duration
	// Reconnect is how long a stream whose replication connection broke
	// keeps trying to re-establish it before it fails (URL parameter
	// reconnect, default DefaultReconnect; 0 fails at once).
	Reconnect time.Duration
}

// DefaultReconnect is Config.Reconnect when the URL does not set it.
const DefaultReconnect = 30 * time.Second

// ParseURL reads mysql://user:pass@host:port/db?params. Errors never show
// the password.
func ParseURL(u *url.URL) (Config, error) {
	cfg := Config{Port: 3306, ConnectTimeout: 10 * time.Second, Heartbeat: time.Second, Reconnect: DefaultReconnect}
	if u.Scheme != "mysql" {
		return cfg, fmt.Errorf("%w: scheme %q is not mysql", engines.ErrMisconfigured, u.Scheme)
	}
	cfg.Host = u.Hostname()
	if cfg.Host == "" {
		return cfg, fmt.Errorf("%w: the mysql:// URL has no host (want mysql://user:pass@host:port/db)", engines.ErrMisconfigured)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return cfg, fmt.Errorf("%w: port %q", engines.ErrMisconfigured, p)
		}
		cfg.Port = n
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	if cfg.User == "" {
		return cfg, fmt.Errorf("%w: the mysql:// URL has no user (want mysql://user:pass@host:port/db)", engines.ErrMisconfigured)
	}
	cfg.Database = strings.Trim(u.Path, "/")
	if cfg.Database == "" || strings.Contains(cfg.Database, "/") {
		return cfg, fmt.Errorf("%w: the mysql:// URL must name one database: mysql://user:pass@host:port/db", engines.ErrMisconfigured)
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "server_id", "tls", "timeout", "heartbeat", "reconnect":
		default:
			return cfg, fmt.Errorf("%w: unknown URL parameter %q (known: server_id, tls, timeout, heartbeat, reconnect)", engines.ErrMisconfigured, k)
		}
	}
	if s := q.Get("server_id"); s != "" {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || n == 0 {
			return cfg, fmt.Errorf("%w: server_id %q: want a number from 1 to 4294967295", engines.ErrMisconfigured, s)
		}
		cfg.ServerIDBase = uint32(n)
	}
	switch t := q.Get("tls"); t {
	case "", "false":
	case "true":
		cfg.TLS = &tls.Config{ServerName: cfg.Host}
	case "skip-verify", "preferred":
		cfg.TLS = &tls.Config{InsecureSkipVerify: true}
	default:
		return cfg, fmt.Errorf("%w: tls=%q: want true, false or skip-verify", engines.ErrMisconfigured, t)
	}
	for name, dst := range map[string]*time.Duration{"timeout": &cfg.ConnectTimeout, "heartbeat": &cfg.Heartbeat} {
		if s := q.Get(name); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return cfg, fmt.Errorf("%w: %s=%q: want a duration such as 5s", engines.ErrMisconfigured, name, s)
			}
			*dst = d
		}
	}
	if s := q.Get("reconnect"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return cfg, fmt.Errorf("%w: reconnect=%q: want a duration such as 30s (0: do not reconnect)", engines.ErrMisconfigured, s)
		}
		cfg.Reconnect = d
	}
	return cfg, nil
}

// Addr is host:port.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// String describes the source without its password.
func (c Config) String() string { return fmt.Sprintf("mysql://%s@%s/%s", c.User, c.Addr(), c.Database) }
