package server

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
)

// keyspacePrivileges are what a user gets on each keyspace it may use:
// reading and streaming, and writing embedded keyspaces.
var keyspacePrivileges = []sql.PrivilegeType{
	sql.PrivilegeType_Select, sql.PrivilegeType_Insert, sql.PrivilegeType_Update,
	sql.PrivilegeType_Delete, sql.PrivilegeType_Create, sql.PrivilegeType_Drop,
	sql.PrivilegeType_Alter, sql.PrivilegeType_Index,
}

// installUsers loads the configured users into GMS's user database, which
// enables authentication (mysql_native_password). Users live only in
// memory: they are the config file's.
func installUsers(db *mysql_db.MySQLDb, users []User) {
	db.SetPersister(&mysql_db.NoopPersister{})
	ed := db.Editor()
	defer ed.Close()
	for _, u := range users {
		auth := u.PasswordHash
		if auth == "" && u.Password != "" {
			auth = nativePasswordHash(u.Password)
		}
		ps := mysql_db.NewPrivilegeSet()
		super := false
		for _, ks := range u.Keyspaces {
			if ks == "*" {
				ps = mysql_db.NewPrivilegeSetWithAllPrivileges()
				super = true
				break
			}
			ps.AddDatabase(ks, keyspacePrivileges...)
		}
		ed.PutUser(&mysql_db.User{
			User: u.Name, Host: "%", PrivilegeSet: ps, Plugin: "mysql_native_password",
			AuthString:          strings.ToUpper(auth[:min(1, len(auth))]) + strings.ToUpper(auth[min(1, len(auth)):]),
			PasswordLastChanged: time.Unix(1, 0).UTC(), IsSuperUser: super, IsEphemeral: true,
		})
	}
	db.SetEnabled(true)
}

// nativePasswordHash is MySQL's mysql_native_password hash of a password:
// "*" and the upper-case hex of SHA1(SHA1(password)).
func nativePasswordHash(pw string) string {
	s1 := sha1.Sum([]byte(pw))
	s2 := sha1.Sum(s1[:])
	return "*" + strings.ToUpper(hex.EncodeToString(s2[:]))
}
