package integration

import (
	"strings"
	"testing"
	"time"
)

// TestCLICtrlC: Ctrl-C in the mariadb client (which sends KILL QUERY on a
// second connection) ends a running VSTREAM cleanly: the rows shown stay,
// the result set ends with a warning naming the resume position, and the
// same connection runs the next statement.
func TestCLICtrlC(t *testing.T) {
	NeedCommand(t, "mariadb")
	NeedCommand(t, "script")
	s := Start(t, Embedded(DemoSchema, "commerce"))
	seedOrders(t, s.Conn(t, "commerce"), 1, 2)
	port := s.Addr[strings.LastIndexByte(s.Addr, ':')+1:]
	tm := startTerminal(t, "mariadb", []string{"mariadb", "--no-defaults", "--quick", "-h", "127.0.0.1", "-P", port, "-uroot", "commerce"})
	tm.typeLine(t, "SET WORKLOAD=OLAP;")
	tm.typeLine(t, "VSTREAM * FROM corder;")
	waitScreen(t, tm, "| s2 ")
	if _, err := tm.stdin.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	waitScreen(t, tm, "2 rows in set, 1 warning")
	tm.typeLine(t, "SHOW WARNINGS;")
	waitScreen(t, tm, "1317 | Query execution was interrupted")
	tm.typeLine(t, "SELECT CONNECTION_ID() > 0 AS same_connection_works;")
	waitScreen(t, tm, "same_connection_works")
	screen := tm.screen()
	for _, bad := range []string{"Lost connection", "reconnect", "ERROR"} {
		if strings.Contains(screen, bad) {
			t.Fatalf("the client shows %q:\n%s", bad, screen)
		}
	}
	if !strings.Contains(screen, "pos > 'vs1.") {
		t.Fatalf("the warning does not name the resume position:\n%s", screen)
	}
}

// waitScreen waits until the terminal shows text.
func waitScreen(t *testing.T, tm *terminal, text string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(tm.screen(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal does not show %q after 15 s:\n%s", text, tm.screen())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
