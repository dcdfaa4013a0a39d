package wtfperf

/*
#include "shim.h"
*/
import "C"

import (
	"errors"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// ScanOptions configures Scan and Analyze. The zero value means the
// library defaults: all cores, content read and hashed, files over 10 MiB
// skipped, .gitignore and friends respected, hidden files and symlinks left
// out, callbacks on the calling goroutine one at a time, unsorted.
type ScanOptions struct {
	// Threads reading and hashing; 0 means all cores.
	Threads int
	// ChunkSize is the number of files a worker takes at once; 0 means the default.
	ChunkSize int
	// MaxFileSize in bytes; larger files are skipped (counted in
	// FilesSkipped). 0 means the default (10 MiB).
	MaxFileSize int64
	// SkipContent: do not read or hash files in Scan (File.Content is nil
	// and File.ContentHash zero). Analyze always reads what it must hash.
	SkipContent bool
	// FollowLinks follows symbolic links.
	FollowLinks bool
	// NoIgnoreFiles: do not honor .gitignore, .ignore and the like.
	NoIgnoreFiles bool
	// IncludeHidden includes hidden files and directories.
	IncludeHidden bool
	// Include keeps only files matching one of these globs (empty: all).
	Include []string
	// Exclude drops files matching one of these globs.
	Exclude []string
	// ParallelCallbacks delivers callbacks on the library's worker threads,
	// several at once: the callbacks must then be safe for concurrent use.
	// By default every callback runs on the calling goroutine's thread, one
	// at a time.
	ParallelCallbacks bool
	// Sorted delivers files in path order, deterministically.
	Sorted bool
	// MaxDepth is the deepest level entered: 1 = only the root's own
	// entries; 0 = no limit.
	MaxDepth int
	// SameFileSystem: do not cross into other file systems.
	SameFileSystem bool
}

func (o *ScanOptions) toC(op string, a *arena) (C.wtfperf_scan_options, error) {
	c := C.wtfperf_scan_options_default()
	if o == nil {
		return c, nil
	}
	if o.Threads < 0 || o.ChunkSize < 0 || o.MaxFileSize < 0 || o.MaxDepth < 0 {
		return c, errorf(op, StatusErrInvalid, "negative Threads, ChunkSize, MaxFileSize or MaxDepth")
	}
	if err := checkNUL(op, "glob", append(append([]string{}, o.Include...), o.Exclude...)...); err != nil {
		return c, err
	}
	if o.Threads != 0 {
		c.threads = C.size_t(o.Threads)
	}
	if o.ChunkSize != 0 {
		c.chunk_size = C.size_t(o.ChunkSize)
	}
	if o.MaxFileSize != 0 {
		c.max_file_size = C.uint64_t(o.MaxFileSize)
	}
	if o.SkipContent {
		c.include_content = false
	}
	if o.FollowLinks {
		c.follow_links = true
	}
	if o.NoIgnoreFiles {
		c.respect_ignore_files = false
	}
	if o.IncludeHidden {
		c.include_hidden = true
	}
	c.include_globs, c.include_globs_len = a.strs(o.Include)
	c.exclude_globs, c.exclude_globs_len = a.strs(o.Exclude)
	if o.ParallelCallbacks {
		c.callbacks_parallel = true
	}
	if o.Sorted {
		c.sorted = true
	}
	if o.MaxDepth != 0 {
		c.max_depth = C.size_t(o.MaxDepth)
	}
	if o.SameFileSystem {
		c.same_file_system = true
	}
	return c, nil
}

// File is one file handed to a callback. It is a Go copy: it stays valid
// after the callback returns.
type File struct {
	Path    string // root joined with RelPath
	RelPath string // relative to the scan root
	Size    uint64
	ModTime time.Time
	// ContentHash is the XXH3-128 digest of the content, canonical byte
	// order (what `xxhsum -H2` prints); zero when content was not read.
	ContentHash [16]byte
	// Content of the file; nil when it was not read (SkipContent, or a
	// cached file in Analyze's OnResult).
	Content  []byte
	Language string // language identifier such as "rust" or "python", "" when unknown
	Inode    uint64
}

// Progress of a scan.
type Progress struct {
	FilesDone  uint64
	FilesTotal uint64 // 0 while unknown
	BytesDone  uint64
}

// ScanSummary counts what a Scan or Analyze did.
type ScanSummary struct {
	FilesSeen    uint64 // regular files met by the walk, after filters
	FilesScanned uint64 // read and handed over
	FilesSkipped uint64 // over MaxFileSize
	Errors       uint64 // files that failed (unreadable, analyzer error)
	BytesRead    uint64
	CacheHits    uint64 // Analyze: files answered from the cache
	Duration     time.Duration
}

// StopScan, returned by an OnFile callback or an AnalyzeFunc, stops the
// run without an error: Scan or Analyze returns a nil error. An error
// wrapping StopScan (errors.Is, e.g. fmt.Errorf("limit: %w", StopScan))
// does the same.
var StopScan = errors.New("wtfperf: stop scan")

// ScanCallbacks receive a scan's files, errors and progress; nil ones are
// not called.
type ScanCallbacks struct {
	// OnFile gets every file. Returning a non-nil error stops the scan:
	// StopScan (or an error wrapping it) makes Scan return nil, any other
	// error is returned by Scan.
	OnFile func(f *File) error
	// OnError gets every problem (it never stops the scan): unreadable
	// files, dangling links and loops (ErrIO), files over MaxFileSize and
	// malformed ignore files (ErrInvalid, message starting "skipped:" for
	// the former). err is an *Error with the status, the library's message
	// and the path (path is "" when unknown).
	OnError func(path string, err error)
	// OnProgress is called now and then.
	OnProgress func(p Progress)
}

// AnalyzeFunc analyzes one file (only called for cache misses) and returns
// the result to cache. StopScan (or an error wrapping it) stops the whole
// run (Analyze returns nil).
// Any other error marks the file as failed: it is reported to OnError as an
// ErrCallback wrapping the error, counted in Errors, not cached, and the
// analysis goes on.
type AnalyzeFunc func(f *File) ([]byte, error)

// ResultFunc gets every file's result, cached or fresh. For a cached file
// f.Content is nil: the file was not read.
type ResultFunc func(f *File, result []byte, cached bool)

// AnalyzeCallbacks is the full form of Analyze's callbacks.
type AnalyzeCallbacks struct {
	Analyze    AnalyzeFunc
	OnResult   ResultFunc
	OnError    func(path string, err error)
	OnProgress func(p Progress)
}

// callState is the Go side of one native Scan/Analyze call, reached from
// the trampolines through a cgo.Handle. With ParallelCallbacks the
// callbacks run concurrently, hence the atomics and the mutex.
type callState struct {
	op         string
	onFile     func(*File) error
	onError    func(string, error)
	onProgress func(Progress)
	analyze    AnalyzeFunc
	onResult   ResultFunc

	stopped  int32 // atomic: a callback panicked or asked to stop
	mu       sync.Mutex
	panicked bool
	panicVal interface{}
	err      error // first non-StopScan error of OnFile

	analyzeErrs sync.Map // path -> the analyzer's error, for OnError
}

func (s *callState) isStopped() bool { return atomic.LoadInt32(&s.stopped) != 0 }

// protect runs a user callback; a panic is recovered and recorded (it is
// raised again once the native call has returned), and stops the call.
func (s *callState) protect(fn func()) (ok bool) {
	defer func() {
		if !ok {
			r := recover()
			s.mu.Lock()
			if !s.panicked {
				s.panicked = true
				s.panicVal = r
			}
			s.mu.Unlock()
			atomic.StoreInt32(&s.stopped, 1)
		}
	}()
	fn()
	return true
}

func (s *callState) stopWith(err error) {
	s.mu.Lock()
	if s.err == nil && !errors.Is(err, StopScan) {
		s.err = err
	}
	s.mu.Unlock()
	atomic.StoreInt32(&s.stopped, 1)
}

func (s *callState) rememberAnalyzeError(f *File, err error) {
	s.analyzeErrs.Store(f.Path, err)
	s.analyzeErrs.Store(f.RelPath, err)
}

// fileError is the error handed to OnError for path: the analyzer's own
// error when it failed that file, else the library's status and message.
func (s *callState) fileError(path string, st Status, message string) error {
	e := &Error{Op: s.op, Path: path, Status: st, Message: message}
	if st == StatusErrCallback {
		if cause, ok := s.analyzeErrs.Load(path); ok {
			e.Err = cause.(error)
			e.Message = e.Err.Error()
		}
	}
	return e
}

// finish turns the outcome of the native call into Go: a recorded panic is
// raised again here, on the caller's goroutine; then the library's error;
// then a callback's error.
func (s *callState) finish(st C.wtfperf_status, msg *C.char) error {
	err := check(s.op, st, msg)
	s.mu.Lock()
	panicked, val, cbErr := s.panicked, s.panicVal, s.err
	s.mu.Unlock()
	if panicked {
		panic(val)
	}
	if err != nil {
		return err
	}
	return cbErr
}

func (s *callState) flags() C.int {
	var f C.int
	if s.onFile != nil {
		f |= C.WTFGO_ON_FILE
	}
	if s.onError != nil {
		f |= C.WTFGO_ON_ERROR
	}
	if s.onProgress != nil {
		f |= C.WTFGO_ON_PROGRESS
	}
	if s.analyze != nil {
		f |= C.WTFGO_ANALYZE
	}
	if s.onResult != nil {
		f |= C.WTFGO_ON_RESULT
	}
	return f
}

func goSummary(s *C.wtfperf_scan_summary) ScanSummary {
	return ScanSummary{
		FilesSeen:    uint64(s.files_seen),
		FilesScanned: uint64(s.files_scanned),
		FilesSkipped: uint64(s.files_skipped),
		Errors:       uint64(s.errors),
		BytesRead:    uint64(s.bytes_read),
		CacheHits:    uint64(s.cache_hits),
		Duration:     time.Duration(float64(s.duration_s) * float64(time.Second)),
	}
}

// goBytes copies n bytes at p (nil when p is NULL), with the full length.
func goBytes(op string, p unsafe.Pointer, n C.size_t) ([]byte, error) {
	if p == nil {
		return nil, nil
	}
	return copyFromC(op, p, uint64(n))
}

func goFile(op string, f *C.wtfperf_file) (*File, error) {
	content, err := goBytes(op, unsafe.Pointer(f.content), f.content_len)
	if err != nil {
		return nil, err
	}
	file := &File{
		Path:    C.GoString(f.path),
		RelPath: C.GoString(f.rel_path),
		Size:    uint64(f.size),
		ModTime: time.Unix(0, int64(f.mtime_ns)),
		Content: content,
		Inode:   uint64(f.inode),
	}
	if f.language != nil {
		file.Language = C.GoString(f.language)
	}
	for i := range file.ContentHash {
		file.ContentHash[i] = byte(f.content_hash[i])
	}
	return file, nil
}

// Scan walks root in parallel (reading and hashing on worker threads) and
// calls cb for every file. A panic in a callback is recovered and raised
// again once the scan has returned; no callback runs after it. A panic in
// OnFile stops the scan at once; one in OnError or OnProgress (which cannot
// return a stop to the library) stops it at the next file handed to OnFile,
// so without OnFile the whole tree is still walked. nil opts mean the
// defaults. The summary is filled even when a callback stopped the scan.
func Scan(root string, opts *ScanOptions, cb ScanCallbacks) (ScanSummary, error) {
	const op = "scan"
	if err := checkNUL(op, "root", root); err != nil {
		return ScanSummary{}, err
	}
	var a arena
	defer a.free()
	co, err := opts.toC(op, &a)
	if err != nil {
		return ScanSummary{}, err
	}
	s := &callState{op: op, onFile: cb.OnFile, onError: cb.OnError, onProgress: cb.OnProgress}
	h := cgo.NewHandle(s)
	defer h.Delete()
	var sum C.wtfperf_scan_summary
	var msg *C.char
	st := C.wtfgo_scan(a.str(root), &co, C.uintptr_t(h), s.flags(), &sum, &msg)
	err = s.finish(st, msg)
	return goSummary(&sum), err
}

// Analyze runs analyze on every file of root that the cache has no result
// for (keyed by analyzerID, relative path and content hash), stores the
// results, and calls onResult for every file, cached or not. cache may be
// nil (then every file is analyzed). Panics in the callbacks are carried
// across like in Scan: the analyzer plays the part of OnFile, so a panic in
// OnResult, OnError or OnProgress stops the run at the next cache miss, and
// a run where every file is cached walks the whole tree first.
func Analyze(root string, opts *ScanOptions, cache *Cache, analyzerID string, analyze AnalyzeFunc, onResult ResultFunc) (ScanSummary, error) {
	return runAnalyze("analyze", root, opts, cache, analyzerID, AnalyzeCallbacks{Analyze: analyze, OnResult: onResult})
}

// AnalyzeWith is Analyze with every callback, including errors and progress.
func AnalyzeWith(root string, opts *ScanOptions, cache *Cache, analyzerID string, cb AnalyzeCallbacks) (ScanSummary, error) {
	return runAnalyze("analyze_with", root, opts, cache, analyzerID, cb)
}

func runAnalyze(op, root string, opts *ScanOptions, cache *Cache, analyzerID string, cb AnalyzeCallbacks) (ScanSummary, error) {
	if err := checkNUL(op, "root or analyzer id", root, analyzerID); err != nil {
		return ScanSummary{}, err
	}
	var a arena
	defer a.free()
	co, err := opts.toC(op, &a)
	if err != nil {
		return ScanSummary{}, err
	}
	var cc *C.wtfperf_cache
	if cache != nil {
		cc, err = cache.h.acquire(op)
		if err != nil {
			return ScanSummary{}, err
		}
		defer cache.h.release()
	}
	s := &callState{op: op, analyze: cb.Analyze, onResult: cb.OnResult, onError: cb.OnError, onProgress: cb.OnProgress}
	h := cgo.NewHandle(s)
	defer h.Delete()
	var sum C.wtfperf_scan_summary
	var msg *C.char
	var st C.wtfperf_status
	if op == "analyze" {
		st = C.wtfgo_analyze(a.str(root), &co, cc, a.str(analyzerID), C.uintptr_t(h), s.flags(), &sum, &msg)
	} else {
		st = C.wtfgo_analyze_with(a.str(root), &co, cc, a.str(analyzerID), C.uintptr_t(h), s.flags(), &sum, &msg)
	}
	err = s.finish(st, msg)
	return goSummary(&sum), err
}
