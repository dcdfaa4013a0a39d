package wtfperf

import (
	"bytes"
	"errors"
	"math"
	"os"
	"testing"
	"unsafe"
)

// A C length converts to Go with all its bits: C.GoBytes took a C int,
// so 2 GiB + 16 came out negative (a panic) and 4 GiB + 16 as 16.
func TestGoLenKeepsTheFullLength(t *testing.T) {
	cases := []uint64{0, 1, math.MaxInt32, math.MaxInt32 + 1, 1<<31 + 16, 1<<32 + 16}
	for _, n := range cases {
		if uint64(math.MaxInt) < n {
			continue // a 32-bit int: see the refusal below
		}
		got, ok := goLen(n)
		if !ok || uint64(got) != n {
			t.Errorf("goLen(%d) = %d, %v", n, got, ok)
		}
	}
	if _, ok := goLen(math.MaxUint64); ok {
		t.Error("goLen accepted a length above MaxInt")
	}
	// Refused before the pointer is touched.
	if _, err := copyFromC("op", nil, math.MaxUint64); !errors.Is(err, ErrInvalid) {
		t.Errorf("copyFromC of MaxUint64 bytes: %v, want ErrInvalid", err)
	}
	src := []byte("abc")
	got, err := copyFromC("op", unsafe.Pointer(&src[0]), 3)
	if err != nil || string(got) != "abc" {
		t.Fatalf("copyFromC = %q, %v", got, err)
	}
	src[0] = 'x'
	if string(got) != "abc" {
		t.Error("copyFromC did not copy")
	}
}

// The real round trip of a value over 2 GiB (about 9 GiB of memory at the
// peak): only with WTFPERF_BIG_TESTS=1.
func TestCacheGetValueOver2GiB(t *testing.T) {
	if os.Getenv("WTFPERF_BIG_TESTS") != "1" {
		t.Skip("set WTFPERF_BIG_TESTS=1 to round-trip a 2 GiB + 16 byte value")
	}
	c, err := OpenCache(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	value := make([]byte, 1<<31+16)
	copy(value[len(value)-16:], "0123456789abcdef")
	value[0] = 'S'
	if err := c.Set([]byte("big"), value, nil); err != nil {
		t.Fatal(err)
	}
	n := len(value)
	value = nil
	got, ok, err := c.Get([]byte("big"))
	if err != nil || !ok {
		t.Fatalf("Get: ok=%v err=%v", ok, err)
	}
	if len(got) != n || got[0] != 'S' || !bytes.Equal(got[n-16:], []byte("0123456789abcdef")) {
		t.Fatalf("Get returned %d bytes, want %d with the same ends", len(got), n)
	}
}
