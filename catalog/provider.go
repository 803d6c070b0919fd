package catalog

import (
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
)

// provider presents the keyspaces to go-mysql-server as databases and
// serves vstreamd's table functions (GMS finds table functions only
// through the database provider).
type provider struct {
	c     *Catalog
	funcs map[string]sql.TableFunction
}

var (
	_ sql.DatabaseProvider      = (*provider)(nil)
	_ sql.TableFunctionProvider = (*provider)(nil)
)

// Provider returns the go-mysql-server database provider of the catalog,
// serving the given table functions.
func (c *Catalog) Provider(fns ...sql.TableFunction) sql.DatabaseProvider {
	p := &provider{c: c, funcs: make(map[string]sql.TableFunction)}
	for _, f := range fns {
		p.funcs[strings.ToLower(f.Name())] = f
	}
	return p
}

// Database implements sql.DatabaseProvider.
func (p *provider) Database(_ *sql.Context, name string) (sql.Database, error) {
	ks, ok := p.c.keyspaces[strings.ToLower(name)]
	if !ok {
		return nil, sql.ErrDatabaseNotFound.New(name)
	}
	return ks.DB, nil
}

// HasDatabase implements sql.DatabaseProvider.
func (p *provider) HasDatabase(_ *sql.Context, name string) bool {
	_, ok := p.c.keyspaces[strings.ToLower(name)]
	return ok
}

// AllDatabases implements sql.DatabaseProvider.
func (p *provider) AllDatabases(*sql.Context) []sql.Database {
	out := make([]sql.Database, 0, len(p.c.names))
	for _, ks := range p.c.Keyspaces() {
		out = append(out, ks.DB)
	}
	return out
}

// TableFunction implements sql.TableFunctionProvider.
func (p *provider) TableFunction(_ *sql.Context, name string) (sql.TableFunction, bool) {
	f, ok := p.funcs[strings.ToLower(name)]
	return f, ok
}

// WithTableFunctions implements sql.TableFunctionProvider.
func (p *provider) WithTableFunctions(fns ...sql.TableFunction) (sql.TableFunctionProvider, error) {
	return p.c.Provider(fns...).(*provider), nil
}
