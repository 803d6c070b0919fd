package engines

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrInternal: a panic inside vstreamd (a bug, or input no decoder
// expected) ended one stream; the server goes on.
var ErrInternal = errors.New("internal error")

// PanicError is a panic recovered at a goroutine's boundary: it ends the
// stream it happened in, as an error, instead of the process.
type PanicError struct {
	Where string // what the goroutine was doing
	Value any    // what was panicked with
	Stack []byte // the goroutine's stack at the panic, for the log
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error in %s: %v (a bug in vstreamd: the server log has its stack)", e.Where, e.Value)
}

func (e *PanicError) Unwrap() error { return ErrInternal }

// Recover turns a panic into a *PanicError in *err. Defer it at the top of
// every goroutine that reads or decodes a stream:
//
//	go func() {
//		var err error
//		defer func() { done(err) }()
//		defer engines.Recover("the change stream of t", &err)
//		err = read()
//	}()
func Recover(where string, err *error) {
	if p := recover(); p != nil {
		*err = NewPanic(where, p)
	}
}

// NewPanic is the error of a panic with value p, recovered where the
// caller says (with the stack of the goroutine that calls NewPanic: call
// it in the deferred function that recovered).
func NewPanic(where string, p any) *PanicError {
	return &PanicError{Where: where, Value: p, Stack: debug.Stack()}
}
