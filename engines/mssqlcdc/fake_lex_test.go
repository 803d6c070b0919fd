package mssqlcdc

// The fake SQL Server's lexer and syntax tree: the T-SQL subset the engine
// sends (see queries.go, scanQuery, changesQuery) and the portable DML and
// DDL the tests and the conformance suite run. Anything else is an error
// naming the statement, so the fake never answers a query it does not
// understand.

import (
	"fmt"
	"strings"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tQuoted // [name]
	tString
	tNumber
	tHex
	tParam
	tOp
)

type token struct {
	kind    tokKind
	text    string // identifier / literal text (unquoted), operator
	unicode bool   // N'…'
}

func tokenize(q string) ([]token, error) {
	var out []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case c == '[':
			var b strings.Builder
			j := i + 1
			for ; j < len(q); j++ {
				if q[j] == ']' {
					if j+1 < len(q) && q[j+1] == ']' {
						b.WriteByte(']')
						j++
						continue
					}
					break
				}
				b.WriteByte(q[j])
			}
			if j >= len(q) {
				return nil, fmt.Errorf("unclosed [")
			}
			out = append(out, token{kind: tQuoted, text: b.String()})
			i = j + 1
		case c == '\'' || ((c == 'N' || c == 'n') && i+1 < len(q) && q[i+1] == '\''):
			uni := c != '\''
			if uni {
				i++
			}
			var b strings.Builder
			j := i + 1
			for ; j < len(q); j++ {
				if q[j] == '\'' {
					if j+1 < len(q) && q[j+1] == '\'' {
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(q[j])
			}
			if j >= len(q) {
				return nil, fmt.Errorf("unclosed string")
			}
			out = append(out, token{kind: tString, text: b.String(), unicode: uni})
			i = j + 1
		case c == '0' && i+1 < len(q) && (q[i+1] == 'x' || q[i+1] == 'X'):
			j := i + 2
			for j < len(q) && strings.IndexByte("0123456789abcdefABCDEF", q[j]) >= 0 {
				j++
			}
			out = append(out, token{kind: tHex, text: q[i+2 : j]})
			i = j
		case c >= '0' && c <= '9' || (c == '.' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9'):
			j := i
			for j < len(q) && (q[j] >= '0' && q[j] <= '9' || q[j] == '.' || q[j] == 'e' || q[j] == 'E' ||
				((q[j] == '-' || q[j] == '+') && (q[j-1] == 'e' || q[j-1] == 'E'))) {
				j++
			}
			out = append(out, token{kind: tNumber, text: q[i:j]})
			i = j
		case c == '@':
			j := i + 1
			for j < len(q) && isIdentChar(q[j]) {
				j++
			}
			out = append(out, token{kind: tParam, text: strings.ToLower(q[i:j])})
			i = j
		case isIdentChar(c):
			j := i
			for j < len(q) && isIdentChar(q[j]) {
				j++
			}
			out = append(out, token{kind: tIdent, text: q[i:j]})
			i = j
		default:
			op := string(c)
			if i+1 < len(q) {
				switch two := q[i : i+2]; two {
				case "<>", "!=", "<=", ">=":
					op = two
				}
			}
			if !strings.Contains("(),.;=<>!+-*/", op[:1]) {
				return nil, fmt.Errorf("unexpected %q", op)
			}
			out = append(out, token{kind: tOp, text: op})
			i += len(op)
		}
	}
	return append(out, token{kind: tEOF}), nil
}

func isIdentChar(c byte) bool {
	return c == '_' || c == '$' || c == '#' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// Expressions.
type (
	expr   interface{}
	eLit   struct{ v any } // nil, int64, float64, decStr, string, uniStr, []byte
	eParam struct{ name string }
	eCol   struct{ qual, name string }
	eFunc  struct {
		name string // lower case, dotted
		args []expr
	}
	eCast struct {
		x   expr
		typ typeSpec
	}
	eUnary struct {
		op string
		x  expr
	}
	eBin struct {
		op   string
		l, r expr
	}
	eIsNull struct {
		x   expr
		not bool
	}
	eCollate struct {
		x    expr
		coll string
	}
	eIn struct {
		x    expr
		list []expr
	}
)

// decStr is a numeric literal with a decimal point.
type decStr string

// typeSpec is a type as written: name(args).
type typeSpec struct {
	name string // lower case
	args []int  // -1 for max
}

// Statements.
type (
	selItem struct {
		e     expr
		alias string
	}
	ordItem struct {
		e    expr
		desc bool
	}
	fromItem struct {
		name   []string // the dotted name's parts, as written
		args   []expr   // a table-valued function's arguments
		isFunc bool
		alias  string
		hints  []string // upper case
	}
	stSelect struct {
		top   expr
		items []selItem
		star  bool
		from  *fromItem
		where expr
		order []ordItem
	}
	stInsert struct {
		table []string
		cols  []string
		rows  [][]expr
	}
	setItem struct {
		col string
		e   expr
	}
	stUpdate struct {
		table []string
		sets  []setItem
		where expr
	}
	stDelete struct {
		table []string
		where expr
	}
	colDef struct {
		name     string
		typ      typeSpec
		notNull  bool
		primary  bool
		identity bool
	}
	stCreate struct {
		table []string
		cols  []colDef
		pk    []string
	}
	stAlterAdd struct {
		table []string
		col   colDef
	}
	stDrop  struct{ table []string }
	procArg struct {
		name string
		e    expr
	}
	stExec struct {
		proc string // lower case, dotted
		args []procArg
	}
)

// uniStr is an N'…' literal.
type uniStr string
