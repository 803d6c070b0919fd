package server

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/vstreamd/vstreamd/catalog"
)

func TestRedact(t *testing.T) {
	r := newRedactor(Config{
		Keyspaces: []catalog.KeyspaceConfig{
			{Name: "shop", Source: "mysql://repl:p%40ss%20w0rd%21@db:3306/shop"},
			{Name: "pg", Source: "postgres://u:hunter22@pg/db?sslmode=require"},
			{Name: "short", Source: "mysql://u:pw@db/x"},
			{Name: "pgtest", Source: "postgres://postgres:postgres@localhost/db"},
		},
		Users: []User{{Name: "app", Password: "app-secret"}, {Name: "h", PasswordHash: "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"}},
	})
	for _, tc := range []struct{ in, want string }{
		{"connecting to postgres://u:hunter22@pg/db?sslmode=require failed", "connecting to [redacted] failed"},
		{"password hunter22 refused", "password [redacted] refused"},
		{"escaped p%40ss%20w0rd%21, p%40ss+w0rd%21 and raw p@ss w0rd!", "escaped [redacted], [redacted] and raw [redacted]"},
		{"user app-secret", "user [redacted]"},
		{"hash *2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19", "hash [redacted]"},
		{"any url sqlserver://sa:Other-Pass1@host?database=x", "any url sqlserver://sa:[redacted]@host?database=x"},
		{"a url without password mysql://repl@db/shop", "a url without password mysql://repl@db/shop"},
		{"pw is too short to be looked for", "pw is too short to be looked for"},
		{"the source mysql://u:pw@db/x", "the source [redacted]"},
		{"another mysql://u:pw@db/y", "another mysql://u:[redacted]@db/y"},
		// A password that is also the scheme and the user is looked for
		// only in URLs.
		{"PostgreSQL postgres://postgres@localhost/db has wal_level = replica", "PostgreSQL postgres://postgres@localhost/db has wal_level = replica"},
		{"dialing postgres://postgres:postgres@localhost/db", "dialing [redacted]"},
		{"dialing postgres://postgres:postgres@otherhost/db", "dialing postgres://postgres:[redacted]@otherhost/db"},
		// Other connection strings a library may print.
		{"dsn repl:Other-Pass1@tcp(db:3306)/shop", "dsn repl:[redacted]@tcp(db:3306)/shop"},
		{"host=db user=u password=Other-Pass1 dbname=x", "host=db user=u password=[redacted] dbname=x"},
		{"server=db;user id=sa;Password = Other-Pass1;database=x", "server=db;user id=sa;Password = [redacted];database=x"},
		{"the password_hash of a user", "the password_hash of a user"},
		// The examples in vstreamd's own messages stay as they are.
		{"want mysql://user:password@host:port/db or postgres://user:pass@host:port/db", "want mysql://user:password@host:port/db or postgres://user:pass@host:port/db"},
		// The mysql_native_password hash of a user's password.
		{"hash " + nativePasswordHash("app-secret"), "hash [redacted]"},
	} {
		if got := r.text(tc.in); got != tc.want {
			t.Errorf("text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}

	sentinel := errors.New("sentinel")
	err := r.error(fmt.Errorf("open hunter22: %w", sentinel))
	if err.Error() != "open [redacted]: sentinel" || !errors.Is(err, sentinel) {
		t.Errorf("error: %v (Is sentinel: %v)", err, errors.Is(err, sentinel))
	}
	se := r.error(mysql.NewSQLError(1429, "HY000", "cannot reach postgres://u:hunter22@pg/db?sslmode=require"))
	var got *mysql.SQLError
	if !errors.As(se, &got) || got.Number() != 1429 || got.SQLState() != "HY000" || strings.Contains(got.Message, "hunter22") {
		t.Errorf("SQL error: %#v", se)
	}
	if clean := mysql.NewSQLError(1049, "42000", "Unknown database 'x'"); r.error(clean) != clean {
		t.Errorf("an error without secrets changed")
	}

	var buf bytes.Buffer
	log := slog.New(r.handler(slog.NewTextHandler(&buf, nil))).With("src", "postgres://u:hunter22@pg/db")
	log.WithGroup("g").Info("dialing with hunter22", "err", errors.New("auth hunter22"), "n", 3, slog.Group("inner", "url", "mysql://a:app-secret@h/d"))
	if out := buf.String(); strings.Contains(out, "hunter22") || strings.Contains(out, "app-secret") || !strings.Contains(out, "n=3") {
		t.Errorf("log: %s", out)
	}
}
