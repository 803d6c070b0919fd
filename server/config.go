package server

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/dolthub/vitess/go/mysql"

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

	// TLSCert and TLSKey are PEM files of the server's certificate (chain)
	// and private key; set, clients may (or must, see
	// RequireSecureTransport) use TLS.
	TLSCert, TLSKey string
	// RequireSecureTransport refuses clients that do not use TLS (3159).
	RequireSecureTransport bool

	// MaxSessions bounds the client sessions at once (1040 beyond); 0: no
	// limit.
	MaxSessions int
	// MaxStreamsPerUser bounds the streams (VSTREAM, vstream()) one user
	// runs at once, over all its sessions (1226 beyond); 0: no limit.
	MaxStreamsPerUser int
	// MaxStatementBytes bounds the size of a statement (1153 beyond); 0:
	// no limit.
	MaxStatementBytes int
	// HandshakeTimeout bounds how long a client may take to connect and
	// log in (0: DefaultHandshakeTimeout).
	HandshakeTimeout time.Duration

	// GCPercent, GCHeadroom and MemoryLimit (bytes) are the garbage
	// collector's settings (0: Go's default; no headroom; none). New
	// ignores them: TuneRuntime applies them to the process (see
	// runtime.go).
	GCPercent   int
	GCHeadroom  int64
	MemoryLimit int64

	// Engines adds engines, by URL scheme, to the built-in ones (or
	// replaces one): for programs that embed vstreamd, and for tests that
	// wrap an engine to inject faults.
	Engines map[string]catalog.Opener
}

// Defaults of the limits (cmd/vstreamd applies them; a zero Config has no
// limits).
const (
	DefaultMaxSessions       = 1000
	DefaultMaxStatementBytes = 64 << 20 // MySQL 8's max_allowed_packet
	DefaultHandshakeTimeout  = 10 * time.Second
)

// User is one [[users]] entry, with the password already read from
// password_env or password_file.
type User struct {
	Name string
	// Password in plain text, or PasswordHash as MySQL stores it: for
	// mysql_native_password "*" and 40 hex digits (SELECT PASSWORD('...')),
	// for caching_sha2_password "0x" and the hex of the authentication
	// string (SELECT CONCAT('0x', HEX(authentication_string)) FROM
	// mysql.user). At most one of the two.
	Password     string
	PasswordHash string
	// AuthPlugin is mysql_native_password (the default) or
	// caching_sha2_password (which needs TLS: see Config.TLSCert).
	AuthPlugin string
	// Keyspaces the user may see, query and stream; "*" means all.
	Keyspaces []string
	// Tables ("keyspace.table") the user may see, query and stream in
	// keyspaces it has not all of.
	Tables []string
}

func (u User) plugin() string {
	if u.AuthPlugin == "" {
		return PluginNative
	}
	return strings.ToLower(u.AuthPlugin)
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
		default:
			errs = append(errs, c.validateUser(u)...)
		}
		seen[u.Name] = true
	}
	if len(c.Keyspaces) == 0 {
		errs = append(errs, errors.New("no keyspaces configured"))
	}
	errs = append(errs, c.validateLimits()...)
	return errors.Join(errs...)
}

// validateLimits checks TLS and the limits.
func (c *Config) validateLimits() []error {
	var errs []error
	switch {
	case (c.TLSCert == "") != (c.TLSKey == ""):
		errs = append(errs, errors.New("tls_cert and tls_key go together: set both or neither"))
	case c.RequireSecureTransport && c.TLSCert == "":
		errs = append(errs, errors.New("require_secure_transport needs tls_cert and tls_key"))
	}
	for _, l := range []struct {
		name string
		v    int
	}{{"max_sessions", c.MaxSessions}, {"max_streams_per_user", c.MaxStreamsPerUser}, {"max_statement_bytes", c.MaxStatementBytes}} {
		if l.v < 0 {
			errs = append(errs, fmt.Errorf("%s %d: want 0 (no limit) or more", l.name, l.v))
		}
	}
	if c.HandshakeTimeout < 0 {
		errs = append(errs, fmt.Errorf("handshake_timeout %s: want a positive duration", c.HandshakeTimeout))
	}
	return errs
}

// validateUser checks a user's password and grants.
func (c *Config) validateUser(u User) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("user %q: "+format, append([]any{u.Name}, args...)...))
	}
	switch p := u.plugin(); {
	case p != PluginNative && p != PluginSHA2:
		bad("auth_plugin %q: want %s or %s", u.AuthPlugin, PluginNative, PluginSHA2)
	case u.Password != "" && u.PasswordHash != "":
		bad("give a password or a password_hash, not both")
	case u.PasswordHash != "" && p == PluginNative && !validNativeHash(u.PasswordHash):
		bad("password_hash must be a mysql_native_password hash (\"*\" and 40 hex digits, as SELECT PASSWORD('...') prints)")
	case u.PasswordHash != "" && p == PluginSHA2 && !validSHA2Hash(u.PasswordHash):
		bad("password_hash must be a caching_sha2_password authentication string in hex (\"0x\" and 140 hex digits, as SELECT CONCAT('0x', HEX(authentication_string)) FROM mysql.user prints)")
	}
	if len(u.Keyspaces) == 0 && len(u.Tables) == 0 {
		bad("keyspaces and tables are empty (list keyspaces, \"*\" for all, or tables as \"keyspace.table\")")
	}
	known := map[string]bool{}
	for _, k := range c.Keyspaces {
		known[strings.ToLower(k.Name)] = true
	}
	for _, ks := range u.Keyspaces {
		if ks != "*" && !known[strings.ToLower(ks)] {
			bad("keyspaces: %q is not a configured keyspace", ks)
		}
	}
	for _, qt := range u.Tables {
		ks, t, ok := strings.Cut(qt, ".")
		switch {
		case !ok || ks == "" || t == "" || strings.Contains(t, "."):
			bad("tables: %q is not \"keyspace.table\"", qt)
		case !known[strings.ToLower(ks)]:
			bad("tables: %q: %q is not a configured keyspace", qt, ks)
		}
	}
	return errs
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validSHA2Hash checks a caching_sha2_password authentication string in
// hex: "$A$", three hex digits of iterations, "$", a salt of 20 bytes and a
// digest of 43.
func validSHA2Hash(h string) bool {
	b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(h, "0x"), "0X"))
	if err != nil || len(b) != 7+20+43 || !bytes.HasPrefix(b, []byte("$A$")) || b[6] != '$' {
		return false
	}
	_, _, _, _, err = mysql.DeserializeCachingSha2PasswordAuthString(b)
	return err == nil
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
