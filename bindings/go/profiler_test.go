package wtfperf

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// workload allocates and touches ~64 MiB and burns CPU for about d.
func workload(d time.Duration) int {
	blocks := make([][]byte, 0, 64)
	for i := 0; i < 64; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i)
		}
		blocks = append(blocks, b)
	}
	x := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := 0; i < 10000; i++ {
			x += i * i % 7
		}
	}
	for _, b := range blocks {
		x += int(b[0])
	}
	return x
}

func TestProfileWorkload(t *testing.T) {
	p, err := NewProfiler(&ProfilerOptions{SampleInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); !errors.Is(err, ErrState) {
		t.Fatalf("second Start: %v, want ErrState", err)
	}
	err = p.Time("workload", func() error { workload(400 * time.Millisecond); return nil })
	if err != nil {
		t.Fatal(err)
	}
	prof, err := p.Stop()
	if err != nil {
		t.Fatal(err)
	}
	defer prof.Close()

	if d := prof.Duration(); d < 400*time.Millisecond || d > 30*time.Second {
		t.Errorf("Duration = %v", d)
	}
	n := prof.SampleCount()
	if n < 3 {
		t.Fatalf("only %d samples in 400ms at 20ms", n)
	}
	samples, err := prof.Samples()
	if err != nil || len(samples) != n {
		t.Fatalf("Samples: %d, %v", len(samples), err)
	}
	for i, s := range samples {
		if s.RSSBytes == 0 {
			t.Errorf("sample %d has no RSS", i)
		}
		if i > 0 && s.T < samples[i-1].T {
			t.Errorf("timeline goes back at %d", i)
		}
	}
	if peak, avg := prof.PeakMemoryMB(), prof.AvgMemoryMB(); peak <= 0 || avg <= 0 || peak+0.01 < avg {
		t.Errorf("peak %.1f MiB, avg %.1f MiB", peak, avg)
	}
	if cpu := prof.AvgCPUPercent(); cpu <= 0 {
		t.Errorf("avg CPU %.1f%% during a busy loop", cpu)
	}
	// A loose bound: the machine may be busy with other work.
	if cpu := prof.CPUTime(); cpu < 10*time.Millisecond {
		t.Errorf("CPU time %v for a 400ms busy loop", cpu)
	}
	t.Logf("duration %v, %d samples, peak %.1f MiB (exact %v), avg %.1f MiB, cpu %.0f%%",
		prof.Duration(), n, prof.PeakMemoryMB(), prof.PeakIsExact(), prof.AvgMemoryMB(), prof.AvgCPUPercent())
	if _, err := prof.Sample(n); err == nil {
		t.Error("Sample(n) out of range gave no error")
	}

	js, err := prof.JSON()
	if err != nil || !json.Valid(js) || !strings.Contains(string(js), "workload") {
		t.Fatalf("JSON (%v): %.300s", err, js)
	}
	trace, err := prof.ChromeTrace()
	if err != nil || !json.Valid(trace) || !strings.Contains(string(trace), "workload") {
		t.Fatalf("ChromeTrace (%v): %.300s", err, trace)
	}

	if _, err := p.Stop(); !errors.Is(err, ErrState) {
		t.Fatalf("Stop without Start: %v, want ErrState", err)
	}
	prof.Close()
	prof.Close()
	if prof.Duration() != 0 || prof.SampleCount() != 0 {
		t.Fatal("a closed profile still answers")
	}
	if _, err := prof.JSON(); !errors.Is(err, ErrClosed) {
		t.Fatalf("JSON after Close: %v", err)
	}
}

func TestProfilerErrorsAndClose(t *testing.T) {
	if _, err := NewProfiler(&ProfilerOptions{SampleInterval: -time.Second}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative interval: %v", err)
	}
	_, err := NewProfiler(&ProfilerOptions{MaxSamples: 1})
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusErrInvalid || e.Message == "" {
		t.Fatalf("max_samples 1: %v", err)
	}
	p, err := NewProfiler(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Enter("a\x00b"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NUL in scope name: %v", err)
	}
	if _, err := p.Enter("not running"); !errors.Is(err, ErrState) {
		t.Fatalf("Enter before Start: %v, want ErrState", err)
	}
	if _, err := p.SampleNow(); !errors.Is(err, ErrState) {
		t.Fatalf("SampleNow before Start: %v, want ErrState", err)
	}
	if p.IsRunning() {
		t.Fatal("IsRunning before Start")
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if !p.IsRunning() {
		t.Fatal("not IsRunning after Start")
	}
	if s, err := p.SampleNow(); err != nil || s.RSSBytes == 0 {
		t.Fatalf("SampleNow = %+v, %v", s, err)
	}
	id, err := p.ScopeID("by id")
	if err != nil {
		t.Fatal(err)
	}
	byID, err := p.EnterID(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := byID.Exit(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.EnterID(id + 1000); !errors.Is(err, ErrInvalid) {
		t.Fatalf("EnterID with an unknown id: %v", err)
	}
	s, err := p.Enter("once")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Exit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Exit(); !errors.Is(err, ErrInvalid) {
		t.Errorf("exiting a scope twice: %v, want ErrInvalid", err)
	}
	p.Close() // while running: stops it
	if p.IsRunning() {
		t.Fatal("IsRunning after Close")
	}
	p.Close()
	if err := p.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
	if _, err := p.Enter("x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enter after Close: %v", err)
	}
}

func TestProfileManager(t *testing.T) {
	m, err := NewProfileManager()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, name := range []string{"parse", "index"} {
		p, err := NewProfiler(&ProfilerOptions{SampleInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		workload(50 * time.Millisecond)
		prof, err := p.Stop()
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Add(name, prof); err != nil {
			t.Fatal(err)
		}
		prof.Close() // the manager keeps its own copy
		p.Close()
		if err := m.Add(name, prof); !errors.Is(err, ErrClosed) {
			t.Fatalf("adding a closed profile: %v", err)
		}
	}
	js, err := m.SummaryJSON()
	if err != nil || !json.Valid(js) {
		t.Fatalf("SummaryJSON (%v): %s", err, js)
	}
	for _, name := range []string{"parse", "index"} {
		if !strings.Contains(string(js), name) {
			t.Errorf("summary lacks %q: %.300s", name, js)
		}
	}
	if err := m.Add("x", nil); !errors.Is(err, ErrNull) {
		t.Fatalf("nil profile: %v", err)
	}
}
