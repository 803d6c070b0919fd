package mssqlcdc

// The fake SQL Server's parser of statements (fake_lex_test.go has the
// tokens and the syntax tree).

import (
	"fmt"
	"strconv"
	"strings"
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
