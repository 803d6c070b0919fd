package embedded

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
)

// ErrLockWaitTimeout: a writer waited too long for the keyspace's write
// lock (MySQL 1205).
var ErrLockWaitTimeout = errors.New("Lock wait timeout exceeded; try restarting transaction")

// LockWaitTimeout is how long a writer waits for another writer's
// transaction to end (MySQL's innodb_lock_wait_timeout default).
var LockWaitTimeout = 50 * time.Second

// Options configure an embedded database.
type Options struct {
	// RetainChanges is how many row changes the change log keeps (default
	// DefaultRetainChanges); a stream that falls further behind ends with
	// engines.ErrPositionUnavailable.
	RetainChanges int
	// Now is the clock for commit times (tests); time.Now if nil.
	Now func() time.Time
	// SQLError, if set, turns the errors this engine makes itself (lock
	// wait timeout, unsupported DDL) into the errors the SQL layer shows, so
	// that go-mysql-server passes them on with their MySQL code instead of
	// flattening them.
	SQLError func(error) error
}

// DB is one embedded keyspace.
type DB struct {
	name     string
	now      func() time.Time
	sqlError func(error) error

	writeLock chan struct{} // capacity 1: held by the writing transaction

	// visible, if set, tells which tables a session sees (HideTables).
	visible func(ctx *sql.Context, table string) bool

	mu      sync.Mutex
	tables  map[string]*tableState // lower-case name →
	version uint64                 // bumped by every commit and DDL
	log     *changeLog
}

// New returns an empty embedded database named name.
func New(name string, opts Options) *DB {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &DB{
		name:      name,
		now:       now,
		sqlError:  opts.SQLError,
		writeLock: make(chan struct{}, 1),
		tables:    make(map[string]*tableState),
		log:       newChangeLog(opts.RetainChanges),
	}
}

var (
	_ sql.Database         = (*DB)(nil)
	_ sql.TableCreator     = (*DB)(nil)
	_ sql.TableDropper     = (*DB)(nil)
	_ sql.TableRenamer     = (*DB)(nil)
	_ sql.ViewDatabase     = (*DB)(nil)
	_ sql.CollatedDatabase = (*DB)(nil)
)

// Name implements sql.Nameable.
func (db *DB) Name() string { return db.name }

// HideTables makes the tables visible does not show to a session absent
// from its table lists and lookups (catalog.TableHider). Set it before the
// database is served.
func (db *DB) HideTables(visible func(ctx *sql.Context, table string) bool) { db.visible = visible }

// GetTableInsensitive implements sql.Database.
func (db *DB) GetTableInsensitive(ctx *sql.Context, name string) (sql.Table, bool, error) {
	if db.visible != nil && !db.visible(ctx, name) {
		return nil, false, nil
	}
	db.mu.Lock()
	st, ok := db.tables[strings.ToLower(name)]
	db.mu.Unlock()
	if !ok {
		return nil, false, nil
	}
	return &table{db: db, def: st.def}, true, nil
}

