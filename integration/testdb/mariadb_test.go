package testdb

import "testing"

func TestStartMariaDB(t *testing.T) {
	m := StartMariaDB(t, MariaDBOptions{})
	db := m.Admin(t, "probe")
	var format, gtid string
	if err := db.QueryRow("SELECT @@binlog_format, @@gtid_strict_mode").Scan(&format, &gtid); err != nil {
		t.Fatal(err)
	}
	if format != "ROW" || gtid != "1" {
		t.Fatalf("binlog_format %s gtid_strict_mode %s", format, gtid)
	}
	m.Restart(t)
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
}
