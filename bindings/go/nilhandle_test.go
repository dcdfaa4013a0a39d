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
	if prof.Duration() != 0 || prof.Close() != nil {
		t.Error("nil Profile")
	}
	var m *ProfileManager
	if _, err := m.SummaryJSON(); !errors.Is(err, ErrClosed) {
		t.Errorf("nil ProfileManager.SummaryJSON: %v", err)
	}
}
