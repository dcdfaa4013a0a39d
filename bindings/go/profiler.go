package wtfperf

/*
#include "shim.h"
*/
import "C"

import (
	"runtime"
	"time"
	"unsafe"
)

// ProfilerOptions configures a Profiler. The zero value means the library
// defaults (a sample every 0.1 s, no heap tracing).
type ProfilerOptions struct {
	// SampleInterval between two samples of RSS, CPU and heap; 0 means the
	// default (100ms).
	SampleInterval time.Duration
	// TraceMemory reads the heap at every scope enter and exit, giving each
	// scope's heap growth and the profile's memory traces (slower scopes).
	TraceMemory bool
	// IncludeChildren adds live descendant processes (forked workers) to
	// RSS and CPU.
	IncludeChildren bool
	// MaxSamples kept in the timeline (at least 2); when reached the
	// resolution halves. 0 means the default (65536).
	MaxSamples int
	// MaxScopeEvents kept as trace events; later scopes still count in the
	// aggregates. 0 means the default (100000); negative keeps none
	// (aggregates only).
	MaxScopeEvents int
}

func (o *ProfilerOptions) toC() C.wtfperf_profiler_options {
	c := C.wtfperf_profiler_options_default()
	if o == nil {
		return c
	}
	if o.SampleInterval != 0 {
		c.sample_interval_s = C.double(o.SampleInterval.Seconds())
	}
	c.trace_memory = C.bool(o.TraceMemory)
	c.include_children = C.bool(o.IncludeChildren)
	if o.MaxSamples > 0 {
		c.max_samples = C.size_t(o.MaxSamples)
	} else if o.MaxSamples < 0 {
		c.max_samples = 0 // the library refuses it: WTFPERF_ERR_INVALID
	}
	if o.MaxScopeEvents > 0 {
		c.max_scope_events = C.size_t(o.MaxScopeEvents)
	} else if o.MaxScopeEvents < 0 {
		c.max_scope_events = 0
	}
	return c
}

// Profiler samples this process's RSS, CPU and heap on a native background
// thread between Start and Stop, and times named scopes. It may be used from
// several goroutines at once.
type Profiler struct {
	h handle[C.wtfperf_profiler]
}

// acquire is h.acquire for a Profiler that may be nil (ErrClosed for op).
func (p *Profiler) acquire(op string) (*C.wtfperf_profiler, error) {
	if p == nil {
		return nil, closedErr(op)
	}
	return p.h.acquire(op)
}

// NewProfiler creates a profiler; nil options mean the defaults.
func NewProfiler(opts *ProfilerOptions) (*Profiler, error) {
	copts := opts.toC()
	var out *C.wtfperf_profiler
	var msg *C.char
	st := C.wtfgo_profiler_new(&copts, &out, &msg)
	if err := check("profiler_new", st, msg); err != nil {
		return nil, err
	}
	p := &Profiler{}
	p.h.p = out
	runtime.SetFinalizer(p, func(p *Profiler) { backstop(p.Close) })
	return p, nil
}

// Close releases the profiler (stopping its sampler if running). It is
// idempotent; methods return ErrClosed afterwards.
func (p *Profiler) Close() error {
	if p == nil {
		return nil
	}
	p.h.close(func(c *C.wtfperf_profiler) { C.wtfperf_profiler_free(c) })
	runtime.SetFinalizer(p, nil)
	return nil
}

// Start begins sampling. Starting a running profiler is an ErrState.
func (p *Profiler) Start() error {
	c, err := p.acquire("profiler_start")
	if err != nil {
		return err
	}
	defer p.h.release()
	var msg *C.char
	return check("profiler_start", C.wtfgo_profiler_start(c, &msg), msg)
}

// IsRunning reports whether the profiler is between Start and Stop.
func (p *Profiler) IsRunning() bool {
	c, err := p.acquire("profiler_is_running")
	if err != nil {
		return false
	}
	defer p.h.release()
	return bool(C.wtfperf_profiler_is_running(c))
}

// SampleNow takes a sample now (besides the sampler thread's), records it
// in the timeline and returns it. ErrState when not running.
func (p *Profiler) SampleNow() (Sample, error) {
	c, err := p.acquire("profiler_sample_now")
	if err != nil {
		return Sample{}, err
	}
	defer p.h.release()
	var s C.wtfperf_sample
	var msg *C.char
	if err := check("profiler_sample_now", C.wtfgo_profiler_sample_now(c, &s, &msg), msg); err != nil {
		return Sample{}, err
	}
	return goSample(&s), nil
}

