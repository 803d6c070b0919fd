package engines

import (
	"errors"
	"fmt"
)

// Sentinels engines wrap (with %w) so callers can tell failures apart with
// errors.Is. The server maps them to MySQL error codes.
var (
	// ErrTableNotFound: the source has no such table.
	ErrTableNotFound = errors.New("table not found")
	// ErrBadPosition: a position is malformed or belongs to another source.
	ErrBadPosition = errors.New("bad position")
	// ErrPositionUnavailable: the source no longer holds the changes after a
	// position (binlog purged, WAL recycled, CDC retention passed, embedded
	// log trimmed).
	ErrPositionUnavailable = errors.New("position no longer available")
	// ErrSourceUnavailable: the source cannot be reached or refused us.
	ErrSourceUnavailable = errors.New("source unavailable")
	// ErrMisconfigured: the source is reachable but not set up for change
	// streaming (binlog off, wal_level, privileges, CDC disabled …); the
	// message names the fix.
	ErrMisconfigured = errors.New("source not configured for streaming")
	// ErrUnsupported: the request is valid SQL but this engine cannot do it.
	ErrUnsupported = errors.New("not supported")
)

// PositionError wraps a stream failure with the last position the stream
// had passed, so the caller can name where to resume.
type PositionError struct {
	Pos Position
	Err error
}

func (e *PositionError) Error() string {
	if e.Pos == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("stream error after position %s: %v", e.Pos, e.Err)
}

func (e *PositionError) Unwrap() error { return e.Err }

// AtPosition wraps err with pos (nil stays nil). An error that already
// names its position keeps it: the innermost knows best.
func AtPosition(pos Position, err error) error {
	if err == nil {
		return nil
	}
	var pe *PositionError
	if errors.As(err, &pe) {
		return err
	}
	return &PositionError{Pos: pos, Err: err}
}

// kindError is an error with a message of its own that still matches a
// sentinel with errors.Is.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// Errorf returns an error whose message is the formatted text alone (no
// sentinel prefix) and which wraps kind.
func Errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
