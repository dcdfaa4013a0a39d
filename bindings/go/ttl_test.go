package wtfperf

import (
	"errors"
	"testing"
	"time"
)

// A negative entry TTL other than NoExpiry is ErrInvalid, as in
// CacheOptions (it used to mean "the default" silently).
func TestNegativeEntryTTLIsInvalid(t *testing.T) {
	c, err := OpenCache(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Set([]byte("k"), []byte("v"), &EntryOptions{TTL: -3 * time.Second}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Set with TTL -3s: %v, want ErrInvalid", err)
	}
	if _, ok, _ := c.Get([]byte("k")); ok {
		t.Error("the entry with a negative TTL was stored")
	}
	if err := c.Set([]byte("k"), []byte("v"), &EntryOptions{TTL: NoExpiry}); err != nil {
		t.Errorf("Set with NoExpiry: %v", err)
	}
	if _, err := OpenCache(&CacheOptions{MemoryTTL: -5 * time.Second}); !errors.Is(err, ErrInvalid) {
		t.Errorf("OpenCache with MemoryTTL -5s: %v, want ErrInvalid", err)
	}
}