// Stop ends sampling and returns the finished profile (close it when done).
// Stopping a profiler that is not running is an ErrState.
func (p *Profiler) Stop() (*Profile, error) {
	c, err := p.acquire("profiler_stop")
	if err != nil {
		return nil, err
	}
	defer p.h.release()
	var out *C.wtfperf_profile
	var msg *C.char
	if err := check("profiler_stop", C.wtfgo_profiler_stop(c, &out, &msg), msg); err != nil {
		return nil, err
	}
	return newProfile(out), nil
}

// Scope is an open timed scope; Exit closes it.
type Scope struct {
	p     *Profiler
	token uint64
}

// Enter opens a named scope, timed until Exit (the profiler must be
// running, else ErrState). Scopes nest:
//
//	s, err := prof.Enter("parse")
//	...
//	err = s.Exit()
func (p *Profiler) Enter(name string) (*Scope, error) {
	const op = "profiler_enter"
	if p == nil {
		return nil, closedErr(op)
	}
	if err := checkNUL("profiler_scope_enter", "scope name", name); err != nil {
		return nil, err
	}
	c, err := p.h.acquire(op)
	if err != nil {
		return nil, err
	}
	defer p.h.release()
	n := cstr(name)
	defer free(unsafe.Pointer(n))
	var tok C.uint64_t
	var msg *C.char
	if err := check("profiler_scope_enter", C.wtfgo_profiler_scope_enter(c, n, &tok, &msg), msg); err != nil {
		return nil, err
	}
	return &Scope{p: p, token: uint64(tok)}, nil
}

// ScopeID is a scope name interned by ScopeID, for hot loops.
type ScopeID uint32

// ScopeID interns name once (whether or not the profiler runs); EnterID
// then skips the name lookup. The id is valid for this profiler's lifetime.
func (p *Profiler) ScopeID(name string) (ScopeID, error) {
	const op = "profiler_scope_id"
	if p == nil {
		return 0, closedErr(op)
	}
	if err := checkNUL(op, "scope name", name); err != nil {
		return 0, err
	}
	c, err := p.h.acquire(op)
	if err != nil {
		return 0, err
	}
	defer p.h.release()
	n := cstr(name)
	defer free(unsafe.Pointer(n))
	var id C.uint32_t
	var msg *C.char
	if err := check(op, C.wtfgo_profiler_scope_id(c, n, &id, &msg), msg); err != nil {
		return 0, err
	}
	return ScopeID(id), nil
}

// EnterID is Enter by an interned name.
func (p *Profiler) EnterID(id ScopeID) (*Scope, error) {
	c, err := p.acquire("profiler_enter_id")
	if err != nil {
		return nil, err
	}
	defer p.h.release()
	var tok C.uint64_t
	var msg *C.char
	if err := check("profiler_scope_enter_id", C.wtfgo_profiler_scope_enter_id(c, C.uint32_t(id), &tok, &msg), msg); err != nil {
		return nil, err
	}
	return &Scope{p: p, token: uint64(tok)}, nil
}

// Exit closes the scope (from any goroutine). Exiting a scope twice is an
// ErrInvalid.
func (s *Scope) Exit() error {
	const op = "profiler_scope_exit"
	if s == nil || s.p == nil {
		return closedErr(op)
	}
	c, err := s.p.h.acquire(op)
	if err != nil {
		return err
	}
	defer s.p.h.release()
	var msg *C.char
	return check(op, C.wtfgo_profiler_scope_exit(c, C.uint64_t(s.token), &msg), msg)
}

// Time runs fn inside a scope named name (the scope is closed even if fn
// panics) and returns fn's error, or the scope's.
func (p *Profiler) Time(name string, fn func() error) (err error) {
	s, err := p.Enter(name)
	if err != nil {
		return err
	}
	defer func() {
		if exitErr := s.Exit(); err == nil {
			err = exitErr
		}
	}()
	return fn()
}

