package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/vstreamd/vstreamd/engines"
)

// ErrUnknownKeyspace: no keyspace of that name (MySQL 1049).
var ErrUnknownKeyspace = errors.New("unknown keyspace")

// ErrConfig: a keyspace is configured wrongly (start-up error).
var ErrConfig = errors.New("keyspace configuration")

// KeyspaceConfig is one [keyspaces.NAME] section, with the source URL
// already read from source, source_env or source_file.
type KeyspaceConfig struct {
	Name   string
	Source string
	// InitSQL is run through vstreamd against the keyspace at start-up
	// (embedded keyspaces: the schema to create).
	InitSQL string
}

// Opener opens the source of a keyspace. A source that is itself a
// go-mysql-server database (the embedded engine) is served as is; any other
// is presented through its engine's schema.
type Opener func(ctx context.Context, keyspace string, u *url.URL) (engines.Source, error)

// Keyspace is an open keyspace.
type Keyspace struct {
	Name    string
	Source  engines.Source
	DB      sql.Database
	InitSQL string
	// Native is true when the source is a go-mysql-server database whose
	// values already have the column types' Go representation.
	Native bool
}

// Catalog holds the open keyspaces.
type Catalog struct {
	keyspaces map[string]*Keyspace // lower-case name →
	names     []string
}

// Options tune a catalog.
type Options struct {
	// SQLError, if set, turns the errors of other servers' keyspaces
	// (reading their tables for SELECT, SHOW …) into the errors the SQL layer
	// shows, so that go-mysql-server passes them on with their MySQL code.
	SQLError func(error) error
	// Visible, if set, tells which tables of a keyspace the session of ctx
	// sees: the others are left out of its table lists (SHOW TABLES,
	// information_schema) and are not found. vstreamd hides the tables a
	// user has no grant on.
	Visible func(ctx *sql.Context, keyspace, table string) bool
}

// TableHider is a keyspace database that hides tables from sessions as
// told (the embedded engine's; catalog does it for the others).
type TableHider interface {
	HideTables(visible func(ctx *sql.Context, table string) bool)
}

// Open opens every keyspace with the opener registered for its URL scheme.
// On error the keyspaces opened so far are closed.
func Open(ctx context.Context, cfgs []KeyspaceConfig, openers map[string]Opener, opts Options) (*Catalog, error) {
	c := &Catalog{keyspaces: make(map[string]*Keyspace)}
	for _, kc := range cfgs {
		ks, err := openKeyspace(ctx, kc, openers, opts)
		if err != nil {
			c.Close()
			return nil, err
		}
		k := strings.ToLower(kc.Name)
		if _, dup := c.keyspaces[k]; dup {
			c.Close()
			return nil, engines.Errorf(ErrConfig, "keyspace %q is configured twice", kc.Name)
		}
		c.keyspaces[k] = ks
		c.names = append(c.names, kc.Name)
	}
	sort.Strings(c.names)
	return c, nil
}

func openKeyspace(ctx context.Context, kc KeyspaceConfig, openers map[string]Opener, opts Options) (*Keyspace, error) {
	if kc.Name == "" || strings.ContainsAny(kc.Name, ".:`/") {
		return nil, engines.Errorf(ErrConfig, "keyspace name %q: use letters, digits and _", kc.Name)
	}
	u, err := url.Parse(kc.Source)
	if err != nil || u.Scheme == "" {
		// Never echo the URL: it may hold a password.
		return nil, engines.Errorf(ErrConfig, "keyspace %s: the source is not a URL (want embedded:, mysql://, postgres:// or sqlserver://)", kc.Name)
	}
	scheme := strings.ToLower(u.Scheme)
	open, ok := openers[scheme]
	if !ok {
		known := make([]string, 0, len(openers))
		for s := range openers {
			known = append(known, s+":")
		}
		sort.Strings(known)
		return nil, engines.Errorf(ErrConfig, "keyspace %s: no engine for scheme %q (this build has %s)", kc.Name, scheme, strings.Join(known, ", "))
	}
	src, err := open(ctx, kc.Name, u)
	if err != nil {
		return nil, fmt.Errorf("keyspace %s: %w", kc.Name, err)
	}
	ks := &Keyspace{Name: kc.Name, Source: src, InitSQL: kc.InitSQL}
	var visible func(*sql.Context, string) bool
	if opts.Visible != nil {
		visible = func(ctx *sql.Context, table string) bool { return opts.Visible(ctx, kc.Name, table) }
	}
	if db, ok := src.(sql.Database); ok {
		ks.DB, ks.Native = db, true
		if h, ok := db.(TableHider); ok && visible != nil {
			h.HideTables(visible)
		} else if visible != nil {
			src.Close()
			return nil, engines.Errorf(ErrConfig, "keyspace %s: its engine cannot hide tables from users", kc.Name)
		}
	} else {
		ks.DB = &sourceDB{name: kc.Name, src: src, sqlError: opts.SQLError, visible: visible}
	}
	return ks, nil
}

// Keyspace returns an open keyspace by name (case-insensitive).
func (c *Catalog) Keyspace(name string) (*Keyspace, error) {
	ks, ok := c.keyspaces[strings.ToLower(name)]
	if !ok {
		return nil, engines.Errorf(ErrUnknownKeyspace, "Unknown database '%s'", name)
	}
	return ks, nil
}

// Keyspaces returns every keyspace, by name.
func (c *Catalog) Keyspaces() []*Keyspace {
	out := make([]*Keyspace, 0, len(c.names))
	for _, n := range c.names {
		out = append(out, c.keyspaces[strings.ToLower(n)])
	}
	return out
}

// Close closes every source.
func (c *Catalog) Close() error {
	var errs []error
	for _, ks := range c.keyspaces {
		errs = append(errs, ks.Source.Close())
	}
	return errors.Join(errs...)
}
