package wtfperf

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Status is a wtfperf_status code. OK, Miss and Aborted are outcomes; the
// negative codes are errors.
type Status int32

// The library's status codes.
const (
	StatusOK          Status = C.WTFPERF_OK
	StatusMiss        Status = C.WTFPERF_MISS
	StatusAborted     Status = C.WTFPERF_ABORTED
	StatusErrNull     Status = C.WTFPERF_ERR_NULL
	StatusErrInvalid  Status = C.WTFPERF_ERR_INVALID
	StatusErrIO       Status = C.WTFPERF_ERR_IO
	StatusErrStore    Status = C.WTFPERF_ERR_STORE
	StatusErrState    Status = C.WTFPERF_ERR_STATE
	StatusErrPanic    Status = C.WTFPERF_ERR_PANIC
	StatusErrCallback Status = C.WTFPERF_ERR_CALLBACK
)

// String is the code's name, e.g. "WTFPERF_ERR_NULL".
func (s Status) String() string {
	return C.GoString(C.wtfperf_status_str(C.wtfperf_status(s)))
}

// Error is a failed wtfperf call: the status code and the library's message
// (wtfperf_last_error, read in the same native call). Op names the binding
// operation that failed; Path is set for errors about one file (scan and
// analyze callbacks); Err is the Go error behind a failed callback, if any.
type Error struct {
	Op      string
	Path    string
	Status  Status
	Message string
	Err     error
}

func (e *Error) Error() string {
	s := "wtfperf"
	if e.Op != "" {
		s += ": " + e.Op
	}
	if e.Path != "" {
		s += ": " + e.Path
	}
	s += ": " + e.Status.String()
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns the Go error behind a failed callback (or nil).
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrInvalid) (and the other status sentinels) true
// for any *Error with that status.
func (e *Error) Is(target error) bool {
	if target == ErrClosed {
		return e.Status == ErrClosed.Status && e.Message == ErrClosed.Message
	}
	t, ok := target.(*Error)
	if !ok || t.Op != "" || t.Path != "" || t.Message != "" || t.Err != nil {
		return false
	}
	return t.Status == e.Status
}

// Sentinels for errors.Is: an error matches the sentinel of its status.
var (
	ErrNull     = &Error{Status: StatusErrNull}
	ErrInvalid  = &Error{Status: StatusErrInvalid}
	ErrIO       = &Error{Status: StatusErrIO}
	ErrStore    = &Error{Status: StatusErrStore}
	ErrState    = &Error{Status: StatusErrState}
	ErrPanic    = &Error{Status: StatusErrPanic}
	ErrCallback = &Error{Status: StatusErrCallback}
)

// ErrClosed is returned by methods of a handle after Close, of a nil
// handle, and by Exit of a zero Scope: errors.Is(err, ErrClosed) holds, and
// the error returned names the operation. It is also an ErrState.
var ErrClosed = &Error{Status: StatusErrState, Message: "use of a closed handle"}

// closedErr is ErrClosed for the operation op (errors.Is(err, ErrClosed)
// holds): a call on a closed handle, a nil handle or a zero Scope.
func closedErr(op string) error {
	return &Error{Op: op, Status: ErrClosed.Status, Message: ErrClosed.Message}
}

// check turns a status and the message the shim copied (may be nil; freed
// here) into an error; non-negative statuses are not errors.
func check(op string, st C.wtfperf_status, msg *C.char) error {
	if msg != nil {
		defer free(unsafe.Pointer(msg))
	}
	if st >= 0 {
		return nil
	}
	m := ""
	if msg != nil {
		m = C.GoString(msg)
	}
	return &Error{Op: op, Status: Status(st), Message: m}
}

// errorf builds an *Error raised by the binding itself (e.g. bad Go input).
func errorf(op string, st Status, format string, args ...interface{}) error {
	return &Error{Op: op, Status: st, Message: fmt.Sprintf(format, args...)}
}
