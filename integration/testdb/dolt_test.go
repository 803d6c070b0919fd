package testdb

import "testing"

// TestStartDolt: a Dolt server comes up as a GTID binlog primary with the
// users the tests need (skips when dolt is not installed).
func TestStartDolt(t *testing.T) {
	d := StartDolt(t)
	db := d.Admin(t, "probe")
	var logBin, gtidMode, serverID, version string
	if err := db.QueryRow("SELECT @@log_bin, @@gtid_mode, @@server_id, @@version").Scan(&logBin, &gtidMode, &serverID, &version); err != nil {
		t.Fatal(err)
	}
	if logBin != "1" || gtidMode != "ON" || serverID != "1" {
		t.Fatalf("log_bin %s gtid_mode %s server_id %s", logBin, gtidMode, serverID)
	}
	t.Logf("%s (@@version %s) on port %d", d.Version, version, d.Port)
	if _, err := db.Exec("CREATE TABLE t (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	var gtid string
	if err := db.QueryRow("SELECT @@global.gtid_executed").Scan(&gtid); err != nil || gtid == "" {
		t.Fatalf("gtid_executed %q, %v", gtid, err)
	}
	pid := d.PID()
	d.Stop()
	if err := db.Ping(); err == nil {
		t.Fatalf("dolt (pid %d) still answers after Stop", pid)
	}
}
