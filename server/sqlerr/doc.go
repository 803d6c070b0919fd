// Package sqlerr is the one place where vstreamd's errors become MySQL
// errors: a code, an SQLSTATE and a message the user can act on. Every
// package below the server returns wrapped sentinels; only this package
// knows MySQL error numbers.
package sqlerr