// Sample is one point of a profile's timeline.
type Sample struct {
	// T is the time since Start.
	T          time.Duration
	RSSBytes   uint64
	CPUPercent float64 // of one core, as psutil counts it (two busy cores read 200)
	HeapBytes  uint64
}

// Profile is a finished, immutable profiling result. Its accessors may be
// called from several goroutines. Close releases it (idempotent); accessors
// return zero values after Close.
type Profile struct {
	h handle[C.wtfperf_profile]
}

// acquire is h.acquire for a Profile that may be nil (ErrClosed for op).
func (p *Profile) acquire(op string) (*C.wtfperf_profile, error) {
	if p == nil {
		return nil, closedErr(op)
	}
	return p.h.acquire(op)
}

func newProfile(c *C.wtfperf_profile) *Profile {
	p := &Profile{}
	p.h.p = c
	runtime.SetFinalizer(p, func(p *Profile) { backstop(p.Close) })
	return p
}

// Close releases the profile.
func (p *Profile) Close() error {
	if p == nil {
		return nil
	}
	p.h.close(func(c *C.wtfperf_profile) { C.wtfperf_profile_free(c) })
	runtime.SetFinalizer(p, nil)
	return nil
}

func (p *Profile) float(f func(*C.wtfperf_profile) C.double) float64 {
	c, err := p.acquire("profile_accessor")
	if err != nil {
		return 0
	}
	defer p.h.release()
	return float64(f(c))
}

// Duration is the time between Start and Stop.
func (p *Profile) Duration() time.Duration {
	s := p.float(func(c *C.wtfperf_profile) C.double { return C.wtfperf_profile_duration_s(c) })
	return time.Duration(s * float64(time.Second))
}

// CPUTime is the CPU time the process used between Start and Stop.
func (p *Profile) CPUTime() time.Duration {
	s := p.float(func(c *C.wtfperf_profile) C.double { return C.wtfperf_profile_cpu_time_s(c) })
	return time.Duration(s * float64(time.Second))
}

// PeakIsExact reports whether PeakMemoryMB is the kernel's exact
// high-water mark rather than the highest sample.
func (p *Profile) PeakIsExact() bool {
	c, err := p.acquire("profile_peak_is_exact")
	if err != nil {
		return false
	}
	defer p.h.release()
	return bool(C.wtfperf_profile_peak_is_exact(c))
}

// PeakMemoryMB is the peak RSS in MiB.
func (p *Profile) PeakMemoryMB() float64 {
	return p.float(func(c *C.wtfperf_profile) C.double { return C.wtfperf_profile_peak_memory_mb(c) })
}

// AvgMemoryMB is the mean sampled RSS in MiB.
func (p *Profile) AvgMemoryMB() float64 {
	return p.float(func(c *C.wtfperf_profile) C.double { return C.wtfperf_profile_avg_memory_mb(c) })
}

// AvgCPUPercent is the mean CPU use, in percent of one core.
func (p *Profile) AvgCPUPercent() float64 {
	return p.float(func(c *C.wtfperf_profile) C.double { return C.wtfperf_profile_avg_cpu_percent(c) })
}

// SampleCount is the number of samples in the timeline.
func (p *Profile) SampleCount() int {
	c, err := p.acquire("profile_sample_count")
	if err != nil {
		return 0
	}
	defer p.h.release()
	return int(C.wtfperf_profile_sample_count(c))
}

// Sample returns sample i (0 <= i < SampleCount()).
func (p *Profile) Sample(i int) (Sample, error) {
	const op = "profile_sample"
	if p == nil {
		return Sample{}, closedErr(op)
	}
	if i < 0 {
		return Sample{}, errorf("profile_sample", StatusErrInvalid, "negative sample index %d", i)
	}
	c, err := p.h.acquire(op)
	if err != nil {
		return Sample{}, err
	}
	defer p.h.release()
	var s C.wtfperf_sample
	var msg *C.char
	if err := check(op, C.wtfgo_profile_sample(c, C.size_t(i), &s, &msg), msg); err != nil {
		return Sample{}, err
	}
	return goSample(&s), nil
}

func goSample(s *C.wtfperf_sample) Sample {
	return Sample{
		T:          seconds(s.t_s),
		RSSBytes:   uint64(s.rss_bytes),
		CPUPercent: float64(s.cpu_percent),
		HeapBytes:  uint64(s.heap_bytes),
	}
}