// GetTableNames implements sql.Database.
func (db *DB) GetTableNames(ctx *sql.Context) ([]string, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	names := make([]string, 0, len(db.tables))
	for _, st := range db.tables {
		if db.visible == nil || ctx == nil || db.visible(ctx, st.def.name) {
			names = append(names, st.def.name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// GetCollation implements sql.CollatedDatabase.
func (db *DB) GetCollation(ctx *sql.Context) sql.CollationID { return sql.Collation_Default }

// SetCollation implements sql.CollatedDatabase.
func (db *DB) SetCollation(ctx *sql.Context, collation sql.CollationID) error {
	return fmt.Errorf("embedded keyspace %s: changing the default collation is not supported", db.name)
}

// CreateTable implements sql.TableCreator.
func (db *DB) CreateTable(ctx *sql.Context, name string, schema sql.PrimaryKeySchema, collation sql.CollationID, comment string) error {
	return db.ddl(ctx, func() error {
		k := strings.ToLower(name)
		if _, ok := db.tables[k]; ok {
			return sql.ErrTableAlreadyExists.New(name)
		}
		def := newTableDef(db.name, name, schema, collation, comment)
		db.tables[k] = &tableState{def: def, tree: def.newTree(), autoInc: 1, nextSeq: 1}
		return nil
	}, name)
}

// DropTable implements sql.TableDropper.
func (db *DB) DropTable(ctx *sql.Context, name string) error {
	return db.ddl(ctx, func() error {
		k := strings.ToLower(name)
		if _, ok := db.tables[k]; !ok {
			return sql.ErrTableNotFound.New(name)
		}
		delete(db.tables, k)
		return nil
	}, name)
}

// RenameTable implements sql.TableRenamer.
func (db *DB) RenameTable(ctx *sql.Context, oldName, newName string) error {
	return db.ddl(ctx, func() error {
		ok, nk := strings.ToLower(oldName), strings.ToLower(newName)
		st, found := db.tables[ok]
		if !found {
			return sql.ErrTableNotFound.New(oldName)
		}
		if _, exists := db.tables[nk]; exists && nk != ok {
			return sql.ErrTableAlreadyExists.New(newName)
		}
		def := *st.def
		def.name = newName
		for i, c := range def.schema.Schema {
			cc := *c
			cc.Source = newName
			def.schema.Schema[i] = &cc
		}
		delete(db.tables, ok)
		db.tables[nk] = &tableState{def: &def, tree: st.tree, autoInc: st.autoInc, nextSeq: st.nextSeq}
		return nil
	}, oldName, newName)
}

// CreateView implements sql.ViewDatabase.
func (db *DB) CreateView(ctx *sql.Context, name string, selectStatement, createViewStmt string) error {
	return fmt.Errorf("embedded keyspace %s: views are not supported", db.name)
}

// DropView implements sql.ViewDatabase.
func (db *DB) DropView(ctx *sql.Context, name string) error {
	return sql.ErrViewDoesNotExist.New(db.name, name)
}

// GetViewDefinition implements sql.ViewDatabase.
func (db *DB) GetViewDefinition(ctx *sql.Context, viewName string) (sql.ViewDefinition, bool, error) {
	return sql.ViewDefinition{}, false, nil
}

// AllViews implements sql.ViewDatabase.
func (db *DB) AllViews(ctx *sql.Context) ([]sql.ViewDefinition, error) { return nil, nil }

// ddl runs a schema change: it commits the session's pending writes to this
// keyspace first (DDL commits implicitly, as in MySQL), takes the write
// lock, applies change under the DB mutex and logs it as a schema change of
// tables.
func (db *DB) ddl(ctx *sql.Context, apply func() error, tables ...string) error {
	if tx := txnOf(ctx); tx != nil {
		if err := tx.flush(db); err != nil {
			return err
		}
	}
	if err := db.lock(ctx); err != nil {
		return err
	}
	defer db.unlock()
	db.mu.Lock()
	defer db.mu.Unlock()
	before := make(map[string]string, len(tables))
	for _, t := range tables {
		if st, ok := db.tables[strings.ToLower(t)]; ok {
			before[strings.ToLower(t)] = st.def.name
		}
	}
	if err := apply(); err != nil {
		return err
	}
	var changed []string
	for _, t := range tables {
		if name, ok := before[strings.ToLower(t)]; ok {
			changed = append(changed, name)
		} else if st, ok := db.tables[strings.ToLower(t)]; ok {
			changed = append(changed, st.def.name)
		} else {
			changed = append(changed, t)
		}
	}
	db.version++
	db.log.append(&entry{time: db.now(), ddl: changed})
	return nil
}

// lock takes the keyspace's write lock, waiting at most LockWaitTimeout.
func (db *DB) lock(ctx context.Context) error {
	select {
	case db.writeLock <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(LockWaitTimeout)
	defer t.Stop()
	select {
	case db.writeLock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return db.fail(fmt.Errorf("embedded keyspace %s: %w", db.name, ErrLockWaitTimeout))
	}
}

func (db *DB) unlock() { <-db.writeLock }

// state returns the committed state of a table (nil if it does not exist).
// Callers hold db.mu.
func (db *DB) state(name string) *tableState {
	return db.tables[strings.ToLower(name)]
}

// fail returns an error the engine made itself in the form the SQL layer
// shows (see Options.SQLError).
func (db *DB) fail(err error) error {
	if err == nil || db.sqlError == nil {
		return err
	}
	return db.sqlError(err)
}
