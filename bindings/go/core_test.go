package wtfperf

import (
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestVersionMatchesBinding(t *testing.T) {
	v := Version()
	if err := checkVersion(v); err != nil {
		t.Fatalf("loaded library fails the version check: %v", err)
	}
	if !strings.HasPrefix(v, "0.1.") {
		t.Fatalf("Version() = %q", v)
	}
}

func TestCheckVersionRefusesOtherMinor(t *testing.T) {
	for _, v := range []string{"0.2.0", "1.1.0", "0.10.0", "", "garbage"} {
		err := checkVersion(v)
		if err == nil {
			t.Errorf("checkVersion(%q) accepted an incompatible version", v)
			continue
		}
		if !strings.Contains(err.Error(), "0.1.x") {
			t.Errorf("checkVersion(%q) message does not say what is needed: %v", v, err)
		}
	}
	if err := checkVersion("0.1.7"); err != nil {
		t.Errorf("checkVersion(0.1.7) = %v", err)
	}
}

func TestStatusNames(t *testing.T) {
	cases := map[Status]string{
		StatusOK:          "WTFPERF_OK",
		StatusMiss:        "WTFPERF_MISS",
		StatusAborted:     "WTFPERF_ABORTED",
		StatusErrNull:     "WTFPERF_ERR_NULL",
		StatusErrInvalid:  "WTFPERF_ERR_INVALID",
		StatusErrIO:       "WTFPERF_ERR_IO",
		StatusErrStore:    "WTFPERF_ERR_STORE",
		StatusErrState:    "WTFPERF_ERR_STATE",
		StatusErrPanic:    "WTFPERF_ERR_PANIC",
		StatusErrCallback: "WTFPERF_ERR_CALLBACK",
		Status(12345):     "WTFPERF_UNKNOWN",
	}
	for st, want := range cases {
		if got := st.String(); got != want {
			t.Errorf("Status(%d).String() = %q, want %q", int32(st), got, want)
		}
	}
}

func TestForcedPanicIsAnError(t *testing.T) {
	err := debugForcePanic("boom from go")
	if err == nil {
		t.Fatal("forced panic returned nil")
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error is %T, want *Error", err)
	}
	if e.Status != StatusErrPanic {
		t.Fatalf("status = %v, want WTFPERF_ERR_PANIC", e.Status)
	}
	if !strings.Contains(e.Message, "boom from go") {
		t.Fatalf("message %q does not carry the panic text", e.Message)
	}
	if !errors.Is(err, ErrPanic) || errors.Is(err, ErrInvalid) {
		t.Fatalf("errors.Is does not follow the status: %v", err)
	}
	if !strings.Contains(err.Error(), "WTFPERF_ERR_PANIC") {
		t.Fatalf("Error() = %q", err.Error())
	}
	// The library stays usable after a caught panic.
	if Version() == "" {
		t.Fatal("library unusable after a panic")
	}
}

// The message must be the one of this call, even when many goroutines fail
// at once with different messages (the last error is per OS thread, and a
// goroutine may change threads between two cgo calls).
func TestLastErrorReadInSameCall(t *testing.T) {
	const n = 8
	errs := make(chan error, n*20)
	done := make(chan struct{})
	for g := 0; g < n; g++ {
		go func(g int) {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 20; i++ {
				want := "msg-" + strings.Repeat("x", g) + "-end"
				err := debugForcePanic(want)
				var e *Error
				if !errors.As(err, &e) || !strings.Contains(e.Message, want) {
					errs <- errors.New("goroutine got a foreign message: " + e.Message)
					return
				}
			}
		}(g)
	}
	for g := 0; g < n; g++ {
		<-done
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestErrorsIsSentinels(t *testing.T) {
	e := &Error{Op: "x", Status: StatusErrIO, Message: "disk on fire"}
	if !errors.Is(e, ErrIO) {
		t.Error("ErrIO not matched")
	}
	if errors.Is(e, ErrStore) {
		t.Error("ErrStore matched an IO error")
	}
	if !errors.Is(ErrClosed, ErrState) {
		t.Error("ErrClosed is not an ErrState")
	}
	if errors.Is(&Error{Status: StatusErrState, Message: "other"}, ErrClosed) {
		t.Error("any state error matched ErrClosed")
	}
}

// A handle that is never closed is closed by its finalizer.
func TestFinalizerBackstop(t *testing.T) {
	before := atomic.LoadInt64(&finalized)
	func() {
		c, err := OpenCache(nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Set([]byte("k"), []byte("v"), nil)
		p, err := NewProfiler(nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = p
	}()
	deadline := time.Now().Add(5 * time.Second)
	for atomic.LoadInt64(&finalized) < before+2 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := atomic.LoadInt64(&finalized) - before; got < 2 {
		t.Fatalf("%d handles finalized, want 2", got)
	}
	// A closed handle's finalizer is cleared: Close then GC does not count.
	before = atomic.LoadInt64(&finalized)
	func() {
		c, _ := OpenCache(nil)
		c.Close()
	}()
	for i := 0; i < 5; i++ {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	if got := atomic.LoadInt64(&finalized) - before; got != 0 {
		t.Fatalf("a closed handle was finalized %d times", got)
	}
}
