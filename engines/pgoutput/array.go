package pgoutput

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// arrayJSON renders an array's text form ({1,2,NULL}, {{"a b",c},{d,e}})
// as JSON: numbers and booleans as such, NULL as null, everything else as
// strings.
func arrayJSON(t *pgType, b []byte) (any, error) {
	p := arrayParser{s: b}
	if len(b) > 0 && b[0] == '[' { // explicit bounds: [0:1]={…}
		for p.i < len(b) && b[p.i] != '=' {
			p.i++
		}
		p.i++
	}
	elemKind, _ := mapType(*t.elem)
	if t.elem.oid == oidNumeric {
		// Elements carry no typmod, so mapType sees an unconstrained
		// numeric (longtext, shown as text): its elements are numbers.
		elemKind = kNumeric
	}
	out, err := p.array(elemKind, t.elem)
	if err != nil {
		return nil, fmt.Errorf("array %q: %w", b, err)
	}
	return string(out), nil
}

type arrayParser struct {
	s   []byte
	i   int
	buf []byte
}

func (p *arrayParser) array(k kind, elem *pgType) ([]byte, error) {
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, fmt.Errorf("want { at %d", p.i)
	}
	p.i++
	out := []byte{'['}
	first := true
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '}':
			p.i++
			return append(out, ']'), nil
		case ',':
			p.i++
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		if p.s[p.i] == '{' {
			sub, err := p.array(k, elem)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		text, quoted := p.element()
		if !quoted && string(text) == "NULL" {
			out = append(out, "null"...)
			continue
		}
		v, err := elementJSON(k, elem, text)
		if err != nil {
			return nil, err
		}
		out = append(out, v...)
	}
	return nil, fmt.Errorf("unterminated array")
}

// element reads one element, unquoting it.
func (p *arrayParser) element() ([]byte, bool) {
	p.buf = p.buf[:0]
	if p.s[p.i] == '"' {
		p.i++
		for p.i < len(p.s) && p.s[p.i] != '"' {
			if p.s[p.i] == '\\' && p.i+1 < len(p.s) {
				p.i++
			}
			p.buf = append(p.buf, p.s[p.i])
			p.i++
		}
		p.i++
		return p.buf, true
	}
	for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != '}' {
		p.buf = append(p.buf, p.s[p.i])
		p.i++
	}
	return p.buf, false
}

func elementJSON(k kind, elem *pgType, text []byte) ([]byte, error) {
	switch k {
	case kInt, kNumeric, kFloat4, kFloat8:
		if f, err := strconv.ParseFloat(string(text), 64); err == nil && !isSpecial(f) {
			return append([]byte(nil), text...), nil
		}
	case kBool:
		if string(text) == "t" {
			return []byte("true"), nil
		}
		return []byte("false"), nil
	case kJSON:
		return append([]byte(nil), text...), nil
	case kBytea:
		return json.Marshal(string(text))
	}
	return json.Marshal(string(text))
}

func isSpecial(f float64) bool {
	return f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308
}
