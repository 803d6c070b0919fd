package mssqlcdc

// The fake SQL Server's expressions and built-in functions.

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

func (e *env) truth(x expr) (bool, error) {
	v, err := e.eval(x)
	b, _ := v.(bool)
	return b, err
}

func (e *env) eval(x expr) (any, error) {
	switch x := x.(type) {
	case *eLit:
		return x.v, nil
	case *eParam:
		v, ok := e.args[x.name]
		if !ok {
			return nil, sqlErr(137, "Must declare the scalar variable \"%s\".", x.name)
		}
		return v, nil
	case *eCol:
		if e.rel != nil {
			if i := e.rel.index(x.name); i >= 0 {
				return e.row[i], nil
			}
		}
		return nil, sqlErr(207, "Invalid column name '%s'.", x.name)
	case *eCast:
		v, err := e.eval(x.x)
		if err != nil {
			return nil, err
		}
		t, err := typeOf(x.typ, true)
		if err != nil {
			return nil, err
		}
		return convert(v, t)
	case *eCollate:
		v, err := e.eval(x.x)
		if err != nil || v == nil {
			return v, err
		}
		s, ok := strOf(v)
		if !ok {
			return nil, sqlErr(447, "Expression type %T is invalid for COLLATE clause.", v)
		}
		return collStr{s: s, coll: x.coll}, nil
	case *eUnary:
		v, err := e.eval(x.x)
		if err != nil {
			return nil, err
		}
		if x.op == "NOT" {
			if v == nil {
				return nil, nil
			}
			b, _ := v.(bool)
			return !b, nil
		}
		r, ok := ratOf(v)
		if !ok {
			return nil, fmt.Errorf("fake SQL Server: -%v", v)
		}
		return ratValue(new(big.Rat).Neg(r), v), nil
	case *eIsNull:
		v, err := e.eval(x.x)
		return (v == nil) != x.not, err
	case *eIn:
		v, err := e.eval(x.x)
		if err != nil || v == nil {
			return nil, err
		}
		for _, it := range x.list {
			w, err := e.eval(it)
			if err != nil {
				return nil, err
			}
			if w != nil {
				if c, err := compareVals(v, w); err == nil && c == 0 {
					return true, nil
				}
			}
		}
		return false, nil
	case *eBin:
		return e.binary(x)
	case *eFunc:
		return e.call(x)
	}
	return nil, fmt.Errorf("fake SQL Server: expression %T", x)
}

func ratValue(r *big.Rat, like any) any {
	if _, ok := like.(int64); ok && r.IsInt() {
		return r.Num().Int64()
	}
	return decV{r: r, scale: 0}
}

func (e *env) binary(x *eBin) (any, error) {
	l, err := e.eval(x.l)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "AND", "OR":
		lb, _ := l.(bool)
		if x.op == "AND" && l != nil && !lb {
			return false, nil
		}
		if x.op == "OR" && lb {
			return true, nil
		}
		r, err := e.eval(x.r)
		if err != nil {
			return nil, err
		}
		rb, _ := r.(bool)
		if x.op == "AND" {
			return lb && rb, nil
		}
		return lb || rb, nil
	}
	r, err := e.eval(x.r)
	if err != nil || l == nil || r == nil {
		return nil, err // comparisons with NULL are unknown
	}
	switch x.op {
	case "+", "-":
		a, ok1 := ratOf(l)
		b, ok2 := ratOf(r)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("fake SQL Server: %v %s %v", l, x.op, r)
		}
		if x.op == "-" {
			b = new(big.Rat).Neg(b)
		}
		return ratValue(new(big.Rat).Add(a, b), l), nil
	}
	c, err := compareVals(l, r)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "=":
		return c == 0, nil
	case "<>":
		return c != 0, nil
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	case ">=":
		return c >= 0, nil
	}
	return nil, fmt.Errorf("fake SQL Server: operator %s", x.op)
}

// typeIDs are sys.types' system_type_id of the base types.
var typeIDs = map[string]int64{
	"image": 34, "text": 35, "uniqueidentifier": 36, "date": 40, "time": 41, "datetime2": 42, "datetimeoffset": 43,
	"tinyint": 48, "smallint": 52, "int": 56, "smalldatetime": 58, "real": 59, "money": 60, "datetime": 61,
	"float": 62, "ntext": 99, "bit": 104, "decimal": 106, "numeric": 108, "smallmoney": 122, "bigint": 127,
	"varbinary": 165, "varchar": 167, "binary": 173, "char": 175, "nvarchar": 231, "nchar": 239, "xml": 241,
}

