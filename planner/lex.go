package planner

import "strings"

// keyword is the statement keyword this package owns. parseSelect relies
// on it having as many bytes as "SELECT ".
const keyword = "VSTREAM"

// IsVStream reports whether the first keyword of query, after blanks and
// comments (/* */, -- and #), is VSTREAM in any case.
func IsVStream(query string) bool {
	i, _ := skipFiller(query, 0)
	return keywordAt(query, i)
}

// keywordAt reports whether the VSTREAM keyword starts at s[i] and is not
// the start of a longer word.
func keywordAt(s string, i int) bool {
	end := i + len(keyword)
	if end > len(s) || !strings.EqualFold(s[i:end], keyword) {
		return false
	}
	return end == len(s) || !isWordByte(s[end])
}

// isWordByte reports whether c can continue an unquoted identifier.
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '$' || c >= 0x80
}

// isBlank matches the blanks the SQL tokenizer skips.
func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// skipFiller returns the index of the first byte at or after i that is
// neither a blank nor part of a comment, and the /* */ comments it passed.
// Like the SQL tokenizer, it takes "--" to start a comment whether or not a
// blank follows. An unterminated /* comment is not skipped.
func skipFiller(s string, i int) (int, []string) {
	var comments []string
	for i < len(s) {
		switch {
		case isBlank(s[i]):
			i++
		case s[i] == '#' || strings.HasPrefix(s[i:], "--"):
			i = lineEnd(s, i)
		case strings.HasPrefix(s[i:], "/*"):
			end := blockEnd(s, i)
			if end < 0 {
				return i, comments
			}
			comments = append(comments, s[i:end])
			i = end
		default:
			return i, comments
		}
	}
	return i, comments
}

// lineEnd returns the index just after the end of the line holding s[i].
func lineEnd(s string, i int) int {
	if n := strings.IndexByte(s[i:], '\n'); n >= 0 {
		return i + n + 1
	}
	return len(s)
}

// blockEnd returns the index just after the "*/" closing the comment that
// starts at s[i] ("/*"), or -1 if it is not closed.
func blockEnd(s string, i int) int {
	if n := strings.Index(s[i+2:], "*/"); n >= 0 {
		return i + 2 + n + 2
	}
	return -1
}

// quoteEnd returns the index just after the quoted string or identifier
// that starts at s[i], or len(s) if it is not closed. Backslash escapes
// the next byte in '...' and "..." but not in `...`; a doubled quote is
// read as a closed quote followed by a new one, which ends at the same
// place.
func quoteEnd(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case q:
			return j + 1
		case '\\':
			if q != '`' {
				j++
			}
		}
	}
	return len(s)
}
