package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/vstreamd/vstreamd/engines"
)

// The engines never put a source URL or password in an error or a log
// record (each says so where it builds its messages). The redactor is the
// net under that rule: everything vstreamd logs and every error and warning
// a client gets passes through it, and it removes the configured secrets
// (source URLs, their passwords, users' passwords and hashes) and the
// password of any connection string that has one (scheme://user:password@host,
// user:password@tcp(host), password=…), which a bug or a library might
// print.

// redacted replaces a secret.
const redacted = engines.Redacted

// minSecret is the length below which a password is not looked for in
// texts (it would mangle ordinary words); such passwords are weak anyway.
const minSecret = 6

// Passwords in the forms a library may print a connection string in:
// a URL with user information (scheme://user:password@host), a
// go-sql-driver DSN (user:password@tcp(host)) and key=value pairs
// (password=… as pgx and go-mssqldb read them). Group 1 is what stays
// before the password, group 2 the password.
var (
	urlPassword = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^/@\s:'"]*:)([^@\s/'"]+)@`)
	dsnPassword = regexp.MustCompile(`((?:^|[\s'"(\[])[^\s:/@'"()\[\]]+:)([^@\s'"]+)@(?:tcp|unix)\(`)
	kvPassword  = regexp.MustCompile(`(?i)(\b(?:password|pwd)\s*=\s*)([^\s;&'"]+)`)
)

// placeholders are the passwords of the example URLs in vstreamd's own
// messages ("want mysql://user:pass@host:port/db"), which stay readable.
var placeholders = map[string]bool{"pass": true, "password": true}

type redactor struct {
	secrets []string // longest first
}

// newRedactor collects the secrets of a configuration.
//
// A password that is also part of what vstreamd shows (the scheme, user,
// host or database of a source URL, a keyspace or user name: a test
// server's "postgres") is not looked for on its own, which would mangle
// every message naming the source; the URL forms still are.
func newRedactor(cfg Config) *redactor {
	var shown []string
	for _, ks := range cfg.Keyspaces {
		shown = append(shown, ks.Name)
		if u, err := url.Parse(ks.Source); err == nil {
			shown = append(shown, u.Redacted())
		}
	}
	for _, u := range cfg.Users {
		shown = append(shown, u.Name)
	}
	isShown := func(s string) bool {
		for _, t := range shown {
			if strings.Contains(t, s) {
				return true
			}
		}
		return false
	}
	seen := map[string]bool{}
	r := &redactor{}
	add := func(s string) {
		if len(s) >= minSecret && !seen[s] && !isShown(s) {
			seen[s] = true
			r.secrets = append(r.secrets, s)
		}
	}
	for _, ks := range cfg.Keyspaces {
		add(ks.Source)
		if u, err := url.Parse(ks.Source); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok {
				add(pw)
				add(url.QueryEscape(pw))
				add(url.PathEscape(pw))
				add(strings.TrimPrefix(u.User.String(), u.User.Username()+":"))
			}
		}
	}
	for _, u := range cfg.Users {
		add(u.Password)
		add(u.PasswordHash)
		if u.Password != "" {
			// Whoever has the hash can log in with mysql_native_password.
			add(nativePasswordHash(u.Password))
		}
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	return r
}

// text removes the secrets from s.
func (r *redactor) text(s string) string {
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	for _, re := range []*regexp.Regexp{urlPassword, dsnPassword, kvPassword} {
		s = replacePassword(re, s)
	}
	return s
}

// replacePassword replaces group 2 of re's matches (the password) unless
// it is a placeholder; the match's text after the password is kept.
func replacePassword(re *regexp.Regexp, s string) string {
	return re.ReplaceAllStringFunc(s, func(m string) string {
		g := re.FindStringSubmatch(m)
		if placeholders[strings.ToLower(g[2])] {
			return m
		}
		return g[1] + redacted + m[len(g[1])+len(g[2]):]
	})
}

// error returns err with its message redacted: a MySQL error keeps its code
// and state.
func (r *redactor) error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := r.text(msg)
	if clean == msg {
		return err
	}
	var se *mysql.SQLError
	if errors.As(err, &se) && se.Error() == msg {
		return mysql.NewSQLError(se.Number(), se.SQLState(), "%s", r.text(se.Message))
	}
	return &redactedError{msg: clean, err: err}
}

// redactedError is an error whose text is redacted; errors.Is and As still
// see the cause.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// handler redacts the records of a slog handler: message and attributes.
func (r *redactor) handler(h slog.Handler) slog.Handler { return &redactingHandler{h: h, r: r} }

type redactingHandler struct {
	h slog.Handler
	r *redactor
}

func (h *redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.h.Enabled(ctx, l)
}

func (h *redactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.text(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.r.attr(a))
		return true
	})
	return h.h.Handle(ctx, out)
}

func (h *redactingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = h.r.attr(a)
	}
	return &redactingHandler{h: h.h.WithAttrs(clean), r: h.r}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{h: h.h.WithGroup(name), r: h.r}
}

// attr redacts an attribute's value: strings, errors and anything else
// printed as text; groups member by member.
func (r *redactor) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.text(v.String()))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, m := range g {
			clean[i] = r.attr(m)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		return slog.String(a.Key, r.text(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}
