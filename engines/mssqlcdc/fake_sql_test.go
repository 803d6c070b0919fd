package mssqlcdc

// The fake SQL Server's parser: the T-SQL subset the engine sends (see
// queries.go, scanQuery, changesQuery) and the portable DML and DDL the
// tests and the conformance suite run. Anything else is an error naming
// the statement, so the fake never answers a query it does not
// understand.

import (
	"fmt"
	"strconv"
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

type parser struct {
	toks []token
	i    int
}

func parseStatement(q string) (any, error) {
	toks, err := tokenize(q)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	st, err := p.statement()
	if err != nil {
		return nil, err
	}
	p.accept(";")
	if p.peek().kind != tEOF {
		return nil, fmt.Errorf("unexpected %q after the statement", p.peek().text)
	}
	return st, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// is reports whether the next token is the keyword or operator w.
func (p *parser) is(w string) bool {
	t := p.peek()
	return (t.kind == tIdent || t.kind == tOp) && strings.EqualFold(t.text, w)
}

func (p *parser) accept(w string) bool {
	if p.is(w) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(w string) error {
	if !p.accept(w) {
		return fmt.Errorf("expected %s, found %q", w, p.peek().text)
	}
	return nil
}

func (p *parser) ident() (string, error) {
	t := p.next()
	if t.kind != tIdent && t.kind != tQuoted {
		return "", fmt.Errorf("expected a name, found %q", t.text)
	}
	return t.text, nil
}

// dotted reads a.b.c.
func (p *parser) dotted() ([]string, error) {
	var parts []string
	for {
		n, err := p.ident()
		if err != nil {
			return nil, err
		}
		parts = append(parts, n)
		if !p.accept(".") {
			return parts, nil
		}
	}
}

func (p *parser) statement() (any, error) {
	switch {
	case p.accept("SELECT"):
		return p.selectRest()
	case p.accept("INSERT"):
		p.accept("INTO")
		st := &stInsert{}
		var err error
		if st.table, err = p.dotted(); err != nil {
			return nil, err
		}
		if p.accept("(") {
			for {
				c, err := p.ident()
				if err != nil {
					return nil, err
				}
				st.cols = append(st.cols, c)
				if !p.accept(",") {
					break
				}
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
		}
		if err := p.expect("VALUES"); err != nil {
			return nil, err
		}
		for {
			if err := p.expect("("); err != nil {
				return nil, err
			}
			row, err := p.exprList()
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			st.rows = append(st.rows, row)
			if !p.accept(",") {
				return st, nil
			}
		}
	case p.accept("UPDATE"):
		st := &stUpdate{}
		var err error
		if st.table, err = p.dotted(); err != nil {
			return nil, err
		}
		if err := p.expect("SET"); err != nil {
			return nil, err
		}
		for {
			c, err := p.ident()
			if err != nil {
				return nil, err
			}
			if err := p.expect("="); err != nil {
				return nil, err
			}
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			st.sets = append(st.sets, setItem{c, e})
			if !p.accept(",") {
				break
			}
		}
		if p.accept("WHERE") {
			if st.where, err = p.expr(); err != nil {
				return nil, err
			}
		}
		return st, nil
	case p.accept("DELETE"):
		p.accept("FROM")
		st := &stDelete{}
		var err error
		if st.table, err = p.dotted(); err != nil {
			return nil, err
		}
		if p.accept("WHERE") {
			if st.where, err = p.expr(); err != nil {
				return nil, err
			}
		}
		return st, nil
	case p.accept("CREATE"):
		if err := p.expect("TABLE"); err != nil {
			return nil, err
		}
		return p.createRest()
	case p.accept("ALTER"):
		if err := p.expect("TABLE"); err != nil {
			return nil, err
		}
		name, err := p.dotted()
		if err != nil {
			return nil, err
		}
		if err := p.expect("ADD"); err != nil {
			return nil, err
		}
		c, err := p.colDef()
		return &stAlterAdd{table: name, col: c}, err
	case p.accept("DROP"):
		if err := p.expect("TABLE"); err != nil {
			return nil, err
		}
		name, err := p.dotted()
		return &stDrop{table: name}, err
	case p.accept("EXEC") || p.accept("EXECUTE"):
		parts, err := p.dotted()
		if err != nil {
			return nil, err
		}
		st := &stExec{proc: strings.ToLower(strings.Join(parts, "."))}
		for p.peek().kind != tEOF && !p.is(";") {
			var a procArg
			if t := p.peek(); t.kind == tParam && p.toks[p.i+1].kind == tOp && p.toks[p.i+1].text == "=" {
				a.name = t.text
				p.i += 2
			}
			if a.e, err = p.expr(); err != nil {
				return nil, err
			}
			st.args = append(st.args, a)
			if !p.accept(",") {
				break
			}
		}
		return st, nil
	}
	return nil, fmt.Errorf("unsupported statement starting %q", p.peek().text)
}

func (p *parser) selectRest() (*stSelect, error) {
	st := &stSelect{}
	var err error
	if p.accept("TOP") {
		if err := p.expect("("); err != nil {
			return nil, err
		}
		if st.top, err = p.expr(); err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
	}
	if p.accept("*") {
		st.star = true
	} else {
		for {
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			it := selItem{e: e}
			if p.accept("AS") {
				if it.alias, err = p.ident(); err != nil {
					return nil, err
				}
			}
			st.items = append(st.items, it)
			if !p.accept(",") {
				break
			}
		}
	}
	if p.accept("FROM") {
		f := &fromItem{}
		if f.name, err = p.dotted(); err != nil {
			return nil, err
		}
		if p.accept("(") {
			f.isFunc = true
			if !p.is(")") {
				if f.args, err = p.exprList(); err != nil {
					return nil, err
				}
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
		}
		if p.accept("AS") || (p.peek().kind == tIdent && !p.is("WITH") && !p.is("WHERE") && !p.is("ORDER")) {
			if f.alias, err = p.ident(); err != nil {
				return nil, err
			}
		}
		if p.accept("WITH") {
			if err := p.expect("("); err != nil {
				return nil, err
			}
			for {
				h, err := p.ident()
				if err != nil {
					return nil, err
				}
				f.hints = append(f.hints, strings.ToUpper(h))
				if !p.accept(",") {
					break
				}
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
		}
		st.from = f
	}
	if p.accept("WHERE") {
		if st.where, err = p.expr(); err != nil {
			return nil, err
		}
	}
	if p.accept("ORDER") {
		if err := p.expect("BY"); err != nil {
			return nil, err
		}
		for {
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			it := ordItem{e: e}
			if p.accept("DESC") {
				it.desc = true
			} else {
				p.accept("ASC")
			}
			st.order = append(st.order, it)
			if !p.accept(",") {
				break
			}
		}
	}
	return st, nil
}

func (p *parser) createRest() (*stCreate, error) {
	st := &stCreate{}
	var err error
	if st.table, err = p.dotted(); err != nil {
		return nil, err
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	for {
		if p.accept("PRIMARY") {
			if err := p.expect("KEY"); err != nil {
				return nil, err
			}
			if err := p.expect("("); err != nil {
				return nil, err
			}
			for {
				c, err := p.ident()
				if err != nil {
					return nil, err
				}
				st.pk = append(st.pk, c)
				if !p.accept(",") {
					break
				}
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
		} else {
			c, err := p.colDef()
			if err != nil {
				return nil, err
			}
			st.cols = append(st.cols, c)
		}
		if !p.accept(",") {
			break
		}
	}
	return st, p.expect(")")
}

func (p *parser) colDef() (colDef, error) {
	var c colDef
	var err error
	if c.name, err = p.ident(); err != nil {
		return c, err
	}
	if c.typ, err = p.typeSpec(); err != nil {
		return c, err
	}
	for {
		switch {
		case p.accept("NOT"):
			if err := p.expect("NULL"); err != nil {
				return c, err
			}
			c.notNull = true
		case p.accept("NULL"):
		case p.accept("PRIMARY"):
			if err := p.expect("KEY"); err != nil {
				return c, err
			}
			c.primary, c.notNull = true, true
		case p.accept("IDENTITY"):
			c.identity = true
			if p.accept("(") {
				if _, err := p.exprList(); err != nil {
					return c, err
				}
				if err := p.expect(")"); err != nil {
					return c, err
				}
			}
		default:
			return c, nil
		}
	}
}

func (p *parser) typeSpec() (typeSpec, error) {
	n, err := p.ident()
	if err != nil {
		return typeSpec{}, err
	}
	ts := typeSpec{name: strings.ToLower(n)}
	if p.accept("(") {
		for {
			t := p.next()
			switch {
			case t.kind == tIdent && strings.EqualFold(t.text, "max"):
				ts.args = append(ts.args, -1)
			case t.kind == tNumber:
				v, err := strconv.Atoi(t.text)
				if err != nil {
					return ts, err
				}
				ts.args = append(ts.args, v)
			default:
				return ts, fmt.Errorf("bad type argument %q", t.text)
			}
			if !p.accept(",") {
				break
			}
		}
		if err := p.expect(")"); err != nil {
			return ts, err
		}
	}
	return ts, nil
}

func (p *parser) exprList() ([]expr, error) {
	var out []expr
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if !p.accept(",") {
			return out, nil
		}
	}
}

// expr parses with the precedence OR < AND < NOT < comparison < + - <
// unary < COLLATE.
func (p *parser) expr() (expr, error) { return p.or() }

func (p *parser) or() (expr, error) {
	l, err := p.and()
	for err == nil && p.accept("OR") {
		var r expr
		if r, err = p.and(); err == nil {
			l = &eBin{op: "OR", l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) and() (expr, error) {
	l, err := p.not()
	for err == nil && p.accept("AND") {
		var r expr
		if r, err = p.not(); err == nil {
			l = &eBin{op: "AND", l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) not() (expr, error) {
	if p.accept("NOT") {
		x, err := p.not()
		return &eUnary{op: "NOT", x: x}, err
	}
	return p.comparison()
}

func (p *parser) comparison() (expr, error) {
	l, err := p.additive()
	if err != nil {
		return nil, err
	}
	switch {
	case p.accept("IS"):
		not := p.accept("NOT")
		return &eIsNull{x: l, not: not}, p.expect("NULL")
	case p.accept("IN"):
		if err := p.expect("("); err != nil {
			return nil, err
		}
		list, err := p.exprList()
		if err != nil {
			return nil, err
		}
		return &eIn{x: l, list: list}, p.expect(")")
	}
	for _, op := range []string{"=", "<>", "!=", "<=", ">=", "<", ">"} {
		if p.accept(op) {
			r, err := p.additive()
			if op == "!=" {
				op = "<>"
			}
			return &eBin{op: op, l: l, r: r}, err
		}
	}
	return l, nil
}

func (p *parser) additive() (expr, error) {
	l, err := p.unary()
	for err == nil && (p.is("+") || p.is("-")) {
		op := p.next().text
		var r expr
		if r, err = p.unary(); err == nil {
			l = &eBin{op: op, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) unary() (expr, error) {
	if p.accept("-") {
		x, err := p.unary()
		if lit, ok := x.(*eLit); ok && err == nil {
			switch v := lit.v.(type) {
			case int64:
				return &eLit{-v}, nil
			case float64:
				return &eLit{-v}, nil
			case decStr:
				return &eLit{decStr("-" + string(v))}, nil
			}
		}
		return &eUnary{op: "-", x: x}, err
	}
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.accept("COLLATE") {
		c, err := p.ident()
		if err != nil {
			return nil, err
		}
		x = &eCollate{x: x, coll: c}
	}
	return x, nil
}

func (p *parser) primary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tNumber:
		if strings.ContainsAny(t.text, "eE") {
			f, err := strconv.ParseFloat(t.text, 64)
			return &eLit{f}, err
		}
		if strings.Contains(t.text, ".") {
			return &eLit{decStr(t.text)}, nil
		}
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return &eLit{decStr(t.text)}, nil
		}
		return &eLit{n}, nil
	case tString:
		if t.unicode {
			return &eLit{uniStr(t.text)}, nil
		}
		return &eLit{t.text}, nil
	case tHex:
		b := make([]byte, len(t.text)/2)
		for i := range b {
			v, err := strconv.ParseUint(t.text[2*i:2*i+2], 16, 8)
			if err != nil {
				return nil, err
			}
			b[i] = byte(v)
		}
		return &eLit{b}, nil
	case tParam:
		return &eParam{name: t.text}, nil
	case tOp:
		if t.text == "(" {
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			return e, p.expect(")")
		}
		if t.text == "*" {
			return &eCol{name: "*"}, nil
		}
	case tIdent, tQuoted:
		if t.kind == tIdent && strings.EqualFold(t.text, "NULL") {
			return &eLit{nil}, nil
		}
		if t.kind == tIdent && strings.EqualFold(t.text, "CAST") && p.accept("(") {
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expect("AS"); err != nil {
				return nil, err
			}
			ts, err := p.typeSpec()
			if err != nil {
				return nil, err
			}
			return &eCast{x: x, typ: ts}, p.expect(")")
		}
		parts := []string{t.text}
		for p.accept(".") {
			n, err := p.ident()
			if err != nil {
				return nil, err
			}
			parts = append(parts, n)
		}
		if p.accept("(") {
			f := &eFunc{name: strings.ToLower(strings.Join(parts, "."))}
			if !p.is(")") {
				var err error
				if f.args, err = p.exprList(); err != nil {
					return nil, err
				}
			}
			return f, p.expect(")")
		}
		if len(parts) == 2 {
			return &eCol{qual: parts[0], name: parts[1]}, nil
		}
		return &eCol{name: parts[len(parts)-1]}, nil
	}
	return nil, fmt.Errorf("unexpected %q", t.text)
}

// uniStr is an N'…' literal.
type uniStr string
