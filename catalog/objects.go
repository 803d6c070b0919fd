package catalog

import (
	"fmt"

	"github.com/dolthub/go-mysql-server/sql"
)

// A keyspace of another server holds its tables only; these answer "none"
// for the other schema objects (GMS asks for them when users are
// configured) and refuse to create them.

var (
	_ sql.TriggerDatabase         = (*sourceDB)(nil)
	_ sql.StoredProcedureDatabase = (*sourceDB)(nil)
)

func (d *sourceDB) GetTriggers(*sql.Context) ([]sql.TriggerDefinition, error) { return nil, nil }

func (d *sourceDB) CreateTrigger(*sql.Context, sql.TriggerDefinition) error {
	return fmt.Errorf("keyspace %s is read-only", d.name)
}

func (d *sourceDB) DropTrigger(_ *sql.Context, name string) error {
	return sql.ErrTriggerDoesNotExist.New(name)
}

func (d *sourceDB) GetStoredProcedure(*sql.Context, string) (sql.StoredProcedureDetails, bool, error) {
	return sql.StoredProcedureDetails{}, false, nil
}

func (d *sourceDB) GetStoredProcedures(*sql.Context) ([]sql.StoredProcedureDetails, error) {
	return nil, nil
}

func (d *sourceDB) SaveStoredProcedure(*sql.Context, sql.StoredProcedureDetails) error {
	return fmt.Errorf("keyspace %s is read-only", d.name)
}

func (d *sourceDB) DropStoredProcedure(_ *sql.Context, name string) error {
	return sql.ErrStoredProcedureDoesNotExist.New(name)
}
