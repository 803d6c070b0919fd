package catalog

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/planbuilder"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/vstreamd/vstreamd/engines"
)

// columnOf maps an engine column (described in MySQL terms) to a GMS column
// of the same MySQL type.
func columnOf(ctx *sql.Context, ks, table string, c engines.Column, key bool) (*sql.Column, error) {
	typeText := gmsTypeText(c.Type)
	if c.Collation != "" && !strings.Contains(strings.ToLower(typeText), "collate") {
		typeText += " COLLATE " + c.Collation
	}
	typ, err := planbuilder.ParseColumnTypeString(ctx, typeText)
	if err != nil && typeText != gmsTypeText(c.Type) {
		// A collation go-mysql-server does not know (MariaDB's uca1400 …):
		// the column keeps its type with the default collation.
		typ, err = planbuilder.ParseColumnTypeString(ctx, gmsTypeText(c.Type))
	}
	if err != nil {
		return nil, fmt.Errorf("column %s.%s: type %q: %w", table, c.Name, c.Type, err)
	}
	return &sql.Column{
		Name: c.Name, Type: typ, Nullable: c.Nullable, PrimaryKey: key,
		AutoIncrement: c.AutoIncrement, Comment: c.Comment,
		Source: table, DatabaseSource: ks,
	}, nil
}

// gmsTypeText rewrites the MySQL type texts go-mysql-server does not parse
// into the type it has for them:
//   - "year(4)" (MariaDB's and MySQL 5.7's YEAR) is YEAR;
//   - "time(n)": go-mysql-server has only TIME(6) (it parses "time" as
//     that and rejects "time(0)" … "time(5)"), so TIME columns of any
//     precision are TIME(6): the header says 6 decimals and values show six
//     fractional digits ("12:34:56.000000").
func gmsTypeText(t string) string {
	lower := strings.ToLower(strings.TrimSpace(t))
	for _, base := range []string{"year", "time"} {
		if strings.HasPrefix(lower, base+"(") {
			if j := strings.IndexByte(lower, ')'); j > 0 {
				return base + lower[j+1:]
			}
		}
	}
	return t
}

// converter turns an engine value into the Go value of a GMS column type.
type converter func(ctx *sql.Context, v any) (any, error)

// converterFor returns the conversion for one column. Engine values are
// strings, numbers, []byte and time.Time (package engines); the column's
// type converts them, exactly as it would a literal of that text.
func converterFor(col *sql.Column) converter {
	typ := col.Type
	enum, isEnum := typ.(sql.EnumType)
	temporal := types.IsTime(typ) // DATE, DATETIME, TIMESTAMP
	isJSON := types.IsJSON(typ)
	return func(ctx *sql.Context, v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		if s, ok := v.(string); ok && isJSON {
			if doc, ok := exactJSON(s); ok {
				return doc, nil
			}
		}
		if t, ok := v.(time.Time); ok && t.Location() != time.UTC {
			v = t.UTC()
		}
		out, _, err := typ.Convert(ctx, v)
		if err != nil {
			if s, ok := v.(string); ok {
				switch {
				case isEnum && s == "" && enum.IndexOf("") < 0:
					// The error value of an ENUM (index 0, '' in a SELECT),
					// which a non-strict sql_mode stores for a bad value.
					return uint16(0), nil
				case types.ErrLengthBeyondLimit.Is(err) && !types.IsBinaryType(typ):
					// go-mysql-server measures a CHAR or VARCHAR of a
					// single-byte character set (latin1 …), and every
					// TEXT, in bytes of UTF-8, not of the column's
					// character set: a latin1 VARCHAR(10) of ten 'é' is 20
					// bytes to it. The source holds the value, so it fits.
					return s, nil
				case temporal && zeroInDate(s):
					// A date with a zero month or day (2024-00-15), which
					// MySQL accepts unless sql_mode has NO_ZERO_IN_DATE:
					// go-mysql-server's values are time.Time, which cannot
					// hold it, so it becomes the zero date, as MySQL itself
					// stores such a date under NO_ZERO_IN_DATE.
					return types.ZeroTime, nil
				}
			}
			return nil, fmt.Errorf("column %s: value %v: %w", col.Name, v, err)
		}
		return out, nil
	}
}

// exactJSON parses a JSON text keeping its integers exact (go-mysql-server
// would make every number a double, so 9223372036854775807 would show as
// 9223372036854776000; MySQL keeps it). ok is false for text that is not
// JSON: the column type then says why.
func exactJSON(s string) (types.JSONDocument, bool) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return types.JSONDocument{}, false
	}
	return types.JSONDocument{Val: exactNumbers(v)}, true
}

// exactNumbers turns json.Numbers into int64 or uint64 when they are
// integers that fit, else float64.
func exactNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = exactNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = exactNumbers(x[k])
		}
	}
	return v
}

// zeroInDate reports whether a date text ("YYYY-MM-DD…") has a zero month
// or day.
func zeroInDate(s string) bool {
	return len(s) >= 10 && s[4] == '-' && s[7] == '-' && (s[5:7] == "00" || s[8:10] == "00")
}
