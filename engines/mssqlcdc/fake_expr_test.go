package mssqlcdc

// The fake SQL Server's parser of expressions.

import (
	"fmt"
	"strconv"
	"strings"
)

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
