package server

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/vitess/go/mysql"
)

// Authentication plugins a user may have.
const (
	PluginNative = "mysql_native_password"
	PluginSHA2   = "caching_sha2_password"
)

// keyspacePrivileges are what a user gets on each keyspace (or table) it
// may use: reading and streaming, and writing embedded keyspaces.
var keyspacePrivileges = []sql.PrivilegeType{
	sql.PrivilegeType_Select, sql.PrivilegeType_Insert, sql.PrivilegeType_Update,
	sql.PrivilegeType_Delete, sql.PrivilegeType_Create, sql.PrivilegeType_Drop,
	sql.PrivilegeType_Alter, sql.PrivilegeType_Index,
}

// installUsers loads the configured users into GMS's user database, which
// enables authentication. Users live only in memory: they are the config
// file's. No user gets global privileges ("*" is every configured
// keyspace, not an administrator): none can see the user table, change
// users or grants.
func installUsers(db *mysql_db.MySQLDb, users []User, grantsOf map[string]*grants) error {
	db.SetPersister(&mysql_db.NoopPersister{})
	ed := db.Editor()
	defer ed.Close()
	for _, u := range users {
		plugin, auth, err := authString(u)
		if err != nil {
			return fmt.Errorf("user %q: %w", u.Name, err)
		}
		g := grantsOf[u.Name]
		ps := mysql_db.NewPrivilegeSet()
		for ks := range g.keyspaces {
			ps.AddDatabase(ks, keyspacePrivileges...)
		}
		for ks, tables := range g.tables {
			for t := range tables {
				ps.AddTable(ks, t, keyspacePrivileges...)
			}
		}
		ed.PutUser(&mysql_db.User{
			User: u.Name, Host: "%", PrivilegeSet: ps, Plugin: plugin, AuthString: auth,
			PasswordLastChanged: time.Unix(1, 0).UTC(), IsEphemeral: true,
		})
	}
	db.SetEnabled(true)
	return nil
}

// authString is what MySQL stores for a user: its plugin and the hash of
// its password.
func authString(u User) (plugin, auth string, err error) {
	switch u.plugin() {
	case PluginSHA2:
		if u.PasswordHash != "" {
			b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(u.PasswordHash, "0x"), "0X"))
			if err != nil {
				return "", "", fmt.Errorf("password_hash: %w", err)
			}
			return PluginSHA2, string(b), nil
		}
		if u.Password == "" {
			return PluginSHA2, "", nil
		}
		salt := make([]byte, 20)
		if _, err := rand.Read(salt); err != nil {
			return "", "", err
		}
		// The salt is 20 printable characters, as MySQL's.
		for i := range salt {
			salt[i] = 'a' + salt[i]%26
		}
		b, err := mysql.SerializeCachingSha2PasswordAuthString(u.Password, salt, mysql.DefaultCachingSha2PasswordHashIterations)
		return PluginSHA2, string(b), err
	}
	if u.PasswordHash != "" {
		return PluginNative, strings.ToUpper(u.PasswordHash), nil
	}
	if u.Password == "" {
		return PluginNative, "", nil
	}
	return PluginNative, nativePasswordHash(u.Password), nil
}

// nativePasswordHash is MySQL's mysql_native_password hash of a password:
// "*" and the upper-case hex of SHA1(SHA1(password)).
func nativePasswordHash(pw string) string {
	s1 := sha1.Sum([]byte(pw))
	s2 := sha1.Sum(s1[:])
	return "*" + strings.ToUpper(hex.EncodeToString(s2[:]))
}
