package integration

import (
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines/embedded"
)

// TestEmbeddedErrorCodes: errors the embedded engine makes itself keep
// their MySQL code through go-mysql-server's own statements.
func TestEmbeddedErrorCodes(t *testing.T) {
	old := embedded.LockWaitTimeout
	embedded.LockWaitTimeout = 100 * time.Millisecond
	t.Cleanup(func() { embedded.LockWaitTimeout = old })
	s := Start(t, Embedded(DemoSchema, "commerce"))
	a, b := s.Conn(t, "commerce"), s.Conn(t, "commerce")
	mustExec(t, a, "BEGIN", "INSERT INTO corder (customer_id, price) VALUES (1, 10)")
	wantErr(t, "a second writer", queryErr(t, b, "INSERT INTO corder (customer_id, price) VALUES (2, 20)"), 1205, "Lock wait timeout exceeded")
	mustExec(t, a, "ROLLBACK")
	stillUsable(t, b)
	wantErr(t, "UNIQUE key", queryErr(t, b, "CREATE TABLE u (id INT PRIMARY KEY, v INT UNIQUE)"), 1235, "UNIQUE", "plain KEY")
	wantErr(t, "trigger", queryErr(t, b, "CREATE TRIGGER tr BEFORE INSERT ON corder FOR EACH ROW SET NEW.price = 1"), 1235, "triggers are not supported")
}
