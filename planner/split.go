package planner

import "strings"

// SplitFirst splits a multi-statement string after its first statement:
// first is the text before the first ';' that is outside quotes and
// comments, rest the text after it. With no such ';', first is query and
// rest is "".
func SplitFirst(query string) (first, rest string) {
	for i := 0; i < len(query); {
		switch c := query[i]; {
		case c == ';':
			return query[:i], query[i+1:]
		case c == '\'' || c == '"' || c == '`':
			i = quoteEnd(query, i)
		case c == '#' || strings.HasPrefix(query[i:], "--"):
			i = lineEnd(query, i)
		case strings.HasPrefix(query[i:], "/*"):
			if i = blockEnd(query, i); i < 0 {
				return query, ""
			}
		default:
			i++
		}
	}
	return query, ""
}
