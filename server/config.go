package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/vstreamd/vstreamd/catalog"
)

// DefaultListen is the address vstreamd listens on by default.
const DefaultListen = "127.0.0.1:15306"

// DefaultLimit is VSTREAM's row limit when a statement has none (Vitess's).
const DefaultLimit = 100

// Config is everything a Server needs. cmd/vstreamd fills it from
// config.toml, the environment and flags.
type Config struct {
	// Listen is the TCP address to serve on.
	Listen string
	// Users allowed to connect; none means no authentication (then Listen
	// must be a loopback address).
	Users []User
	// Keyspaces to serve.
	Keyspaces []catalog.KeyspaceConfig
	// DefaultLimit is VSTREAM's limit when a statement has no LIMIT; 0
	// means unlimited.
	DefaultLimit int64
	// ChunkRows is how many rows a copy-phase chunk reads from one snapshot
	// (0: vstream.DefaultChunkRows).
	ChunkRows int
	// RetainChanges is how many row changes an embedded keyspace's change
	// log keeps (0: the engine's default).
	RetainChanges int
	// Logger for the server (slog.Default if nil).
	Logger *slog.Logger
}

// User is one [[users]] entry, with the password already read from
// password_env or password_file.
type User struct {
	Name string
	// Password in plain text, or PasswordHash as MySQL stores it for
	// mysql_native_password ("*" + 40 hex digits). One of the two.
	Password     string
	PasswordHash string
	// Keyspaces the user may see and stream; "*" means all.
	Keyspaces []string
}

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		errs = append(errs, fmt.Errorf("listen %q: want host:port", c.Listen))
	} else if len(c.Users) == 0 && !isLoopback(host) {
		errs = append(errs, fmt.Errorf("listen %q: without [[users]] vstreamd accepts anyone, so it only listens on a loopback address (127.0.0.1, ::1, localhost); add users to listen on %s", c.Listen, host))
	}
	if c.DefaultLimit < 0 {
		errs = append(errs, fmt.Errorf("default_limit %d: want 0 (unlimited) or more", c.DefaultLimit))
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		switch {
		case u.Name == "":
			errs = append(errs, fmt.Errorf("users[%d]: name is empty", i))
		case seen[u.Name]:
			errs = append(errs, fmt.Errorf("users[%d]: user %q is listed twice", i, u.Name))
		case u.Password != "" && u.PasswordHash != "":
			errs = append(errs, fmt.Errorf("user %q: give a password or a password_hash, not both", u.Name))
		case u.PasswordHash != "" && !validNativeHash(u.PasswordHash):
			errs = append(errs, fmt.Errorf("user %q: password_hash must be a mysql_native_password hash (\"*\" and 40 hex digits, as SELECT PASSWORD('...') prints)", u.Name))
		case len(u.Keyspaces) == 0:
			errs = append(errs, fmt.Errorf("user %q: keyspaces is empty (list keyspaces, or \"*\" for all)", u.Name))
		}
		seen[u.Name] = true
	}
	if len(c.Keyspaces) == 0 {
		errs = append(errs, errors.New("no keyspaces configured"))
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validNativeHash(h string) bool {
	if len(h) != 41 || h[0] != '*' {
		return false
	}
	for _, r := range h[1:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}
