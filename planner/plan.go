package planner

import "github.com/dolthub/vitess/go/vt/sqlparser"

// StartKind says where a stream starts.
type StartKind int

const (
	// StartSession: no `pos >`; continue this session's stream (or make a
	// fresh copy if there is none).
	StartSession StartKind = iota
	// StartFresh: pos > ''; copy the table, then follow changes.
	StartFresh
	// StartCurrent: pos > 'current' (any case); changes from now on, no copy.
	StartCurrent
	// StartToken: pos > '<token>'; changes strictly after that position.
	StartToken
)

func (k StartKind) String() string {
	switch k {
	case StartSession:
		return "session"
	case StartFresh:
		return "fresh"
	case StartCurrent:
		return "current"
	case StartToken:
		return "token"
	}
	return "StartKind(?)"
}

// StopKind says where a stream ends (besides LIMIT).
type StopKind int

const (
	// StopNone: no `pos <=`; the stream runs until LIMIT or the client stops.
	StopNone StopKind = iota
	// StopCurrent: pos <= 'current'; end once caught up with the position
	// at statement start.
	StopCurrent
	// StopToken: pos <= '<token>'; end at that position.
	StopToken
)

func (k StopKind) String() string {
	switch k {
	case StopNone:
		return "none"
	case StopCurrent:
		return "current"
	case StopToken:
		return "token"
	}
	return "StopKind(?)"
}

// Plan is one parsed VSTREAM statement.
type Plan struct {
	// Comment is the text of the /* ... */ comments before and right after
	// the VSTREAM keyword, each with its delimiters, joined by one space.
	Comment  string
	Keyspace string // the table's qualifier, else the session's keyspace
	Shard    string // from `ks:shard`.t; "" = all shards
	Table    string
	// Select lists what follows `op` in the output: "*" and/or column names
	// in user order. The pseudo-column is always spelled "pos"; a listed
	// "op" is dropped (op always comes first); t.col and t.* are reduced to
	// col and "*".
	Select []string
	Start  StartKind
	From   string // the token for StartToken
	Stop   StopKind
	To     string // the token for StopToken
	// Where is the conjuncts that do not mention pos, ANDed in their
	// original order, with column qualifiers naming the table removed; nil
	// if none.
	Where  sqlparser.Expr
	Limit  int64 // -1 = no limit
	Offset int64
}

// TableArg is the first argument of the vstream() table function:
// "ks.table", or "ks:shard.table" with a shard.
func (p *Plan) TableArg() string {
	ks := p.Keyspace
	if p.Shard != "" {
		ks += ":" + p.Shard
	}
	return ks + "." + p.Table
}
