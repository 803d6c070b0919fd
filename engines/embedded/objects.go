package embedded

import (
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/vstreamd/vstreamd/engines"
)

// Embedded keyspaces hold tables only. These methods answer "none" for
// the other schema objects (GMS asks for them, e.g. before an INSERT when
// users are configured) and refuse to create them.

var (
	_ sql.TriggerDatabase         = (*DB)(nil)
	_ sql.StoredProcedureDatabase = (*DB)(nil)
)

// GetTriggers implements sql.TriggerDatabase.
func (db *DB) GetTriggers(*sql.Context) ([]sql.TriggerDefinition, error) { return nil, nil }

// CreateTrigger implements sql.TriggerDatabase.
func (db *DB) CreateTrigger(*sql.Context, sql.TriggerDefinition) error {
	return db.fail(engines.Errorf(engines.ErrUnsupported, "embedded keyspace %s: triggers are not supported", db.name))
}

// DropTrigger implements sql.TriggerDatabase.
func (db *DB) DropTrigger(_ *sql.Context, name string) error {
	return sql.ErrTriggerDoesNotExist.New(name)
}

// GetStoredProcedure implements sql.StoredProcedureDatabase.
func (db *DB) GetStoredProcedure(*sql.Context, string) (sql.StoredProcedureDetails, bool, error) {
	return sql.StoredProcedureDetails{}, false, nil
}

// GetStoredProcedures implements sql.StoredProcedureDatabase.
func (db *DB) GetStoredProcedures(*sql.Context) ([]sql.StoredProcedureDetails, error) {
	return nil, nil
}

// SaveStoredProcedure implements sql.StoredProcedureDatabase.
func (db *DB) SaveStoredProcedure(*sql.Context, sql.StoredProcedureDetails) error {
	return db.fail(engines.Errorf(engines.ErrUnsupported, "embedded keyspace %s: stored procedures are not supported", db.name))
}

// DropStoredProcedure implements sql.StoredProcedureDatabase.
func (db *DB) DropStoredProcedure(_ *sql.Context, name string) error {
	return sql.ErrStoredProcedureDoesNotExist.New(name)
}
