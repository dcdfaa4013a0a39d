package wtfperf

// Go functions the C trampolines of shim.c call. Their userdata is a
// cgo.Handle (never a Go pointer) naming the Go state of the native call in
// progress. A file with //export may only declare C functions in its
// preamble, so the trampolines themselves live in shim.c.

/*
#include "shim.h"
*/
import "C"

import (
	"errors"
	"runtime/cgo"
	"unsafe"
)

//export wtfgoOnPath
func wtfgoOnPath(h C.uintptr_t, path *C.char) {
	col := cgo.Handle(h).Value().(*pathCollector)
	col.paths = append(col.paths, C.GoString(path))
}

//export wtfgoOnFile
func wtfgoOnFile(h C.uintptr_t, f *C.wtfperf_file) C.int32_t {
	s := cgo.Handle(h).Value().(*callState)
	if s.isStopped() {
		return 1
	}
	file, err := goFile(s.op, f)
	if err != nil {
		s.stopWith(err)
		return 1
	}
	if !s.protect(func() { err = s.onFile(file) }) {
		return 1
	}
	if err != nil {
		s.stopWith(err)
		return 1
	}
	return 0
}

//export wtfgoOnError
func wtfgoOnError(h C.uintptr_t, path *C.char, code C.wtfperf_status, message *C.char) {
	s := cgo.Handle(h).Value().(*callState)
	if s.isStopped() {
		return
	}
	p := C.GoString(path)
	err := s.fileError(p, Status(code), C.GoString(message))
	s.protect(func() { s.onError(p, err) })
}

//export wtfgoOnProgress
func wtfgoOnProgress(h C.uintptr_t, p *C.wtfperf_progress) {
	s := cgo.Handle(h).Value().(*callState)
	if s.isStopped() {
		return
	}
	pr := Progress{FilesDone: uint64(p.files_done), FilesTotal: uint64(p.files_total), BytesDone: uint64(p.bytes_done)}
	s.protect(func() { s.onProgress(pr) })
}

//export wtfgoAnalyze
func wtfgoAnalyze(h C.uintptr_t, f *C.wtfperf_file, sink *C.wtfperf_sink) C.int32_t {
	// WTFPERF_ABORTED stops the whole run; any other nonzero value fails
	// only this file.
	const stop, failed = C.int32_t(C.WTFPERF_ABORTED), C.int32_t(1)
	s := cgo.Handle(h).Value().(*callState)
	if s.isStopped() {
		return stop
	}
	file, err := goFile(s.op, f)
	if err != nil {
		s.stopWith(err)
		return stop
	}
	var result []byte
	if !s.protect(func() { result, err = s.analyze(file) }) {
		return stop
	}
	if errors.Is(err, StopScan) {
		s.stopWith(err)
		return stop
	}
	if err != nil {
		s.rememberAnalyzeError(file, err)
		return failed
	}
	p, n := bytesArg(result)
	var msg *C.char
	if err := check("sink_write", C.wtfgo_sink_write(sink, p, n, &msg), msg); err != nil {
		s.rememberAnalyzeError(file, err)
		return failed
	}
	return 0
}

//export wtfgoOnResult
func wtfgoOnResult(h C.uintptr_t, f *C.wtfperf_file, result *C.uint8_t, n C.size_t, cached C.bool) {
	s := cgo.Handle(h).Value().(*callState)
	if s.isStopped() {
		return
	}
	file, err := goFile(s.op, f)
	var r []byte
	if err == nil {
		r, err = goBytes(s.op, unsafe.Pointer(result), n)
	}
	if err != nil {
		// No return value to stop the run with: the next per-file
		// callback sees the stop.
		s.stopWith(err)
		return
	}
	s.protect(func() { s.onResult(file, r, bool(cached)) })
}
