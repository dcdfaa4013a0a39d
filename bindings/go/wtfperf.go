// Package wtfperf is the Go binding of wtfperf, the native performance core
// for code-analysis tools: a sampling profiler, an analysis-result cache
// (memory LRU over SQLite, invalidated by file content), and a parallel,
// gitignore-aware scanner with incremental analysis.
//
// The package links libwtfperf at build time through cgo. By default it
// looks in the repository's build tree (target/release, then target/debug,
// relative to this directory) and records those directories as rpaths;
// point it elsewhere with CGO_LDFLAGS (see the README). At init it checks
// that the library's MAJOR.MINOR version matches the one this binding was
// written for, and panics with a clear message otherwise.
//
// Every fallible method returns an error that is a *Error carrying the
// library's status code and message, except that Scan returns the error of
// its OnFile callback as is (unwrapped). Handles (Profiler, Profile,
// ProfileManager, Cache) have an idempotent Close; a finalizer closes a
// forgotten handle as a backstop only.
package wtfperf

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -L${SRCDIR}/../../target/debug -Wl,-rpath,${SRCDIR}/../../target/release -Wl,-rpath,${SRCDIR}/../../target/debug -lwtfperf
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"math"
	"strings"
	"unsafe"
)

// The API version this binding was written for: the library must have the
// same MAJOR.MINOR.
const (
	APIVersionMajor = 0
	APIVersionMinor = 1
)

// Version is the version string of the loaded library, e.g. "0.1.0".
func Version() string {
	return C.GoString(C.wtfperf_version())
}

// checkVersion reports whether a library version string is one this binding
// can use.
func checkVersion(v string) error {
	want := fmt.Sprintf("%d.%d.", APIVersionMajor, APIVersionMinor)
	if !strings.HasPrefix(v, want) {
		return fmt.Errorf("wtfperf: the loaded libwtfperf is version %q, but this Go binding needs %d.%d.x; "+
			"rebuild the library or point CGO_LDFLAGS/LD_LIBRARY_PATH at a matching libwtfperf.so",
			v, APIVersionMajor, APIVersionMinor)
	}
	return nil
}

func init() {
	if err := checkVersion(Version()); err != nil {
		panic(err)
	}
	// The header this package was compiled against must agree with the binding too.
	if C.WTFPERF_VERSION_MAJOR != APIVersionMajor || C.WTFPERF_VERSION_MINOR != APIVersionMinor {
		panic(fmt.Sprintf("wtfperf: include/wtfperf.h is version %d.%d, this Go binding needs %d.%d",
			C.WTFPERF_VERSION_MAJOR, C.WTFPERF_VERSION_MINOR, APIVersionMajor, APIVersionMinor))
	}
}

// cstr returns a C copy of s; the caller frees it with C.free.
func cstr(s string) *C.char { return C.CString(s) }

func free(p unsafe.Pointer) { C.free(p) }

// takeBuf copies a library buffer into Go memory and releases it. op names
// the operation for the error of a buffer too long for a Go slice.
func takeBuf(op string, b *C.wtfperf_buf) ([]byte, error) {
	defer C.wtfperf_buf_free(b)
	if b.data == nil {
		return []byte{}, nil
	}
	return copyFromC(op, unsafe.Pointer(b.data), uint64(b.len))
}

// goLen converts a C length to a Go one, or reports that it does not fit
// in an int (only possible where int is 32 bits wide).
func goLen(n uint64) (int, bool) {
	if n > uint64(math.MaxInt) {
		return 0, false
	}
	return int(n), true
}

// copyFromC copies n bytes at p (C memory) into a new Go slice, with the
// full length: C.GoBytes takes a C int, which would truncate a length of
// 2 GiB or more. A length that does not fit in an int is an ErrInvalid.
func copyFromC(op string, p unsafe.Pointer, n uint64) ([]byte, error) {
	l, ok := goLen(n)
	if !ok {
		return nil, errorf(op, StatusErrInvalid, "a native buffer of %d bytes is too long for a Go slice", n)
	}
	b := make([]byte, l)
	if l > 0 {
		copy(b, unsafe.Slice((*byte)(p), l))
	}
	return b, nil
}

// bytesArg returns a (pointer, length) pair for input bytes. A nil or empty
// slice gives (NULL, 0), which the library reads as an empty slice. The
// pointer refers to Go memory without Go pointers, so it may be passed to C
// for the duration of one call.
func bytesArg(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

// debugForcePanic makes the library panic inside its guard (a test hook).
func debugForcePanic(message string) error {
	if err := checkNUL("debug_force_panic", "message", message); err != nil {
		return err
	}
	m := cstr(message)
	defer free(unsafe.Pointer(m))
	var msg *C.char
	st := C.wtfgo_debug_force_panic(m, &msg)
	return check("debug_force_panic", st, msg)
}
