package engines

import (
	"net/url"
	"strings"
)

// Redacted stands for a secret taken out of a message.
const Redacted = "[redacted]"

// Scrub removes a source's password from text an engine did not write
// itself (a driver's or a server's message): as written, and in the forms
// a URL escapes it to. Engines name a source by host and port, or by its
// URL without the password, and pass foreign text through Scrub before it
// goes into an error or a log record.
func Scrub(msg, password string) string {
	if password == "" {
		return msg
	}
	forms := []string{password, url.QueryEscape(password), url.PathEscape(password),
		strings.TrimPrefix(url.UserPassword("", password).String(), ":")}
	for _, f := range forms {
		msg = strings.ReplaceAll(msg, f, Redacted)
	}
	return msg
}
