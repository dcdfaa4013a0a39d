package wtfperf

/*
#include "shim.h"
*/
import "C"

import (
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// finalized counts handles closed by their finalizer (a test hook: a
// finalizer is only a backstop for a forgotten Close).
var finalized int64

// backstop is the finalizer body of every handle type.
func backstop(closeFn func() error) {
	atomic.AddInt64(&finalized, 1)
	_ = closeFn()
}

// handle guards a native pointer. Every call holds a use of it for the
// whole native call; Close refuses new uses (they get ErrClosed), waits for
// the uses in progress, then frees the pointer once. So a Close racing a call
// on another goroutine never frees memory under it, and a callback of that
// call touching the same handle gets ErrClosed instead of a deadlock. Close
// is idempotent.
type handle[T any] struct {
	mu      sync.Mutex
	idle    *sync.Cond // signalled when uses drops to 0 while closing
	p       *T
	uses    int
	closing bool
}

// acquire returns the live pointer and counts a use; call release when the
// native call is over. After (or during) Close it returns ErrClosed for
// the operation op.
func (h *handle[T]) acquire(op string) (*T, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.p == nil || h.closing {
		return nil, closedErr(op)
	}
	h.uses++
	return h.p, nil
}

func (h *handle[T]) release() {
	h.mu.Lock()
	h.uses--
	if h.uses == 0 && h.closing {
		h.idle.Broadcast()
	}
	h.mu.Unlock()
}

// close frees the pointer once, after the uses in progress; later calls
// (and concurrent ones) return once it is freed.
func (h *handle[T]) close(freeFn func(*T)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.idle == nil {
		h.idle = sync.NewCond(&h.mu)
	}
	if h.closing {
		for h.p != nil {
			h.idle.Wait()
		}
		return
	}
	if h.p == nil {
		return
	}
	h.closing = true
	for h.uses > 0 {
		h.idle.Wait()
	}
	freeFn(h.p)
	h.p = nil
	h.closing = false
	h.idle.Broadcast()
}

// isClosing reports whether a Close is waiting for uses to end (tests).
func (h *handle[T]) isClosing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closing
}

// arena collects C allocations made for one native call and frees them
// together.
type arena struct{ ptrs []unsafe.Pointer }

// str returns a C copy of s. Strings with a NUL byte cannot cross the C
// boundary; checkNUL rejects them before.
func (a *arena) str(s string) *C.char {
	p := C.CString(s)
	a.ptrs = append(a.ptrs, unsafe.Pointer(p))
	return p
}

// optStr is str, or NULL for "".
func (a *arena) optStr(s string) *C.char {
	if s == "" {
		return nil
	}
	return a.str(s)
}

// strs returns a C array of C strings (NULL, 0 for an empty list).
func (a *arena) strs(ss []string) (**C.char, C.size_t) {
	if len(ss) == 0 {
		return nil, 0
	}
	size := C.size_t(len(ss)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))
	base := C.malloc(size)
	a.ptrs = append(a.ptrs, base)
	view := unsafe.Slice((**C.char)(base), len(ss))
	for i, s := range ss {
		view[i] = a.str(s)
	}
	return (**C.char)(base), C.size_t(len(ss))
}

func (a *arena) free() {
	for _, p := range a.ptrs {
		C.free(p)
	}
	a.ptrs = nil
}

// checkNUL returns ErrInvalid when a string meant for C holds a NUL byte
// (it would be cut short silently).
func checkNUL(op, what string, ss ...string) error {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			return errorf(op, StatusErrInvalid, "%s contains a NUL byte: %q", what, s)
		}
	}
	return nil
}

// ptrArray returns n NULL pointers in C memory.
func (a *arena) ptrArray(n int) []unsafe.Pointer {
	base := C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(unsafe.Pointer(nil))))
	a.ptrs = append(a.ptrs, base)
	return unsafe.Slice((*unsafe.Pointer)(base), n)
}

// sizeArray returns n zero size_t values in C memory.
func (a *arena) sizeArray(n int) []C.size_t {
	base := C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(C.size_t(0))))
	a.ptrs = append(a.ptrs, base)
	return unsafe.Slice((*C.size_t)(base), n)
}

// bytes returns a C copy of b ((NULL, 0) when empty).
func (a *arena) bytes(b []byte) (unsafe.Pointer, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	p := C.CBytes(b)
	a.ptrs = append(a.ptrs, p)
	return p, C.size_t(len(b))
}

// entryOptions returns a C copy of o.
func (a *arena) entryOptions(o C.wtfperf_entry_options) unsafe.Pointer {
	p := C.malloc(C.size_t(unsafe.Sizeof(o)))
	a.ptrs = append(a.ptrs, p)
	*(*C.wtfperf_entry_options)(p) = o
	return p
}
