package planner

import "errors"

// Sentinels for the ways a VSTREAM statement can be rejected. Every error
// the planner returns wraps exactly one of them (test with errors.Is); the
// server maps them to MySQL error codes in one place (server/sqlerr).
var (
	// ErrSyntax: the statement is not VSTREAM grammar (MySQL 1064).
	ErrSyntax = errors.New("syntax error")
	// ErrPos: a use of the pos pseudo-column other than the accepted forms
	// (MySQL 1149).
	ErrPos = errors.New("bad use of pos")
	// ErrNoDatabase: the table is not qualified and no keyspace is selected
	// (MySQL 1046).
	ErrNoDatabase = errors.New("no database selected")
)

// Error is a rejected statement: Kind is one of the sentinels above, Msg the
// full message shown to the user.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }
