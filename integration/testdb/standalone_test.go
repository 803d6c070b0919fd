package testdb

import (
	"database/sql"
	"errors"
	"os"
	"testing"
)

// TestNewMariaDB: the entry point for code without a testing.TB (the
// benchmark) starts a server and Close removes it.
func TestNewMariaDB(t *testing.T) {
	m, err := NewMariaDB(MariaDBOptions{})
	if errors.Is(err, ErrNotInstalled) && !Required() {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.PID() <= 0 {
		t.Fatalf("PID %d", m.PID())
	}
	db, err := sql.Open("mysql", m.DSN(ReplUser, ReplPass, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pos string
	if err := db.QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, err := os.Stat(m.Dir); !os.IsNotExist(err) {
		t.Fatalf("%s still exists after Close (%v)", m.Dir, err)
	}
	m.Close() // twice is harmless
}
