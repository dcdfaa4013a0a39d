package wtfperf

import (
	"errors"
	"strings"
	"testing"
)

// Methods of nil handles and a zero Scope return ErrClosed naming the
// operation (or are no-ops) instead of crashing.
func TestNilHandlesAreClosed(t *testing.T) {
	var c *Cache
	var p *Profiler
	if _, _, err := c.Get([]byte("k")); !errors.Is(err, ErrClosed) || !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "cache_get") {
		t.Errorf("nil Cache.Get: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("nil Cache.Close: %v", err)
	}
	if err := p.Start(); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "profiler_start") {
		t.Errorf("nil Profiler.Start: %v", err)
	}
	if p.IsRunning() {
		t.Error("nil Profiler is running")
	}
	if err := (&Scope{}).Exit(); !errors.Is(err, ErrClosed) {
		t.Errorf("zero Scope.Exit: %v", err)
	}
	var prof *Profile
	if prof.Duration() != 0 || prof.SampleCount() != 0 || prof.PeakIsExact() || prof.Close() != nil {
		t.Error("nil Profile")
	}
	if _, err := prof.JSON(); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "profile_to_json") {
		t.Errorf("nil Profile.JSON: %v", err)
	}
	var m *ProfileManager
	if _, err := m.SummaryJSON(); !errors.Is(err, ErrClosed) {
		t.Errorf("nil ProfileManager.SummaryJSON: %v", err)
	}
}

// Methods of a handle already closed (not nil) return ErrClosed naming the
// operation, as for nil handles.
func TestClosedHandlesNameTheOperation(t *testing.T) {
	c, err := OpenCache(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get([]byte("k")); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "cache_get") {
		t.Errorf("closed Cache.Get: %v", err)
	}
	if err := c.Set([]byte("k"), []byte("v"), nil); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "cache_set") {
		t.Errorf("closed Cache.Set: %v", err)
	}
	if _, err := Analyze(t.TempDir(), nil, c, "a/1", nil, nil); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "analyze") {
		t.Errorf("Analyze with a closed cache: %v", err)
	}
	p, err := NewProfiler(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "profiler_start") {
		t.Errorf("closed Profiler.Start: %v", err)
	}
}
