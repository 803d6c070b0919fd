package pgoutput

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/vstreamd/vstreamd/engines"
)

// TestClassifyLostConnection: a connection lost under a query is the source
// being unavailable (a copy retries its chunk while the stream reconnects;
// the user sees 1429), whichever way the driver says it. database/sql
// says driver.ErrBadConn when the connection broke under a snapshot's
// query (found by the fault matrix, which saw 1105).
func TestClassifyLostConnection(t *testing.T) {
	s := &Source{cfg: Config{Redacted: "postgres://u@h/db"}}
	for _, err := range []error{
		driver.ErrBadConn,
		fmt.Errorf("copy of t: taking a snapshot: %w", driver.ErrBadConn),
		io.ErrUnexpectedEOF,
	} {
		if got := s.classify(err); !errors.Is(got, engines.ErrSourceUnavailable) {
			t.Errorf("classify(%v) = %v, want ErrSourceUnavailable", err, got)
		}
	}
}
