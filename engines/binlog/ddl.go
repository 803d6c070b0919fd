package binlog

import (
	"regexp"
	"strings"
)

// DDL statements name their tables in a few places; this finds them well
// enough to tell streams of a table that its definition changed. (A miss
// costs little: row events carry their column count, and names with
// binlog_row_metadata=FULL.)
var ddlTable = regexp.MustCompile("(?is)^\\s*(?:/\\*.*?\\*/\\s*)*(?:" +
	"(?:CREATE|ALTER|DROP|TRUNCATE|RENAME|OPTIMIZE|REPAIR)\\s+(?:ONLINE\\s+|IGNORE\\s+|TEMPORARY\\s+|OR\\s+REPLACE\\s+)*TABLES?\\s+(?:IF\\s+(?:NOT\\s+)?EXISTS\\s+)?" +
	"|TRUNCATE\\s+)")

// nameRe reads one (possibly qualified, possibly quoted) table name.
var nameRe = regexp.MustCompile("^\\s*((?:`[^`]+`|[A-Za-z0-9_$]+)(?:\\s*\\.\\s*(?:`[^`]+`|[A-Za-z0-9_$]+))?)")

var truncateRe = regexp.MustCompile(`(?is)^\s*(?:/\*.*?\*/\s*)*TRUNCATE\b`)

// isTruncate reports whether a statement is TRUNCATE [TABLE].
func isTruncate(q string) bool { return truncateRe.MatchString(q) }

// ddlTables returns the tables of database db a DDL statement touches.
func ddlTables(q, defaultDB, db string) []string {
	loc := ddlTable.FindStringIndex(q)
	if loc == nil {
		return nil
	}
	var out []string
	rest := q[loc[1]:]
	for {
		m := nameRe.FindStringSubmatch(rest)
		if m == nil {
			break
		}
		schema, table := splitQualified(m[1], defaultDB)
		if strings.EqualFold(schema, db) {
			out = append(out, table)
		}
		rest = strings.TrimSpace(rest[len(m[0]):])
		// RENAME TABLE a TO b, c TO d; DROP TABLE a, b
		switch {
		case strings.HasPrefix(rest, ","):
			rest = rest[1:]
		case len(rest) > 3 && strings.EqualFold(rest[:3], "TO "):
			rest = rest[3:]
		default:
			return out
		}
	}
	return out
}

func splitQualified(name, defaultDB string) (string, string) {
	unquote := func(s string) string {
		s = strings.TrimSpace(s)
		if len(s) >= 2 && s[0] == '`' {
			return strings.ReplaceAll(s[1:len(s)-1], "``", "`")
		}
		return s
	}
	if i := strings.Index(name, "."); i >= 0 && !strings.HasPrefix(strings.TrimSpace(name), "`") || strings.Contains(name, "`.") {
		if i := strings.LastIndex(name, "."); i >= 0 {
			return unquote(name[:i]), unquote(name[i+1:])
		}
	}
	return defaultDB, unquote(name)
}
