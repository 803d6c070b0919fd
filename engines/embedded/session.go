package embedded

import (
	"fmt"

	"github.com/dolthub/go-mysql-server/sql"
)

// Transactions is the transaction half of sql.TransactionSession, for a
// session type to embed: go-mysql-server starts a Txn for every statement
// (or BEGIN) and commits or rolls it back through these methods.
type Transactions struct{}

// StartTransaction implements sql.TransactionSession.
func (Transactions) StartTransaction(_ *sql.Context, c sql.TransactionCharacteristic) (sql.Transaction, error) {
	return NewTxn(c == sql.ReadOnly), nil
}

// CommitTransaction implements sql.TransactionSession.
func (Transactions) CommitTransaction(_ *sql.Context, tx sql.Transaction) error {
	if t, ok := tx.(*Txn); ok {
		return t.Commit()
	}
	return nil
}

// Rollback implements sql.TransactionSession.
func (Transactions) Rollback(_ *sql.Context, tx sql.Transaction) error {
	if t, ok := tx.(*Txn); ok {
		t.Rollback()
	}
	return nil
}

var errSavepoints = fmt.Errorf("savepoints are not supported by embedded keyspaces")

// CreateSavepoint implements sql.TransactionSession.
func (Transactions) CreateSavepoint(*sql.Context, sql.Transaction, string) error {
	return errSavepoints
}

// RollbackToSavepoint implements sql.TransactionSession.
func (Transactions) RollbackToSavepoint(*sql.Context, sql.Transaction, string) error {
	return errSavepoints
}

// ReleaseSavepoint implements sql.TransactionSession.
func (Transactions) ReleaseSavepoint(*sql.Context, sql.Transaction, string) error {
	return errSavepoints
}
