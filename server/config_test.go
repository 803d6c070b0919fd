package server

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/vstreamd/vstreamd/catalog"
)

func TestValidate(t *testing.T) {
	// A caching_sha2_password authentication string of "pw", in hex.
	sha2 := "0x" + sha2Hex(t, "pw")
	base := func() Config {
		return Config{Listen: "127.0.0.1:0", Keyspaces: []catalog.KeyspaceConfig{{Name: "shop", Source: "embedded:"}, {Name: "Stock", Source: "embedded:"}}}
	}
	for _, tc := range []struct {
		name    string
		users   []User
		listen  string
		wantErr []string // nil: valid
	}{
		{name: "no users on loopback", listen: "127.0.0.1:3306"},
		{name: "no users on ::1", listen: "[::1]:3306"},
		{name: "no users on localhost", listen: "localhost:3306"},
		{name: "no users on every address", listen: "0.0.0.0:3306", wantErr: []string{`listen "0.0.0.0:3306"`, "loopback", "add users"}},
		{name: "no users on a host name", listen: "db.example:3306", wantErr: []string{"loopback"}},
		{name: "users on every address", listen: ":3306", users: []User{{Name: "a", Password: "x", Keyspaces: []string{"*"}}}},
		{name: "keyspaces and tables", users: []User{{Name: "a", Keyspaces: []string{"shop"}, Tables: []string{"stock.t", "STOCK.u"}}}},
		{name: "tables only", users: []User{{Name: "a", Tables: []string{"shop.t"}}}},
		{name: "no grants", users: []User{{Name: "a", Password: "x"}}, wantErr: []string{`user "a"`, "keyspaces and tables are empty"}},
		{name: "unknown keyspace", users: []User{{Name: "a", Keyspaces: []string{"shop", "shopp"}}}, wantErr: []string{`"shopp" is not a configured keyspace`}},
		{name: "unqualified table", users: []User{{Name: "a", Tables: []string{"t"}}}, wantErr: []string{`tables: "t" is not "keyspace.table"`}},
		{name: "table of an unknown keyspace", users: []User{{Name: "a", Tables: []string{"x.t"}}}, wantErr: []string{`"x" is not a configured keyspace`}},
		{name: "three parts", users: []User{{Name: "a", Tables: []string{"shop.t.c"}}}, wantErr: []string{`"shop.t.c" is not "keyspace.table"`}},
		{name: "password and hash", users: []User{{Name: "a", Password: "x", PasswordHash: "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19", Keyspaces: []string{"shop"}}},
			wantErr: []string{"not both"}},
		{name: "bad native hash", users: []User{{Name: "a", PasswordHash: "2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19", Keyspaces: []string{"shop"}}},
			wantErr: []string{"mysql_native_password hash"}},
		{name: "sha2 hash", users: []User{{Name: "a", AuthPlugin: "caching_sha2_password", PasswordHash: sha2, Keyspaces: []string{"shop"}}}},
		{name: "sha2 password", users: []User{{Name: "a", AuthPlugin: "CACHING_SHA2_PASSWORD", Password: "pw", Keyspaces: []string{"shop"}}}},
		{name: "native hash for a sha2 user", users: []User{{Name: "a", AuthPlugin: "caching_sha2_password", PasswordHash: "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19", Keyspaces: []string{"shop"}}},
			wantErr: []string{"caching_sha2_password authentication string in hex"}},
		{name: "cut sha2 hash", users: []User{{Name: "a", AuthPlugin: "caching_sha2_password", PasswordHash: sha2[:60], Keyspaces: []string{"shop"}}},
			wantErr: []string{"caching_sha2_password authentication string in hex"}},
		{name: "unknown plugin", users: []User{{Name: "a", AuthPlugin: "sha256_password", Keyspaces: []string{"shop"}}},
			wantErr: []string{`auth_plugin "sha256_password"`}},
		{name: "twice", users: []User{{Name: "a", Keyspaces: []string{"shop"}}, {Name: "a", Keyspaces: []string{"shop"}}}, wantErr: []string{`user "a" is listed twice`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			if tc.listen != "" {
				cfg.Listen = tc.listen
			}
			cfg.Users = tc.users
			err := cfg.Validate()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil, want an error with %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("Validate: %v\nwant it to mention %q", err, w)
				}
			}
		})
	}
}

func sha2Hex(t *testing.T, pw string) string {
	t.Helper()
	_, auth, err := authString(User{AuthPlugin: PluginSHA2, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return strings.ToUpper(hex.EncodeToString([]byte(auth)))
}

// TestGrants: a user's keyspaces and tables, "*" being every keyspace.
func TestGrants(t *testing.T) {
	g := newGrants(User{Keyspaces: []string{"Shop"}, Tables: []string{"stock.Items", "shop.orders", "vault.t"}}, []string{"shop", "stock", "vault"})
	for _, tc := range []struct {
		ks, table string
		keyspace  bool
		tbl       bool
	}{
		{"shop", "anything", true, true},
		{"SHOP", "x", true, true},
		{"stock", "items", true, true},
		{"Stock", "ITEMS", true, true},
		{"stock", "other", true, false},
		{"vault", "t", true, true},
		{"vault", "u", true, false},
		{"other", "t", false, false},
	} {
		if got := g.keyspace(tc.ks); got != tc.keyspace {
			t.Errorf("keyspace(%s) = %v", tc.ks, got)
		}
		if got := g.table(tc.ks, tc.table); got != tc.tbl {
			t.Errorf("table(%s, %s) = %v", tc.ks, tc.table, got)
		}
	}
	all := newGrants(User{Keyspaces: []string{"*"}}, []string{"a", "B"})
	if !all.table("b", "t") || !all.table("A", "t") || all.keyspace("c") {
		t.Errorf("* grants %+v", all)
	}
}
