package planner

import (
	"fmt"
	"strings"

	"github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/dolthub/vitess/go/vt/vterrors"
)

// Usage is the VSTREAM grammar shown with syntax errors.
const Usage = "VSTREAM [/* comment */] * | column [, column ...] FROM [keyspace.]table [WHERE condition] [LIMIT n]"

// Parse parses one VSTREAM statement; a trailing ';' and blanks are
// allowed. defaultKeyspace is the session's current database ("" = none).
// defaultLimit is the limit when the statement has none (0 = unlimited).
func Parse(query, defaultKeyspace string, defaultLimit int64) (plan *Plan, err error) {
	defer func() {
		// The SQL parser recovers its own panics; this guards the rest
		// (AST printing in messages) so no input can crash a connection.
		if r := recover(); r != nil {
			plan, err = nil, syntaxError("could not read the statement (%v)", r)
		}
	}()
	start, comments := skipFiller(query, 0)
	if !keywordAt(query, start) {
		return nil, notVStream(query, start)
	}
	sel, err := parseSelect(query, start)
	if err != nil {
		return nil, err
	}
	p := &Plan{Comment: joinComments(comments, sel.Comments)}
	if err := checkClauses(sel); err != nil {
		return nil, err
	}
	tbl, err := p.setTable(sel.From, defaultKeyspace)
	if err != nil {
		return nil, err
	}
	if err := p.setSelect(sel.SelectExprs, tbl); err != nil {
		return nil, err
	}
	if err := p.setWhere(sel.Where, tbl); err != nil {
		return nil, err
	}
	if err := p.setLimit(sel.Limit, defaultLimit); err != nil {
		return nil, err
	}
	if err := p.checkPrintable(); err != nil {
		return nil, err
	}
	return p, nil
}

// checkPrintable makes sure the SELECT built from p prints as SQL that
// parses again. The SQL printer cannot write back every expression it
// parses (e.g. get_format(date, ...), `a@b`), and the server may pass the
// SELECT on as text.
func (p *Plan) checkPrintable() error {
	if _, err := sqlparser.Parse(sqlparser.String(p.Statement(nil))); err == nil {
		return nil
	}
	if p.Where == nil {
		return syntaxError("VSTREAM cannot express this statement as SQL")
	}
	return syntaxError("VSTREAM cannot pass on this WHERE clause: it prints as `%s`, which does not parse", sqlparser.String(p.Where))
}

// parseSelect parses query as the SELECT it reads like once the VSTREAM
// keyword at query[start:] becomes SELECT. The keyword is replaced in
// place and what precedes it (blanks and comments) by spaces, so the
// parser's error positions are positions in query.
func parseSelect(query string, start int) (*sqlparser.Select, error) {
	text := strings.Repeat(" ", start) + "SELECT " + query[start+len(keyword):]
	stmt, err := sqlparser.Parse(text)
	if err != nil {
		return nil, parserError(err, query, start)
	}
	switch s := stmt.(type) {
	case *sqlparser.Select:
		return s, nil
	case *sqlparser.SetOp:
		return nil, syntaxError("VSTREAM does not support UNION, INTERSECT or EXCEPT")
	}
	return nil, syntaxError("not a single VSTREAM statement")
}

// parserError turns an error of the SQL parser into a VSTREAM syntax
// error, naming the user's keyword where the parser names its SELECT.
func parserError(err error, query string, start int) *Error {
	msg := err.Error()
	if se, ok := vterrors.AsSyntaxError(err); ok {
		msg = se.Message
	}
	// The only SELECT in the parsed text is ours unless the user wrote one.
	const near = "near 'SELECT'"
	if strings.HasSuffix(msg, near) && !strings.Contains(query[start+len(keyword):], "SELECT") {
		msg = strings.TrimSuffix(msg, near) + "near '" + query[start:start+len(keyword)] + "'"
	}
	if strings.HasPrefix(msg, "syntax error") {
		return syntaxError("VSTREAM %s", msg)
	}
	return syntaxError("VSTREAM syntax error: %s", msg)
}

// notVStream explains why query, whose first word starts at query[i], is
// not a VSTREAM statement.
func notVStream(query string, i int) *Error {
	switch {
	case i == len(query):
		return syntaxError("empty statement")
	case strings.HasPrefix(query[i:], "/*"):
		return syntaxError("unterminated /* comment")
	}
	return syntaxError("not a VSTREAM statement")
}

// joinComments returns the /* */ comments found before the keyword and
// those the parser kept after it, joined by a space.
func joinComments(before []string, after sqlparser.Comments) string {
	all := before
	for _, c := range after {
		if s := string(c); strings.HasPrefix(s, "/*") {
			all = append(all, strings.TrimSpace(s))
		}
	}
	return strings.Join(all, " ")
}

// syntaxError is an ErrSyntax error that ends with the grammar.
func syntaxError(format string, args ...any) *Error {
	return &Error{Kind: ErrSyntax, Msg: fmt.Sprintf(format, args...) + "; usage: " + Usage}
}
