package server

import (
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/variables"
)

// go-mysql-server keeps its status variables in one process-wide registry
// that every engine (re)initializes in sqle.New and every new session
// copies, without a lock. One vstreamd per process never notices; several
// in one process (tests, embedders) race. initStatusVariables creates the
// registry once and puts a lock around it, so that sqle.New's reset (it
// finds the registry set and calls SetGlobal) and concurrent sessions are
// serialized.
func initStatusVariables() {
	variables.InitStatusVariables()
	sql.StatusVariables = &lockedStatusVariables{inner: sql.StatusVariables}
}

// lockedStatusVariables serializes every use of a status variable
// registry.
type lockedStatusVariables struct {
	mu    sync.Mutex
	inner sql.StatusVariableRegistry
}

var _ sql.StatusVariableRegistry = (*lockedStatusVariables)(nil)

func (l *lockedStatusVariables) NewSessionMap() map[string]sql.StatusVarValue {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inner.NewSessionMap()
}

func (l *lockedStatusVariables) NewGlobalMap() map[string]sql.StatusVarValue {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inner.NewGlobalMap()
}

func (l *lockedStatusVariables) GetGlobal(name string) (sql.StatusVariable, interface{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inner.GetGlobal(name)
}

func (l *lockedStatusVariables) SetGlobal(name string, val interface{}) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inner.SetGlobal(name, val)
}

func (l *lockedStatusVariables) IncrementGlobal(name string, val int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inner.IncrementGlobal(name, val)
}