func (e *env) args1(f *eFunc, n int) ([]any, error) {
	if len(f.args) != n {
		return nil, sqlErr(174, "The %s function requires %d argument(s).", f.name, n)
	}
	out := make([]any, n)
	for i, a := range f.args {
		v, err := e.eval(a)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (e *env) call(f *eFunc) (any, error) {
	s := e.c.srv
	u := e.tx.user
	switch f.name {
	case "db_id":
		return int64(5), nil
	case "db_name":
		return s.opts.database, nil
	case "serverproperty":
		a, err := e.args1(f, 1)
		if err != nil {
			return nil, err
		}
		switch p, _ := strOf(a[0]); strings.ToLower(p) {
		case "engineedition":
			return s.opts.edition, nil
		case "productversion":
			return s.opts.version, nil
		}
		return nil, nil
	case "has_perms_by_name":
		a, err := e.args1(f, 3)
		if err != nil {
			return nil, err
		}
		perm, _ := strOf(a[2])
		ok := u.dbOwner || u.viewState
		switch strings.ToUpper(perm) {
		case "VIEW DATABASE STATE":
		case "VIEW DATABASE PERFORMANCE STATE":
			if major, _ := strconv.Atoi(strings.Split(s.opts.version, ".")[0]); major < 16 {
				return nil, nil // not a permission before SQL Server 2022
			}
		default:
			return int64(0), nil
		}
		if ok {
			return int64(1), nil
		}
		return int64(0), nil
	case "sysdatetimeoffset":
		return s.now().In(time.FixedZone("", int(s.opts.tzOffset/time.Second))), nil
	case "datepart":
		if len(f.args) != 2 {
			return nil, sqlErr(174, "The datepart function requires 2 argument(s).")
		}
		part, _ := f.args[0].(*eCol)
		v, err := e.eval(f.args[1])
		if err != nil {
			return nil, err
		}
		t, ok := v.(time.Time)
		if part == nil || !strings.EqualFold(part.name, "TZOFFSET") || !ok {
			return nil, fmt.Errorf("fake SQL Server: DATEPART(%v, %v)", f.args[0], v)
		}
		_, off := t.Zone()
		return int64(off / 60), nil
	case "object_id":
		if len(f.args) < 1 {
			return nil, sqlErr(174, "The object_id function requires 1 argument(s).")
		}
		v, err := e.eval(f.args[0])
		if err != nil {
			return nil, err
		}
		name, _ := strOf(v)
		toks, err := tokenize(name)
		if err != nil {
			return nil, nil
		}
		var parts []string
		for _, t := range toks {
			if t.kind == tIdent || t.kind == tQuoted {
				parts = append(parts, t.text)
			}
		}
		if len(parts) == 0 {
			return nil, nil
		}
		s.mu.Lock()
		t, ok := s.table(parts)
		s.mu.Unlock()
		if !ok || !u.canSelect(t) {
			return nil, nil // no such object, or no permission on it: NULL
		}
		return t.id, nil
	case "type_name":
		a, err := e.args1(f, 1)
		if err != nil {
			return nil, err
		}
		for n, id := range typeIDs {
			if v, ok := a[0].(int64); ok && v == id {
				return n, nil
			}
		}
		return nil, nil
	}
	if strings.HasPrefix(f.name, "sys.fn_cdc_") {
		return e.cdcFunc(f)
	}
	return nil, fmt.Errorf("fake SQL Server: function %s", f.name)
}

// cdcFunc is one of the sys.fn_cdc_* functions.
func (e *env) cdcFunc(f *eFunc) (any, error) {
	s := e.c.srv
	u := e.tx.user
	asLSN := func(v any) (lsn, error) {
		b, _ := v.([]byte)
		l, ok := lsnFromBytes(b)
		if !ok {
			return l, sqlErr(8114, "Error converting data type to binary(10).")
		}
		return l, nil
	}
	switch f.name {
	case "sys.fn_cdc_get_max_lsn":
		s.mu.Lock()
		defer s.mu.Unlock()
		if m := s.maxLSNSeq(); m > 0 {
			l := fakeLSN(m)
			return l[:], nil
		}
		return nil, nil
	case "sys.fn_cdc_get_min_lsn":
		a, err := e.args1(f, 1)
		if err != nil {
			return nil, err
		}
		name, _ := strOf(a[0])
		s.mu.Lock()
		defer s.mu.Unlock()
		var zero lsn
		ci := s.instance(name)
		if ci == nil || !u.canReadCI(ci) || ci.start == 0 {
			return zero[:], nil // documented: 0x00… for a missing capture instance or no access
		}
		l := fakeLSN(ci.start)
		return l[:], nil
	case "sys.fn_cdc_map_lsn_to_time":
		a, err := e.args1(f, 1)
		if err != nil {
			return nil, err
		}
		l, err := asLSN(a[0])
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, m := range s.cdc.lsnTime {
			if fakeLSN(m.start) == l {
				return m.end, nil
			}
		}
		return nil, nil
	case "sys.fn_cdc_increment_lsn":
		a, err := e.args1(f, 1)
		if err != nil {
			return nil, err
		}
		l, err := asLSN(a[0])
		if err != nil {
			return nil, err
		}
		n := l.next()
		return n[:], nil
	case "sys.fn_cdc_get_column_ordinal":
		a, err := e.args1(f, 2)
		if err != nil {
			return nil, err
		}
		ciName, _ := strOf(a[0])
		col, _ := strOf(a[1])
		s.mu.Lock()
		defer s.mu.Unlock()
		if ci := s.instance(ciName); ci != nil {
			for j, i := range ci.cols {
				if strings.EqualFold(ci.t.cols[i].name, col) {
					return int64(j + 1), nil
				}
			}
		}
		return int64(-1), nil
	case "sys.fn_cdc_is_bit_set":
		a, err := e.args1(f, 2)
		if err != nil {
			return nil, err
		}
		pos, _ := a[0].(int64)
		mask, _ := a[1].([]byte)
		return bitSet(pos, mask), nil
	}
	return nil, fmt.Errorf("fake SQL Server: function %s", f.name)
}