// seconds converts a C duration in seconds.
func seconds(s C.double) time.Duration { return time.Duration(float64(s) * float64(time.Second)) }

// Samples returns the whole timeline.
func (p *Profile) Samples() ([]Sample, error) {
	if p == nil {
		return nil, closedErr("profile_samples")
	}
	n := p.SampleCount()
	out := make([]Sample, 0, n)
	for i := 0; i < n; i++ {
		s, err := p.Sample(i)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (p *Profile) buf(op string, f func(*C.wtfperf_profile, *C.wtfperf_buf, **C.char) C.wtfperf_status) ([]byte, error) {
	c, err := p.acquire(op)
	if err != nil {
		return nil, err
	}
	defer p.h.release()
	var b C.wtfperf_buf
	var msg *C.char
	if err := check(op, f(c, &b, &msg), msg); err != nil {
		return nil, err
	}
	return takeBuf(op, &b)
}

// JSON is the profile as JSON: timeline, scopes, memory traces.
func (p *Profile) JSON() ([]byte, error) {
	return p.buf("profile_to_json", func(c *C.wtfperf_profile, b *C.wtfperf_buf, m **C.char) C.wtfperf_status {
		return C.wtfgo_profile_to_json(c, b, m)
	})
}

// ChromeTrace is the profile in Chrome trace-event JSON (open it in Perfetto
// or chrome://tracing).
func (p *Profile) ChromeTrace() ([]byte, error) {
	return p.buf("profile_to_chrome_trace", func(c *C.wtfperf_profile, b *C.wtfperf_buf, m **C.char) C.wtfperf_status {
		return C.wtfgo_profile_to_chrome_trace(c, b, m)
	})
}

// ProfileManager collects named profiles and summarizes them.
type ProfileManager struct {
	h handle[C.wtfperf_profile_manager]
}

// acquire is h.acquire for a ProfileManager that may be nil (ErrClosed for op).
func (p *ProfileManager) acquire(op string) (*C.wtfperf_profile_manager, error) {
	if p == nil {
		return nil, closedErr(op)
	}
	return p.h.acquire(op)
}

// NewProfileManager creates an empty manager.
func NewProfileManager() (*ProfileManager, error) {
	var out *C.wtfperf_profile_manager
	var msg *C.char
	if err := check("profile_manager_new", C.wtfgo_profile_manager_new(&out, &msg), msg); err != nil {
		return nil, err
	}
	m := &ProfileManager{}
	m.h.p = out
	runtime.SetFinalizer(m, func(m *ProfileManager) { backstop(m.Close) })
	return m, nil
}

// Close releases the manager (idempotent).
func (m *ProfileManager) Close() error {
	if m == nil {
		return nil
	}
	m.h.close(func(c *C.wtfperf_profile_manager) { C.wtfperf_profile_manager_free(c) })
	runtime.SetFinalizer(m, nil)
	return nil
}

// Add records profile under name. The manager keeps its own copy: the
// profile may be closed afterwards.
func (m *ProfileManager) Add(name string, p *Profile) error {
	const op = "profile_manager_add"
	if m == nil {
		return closedErr(op)
	}
	if err := checkNUL("profile_manager_add", "profile name", name); err != nil {
		return err
	}
	if p == nil {
		return errorf("profile_manager_add", StatusErrNull, "nil profile")
	}
	c, err := m.h.acquire(op)
	if err != nil {
		return err
	}
	defer m.h.release()
	pc, err := p.h.acquire(op)
	if err != nil {
		return err
	}
	defer p.h.release()
	n := cstr(name)
	defer free(unsafe.Pointer(n))
	var msg *C.char
	return check(op, C.wtfgo_profile_manager_add(c, n, pc, &msg), msg)
}

// SummaryJSON summarizes every added profile as JSON.
func (m *ProfileManager) SummaryJSON() ([]byte, error) {
	c, err := m.acquire("profile_manager_summary_json")
	if err != nil {
		return nil, err
	}
	defer m.h.release()
	var b C.wtfperf_buf
	var msg *C.char
	if err := check("profile_manager_summary_json", C.wtfgo_profile_manager_summary_json(c, &b, &msg), msg); err != nil {
		return nil, err
	}
	return takeBuf("profile_manager_summary_json", &b)
}
