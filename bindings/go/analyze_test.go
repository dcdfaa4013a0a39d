package wtfperf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// lineCounter is a toy analyzer: "<lines> lines".
func lineCounter(calls *int) AnalyzeFunc {
	return func(f *File) ([]byte, error) {
		*calls++
		return []byte(strings.Repeat("L", bytes.Count(f.Content, []byte("\n")))), nil
	}
}

type analyzeRun struct {
	analyzed int
	results  map[string][]byte
	cached   map[string]bool
	sum      ScanSummary
}

func runAnalyzer(t *testing.T, root string, cache *Cache, id string) analyzeRun {
	t.Helper()
	r := analyzeRun{results: map[string][]byte{}, cached: map[string]bool{}}
	sum, err := Analyze(root, smallTreeOptions(), cache, id, lineCounter(&r.analyzed),
		func(f *File, result []byte, cached bool) {
			rel := filepath.ToSlash(f.RelPath)
			r.results[rel] = result
			r.cached[rel] = cached
			if cached && f.Content != nil {
				t.Errorf("%s: cached file has content", rel)
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	r.sum = sum
	return r
}

func TestAnalyzeTwiceSecondRunAllCached(t *testing.T) {
	root := smallTree(t)
	cache, err := OpenCache(&CacheOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()

	first := runAnalyzer(t, root, cache, "lines-v1")
	if first.analyzed != 4 || first.sum.CacheHits != 0 || len(first.results) != 4 {
		t.Fatalf("first run: analyzed %d, summary %+v", first.analyzed, first.sum)
	}
	for rel, c := range first.cached {
		if c {
			t.Errorf("first run: %s reported cached", rel)
		}
	}
	if string(first.results["sub/c.rs"]) != "L" {
		t.Errorf("result of sub/c.rs = %q", first.results["sub/c.rs"])
	}

	second := runAnalyzer(t, root, cache, "lines-v1")
	if second.analyzed != 0 {
		t.Fatalf("second run analyzed %d files, want 0", second.analyzed)
	}
	if second.sum.CacheHits != 4 || second.sum.FilesSeen != 5 {
		t.Fatalf("second run summary %+v", second.sum)
	}
	if !reflect.DeepEqual(first.results, second.results) {
		t.Fatalf("cached results differ: %v vs %v", second.results, first.results)
	}
	for rel, c := range second.cached {
		if !c {
			t.Errorf("second run: %s not cached", rel)
		}
	}

	// A changed file is analyzed again; the others stay cached.
	if err := os.WriteFile(filepath.Join(root, "a.py"), []byte("print(1)\nprint(2)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	third := runAnalyzer(t, root, cache, "lines-v1")
	if third.analyzed != 1 || third.cached["a.py"] || string(third.results["a.py"]) != "LL" || third.sum.CacheHits != 3 {
		t.Fatalf("after a change: analyzed %d, results %v, summary %+v", third.analyzed, third.results, third.sum)
	}
	// A new analyzer version misses everything.
	if v2 := runAnalyzer(t, root, cache, "lines-v2"); v2.analyzed != 4 {
		t.Fatalf("new analyzer id analyzed %d files, want 4", v2.analyzed)
	}
}

func TestAnalyzeWithoutCache(t *testing.T) {
	root := smallTree(t)
	for i := 0; i < 2; i++ {
		if r := runAnalyzer(t, root, nil, "lines"); r.analyzed != 4 || r.sum.CacheHits != 0 {
			t.Fatalf("run %d without cache: analyzed %d, %+v", i, r.analyzed, r.sum)
		}
	}
}

func TestAnalyzeWithErrorsAndParallel(t *testing.T) {
	root := smallTree(t)
	cache, err := OpenCache(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	refuse := errors.New("refusing go files")
	var mu sync.Mutex
	var errs []error
	results := 0
	cb := AnalyzeCallbacks{
		Analyze: func(f *File) ([]byte, error) {
			if strings.HasSuffix(f.RelPath, ".go") {
				return nil, refuse
			}
			return []byte("ok"), nil
		},
		OnResult: func(*File, []byte, bool) { mu.Lock(); results++; mu.Unlock() },
		OnError: func(path string, err error) {
			if errors.Is(err, ErrInvalid) { // the skip of big.bin
				return
			}
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		},
	}
	sum, err := AnalyzeWith(root, &ScanOptions{MaxFileSize: 1024, ParallelCallbacks: true}, cache, "picky", cb)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Errors != 1 || len(errs) != 1 || results != 3 {
		t.Fatalf("summary %+v, errors %v, %d results", sum, errs, results)
	}
	var e *Error
	if !errors.As(errs[0], &e) || e.Status != StatusErrCallback || !strings.HasSuffix(e.Path, "b.go") {
		t.Fatalf("error reported = %#v", errs[0])
	}
	if !errors.Is(errs[0], refuse) || !errors.Is(errs[0], ErrCallback) {
		t.Fatalf("reported error does not wrap the analyzer's error: %v", errs[0])
	}
	// The failed file was not cached: it is analyzed again, the rest is not.
	again := 0
	cb.Analyze = func(f *File) ([]byte, error) { again++; return []byte("ok"), nil }
	cb.OnError = nil
	sum, err = AnalyzeWith(root, &ScanOptions{MaxFileSize: 1024}, cache, "picky", cb)
	if err != nil || again != 1 || sum.CacheHits != 3 {
		t.Fatalf("rerun: analyzed %d, %+v, %v", again, sum, err)
	}
}

func TestPanicInAnalyzerIsReRaised(t *testing.T) {
	root := smallTree(t)
	cache, err := OpenCache(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	calls := 0
	var recovered interface{}
	func() {
		defer func() { recovered = recover() }()
		_, _ = Analyze(root, smallTreeOptions(), cache, "boom", func(*File) ([]byte, error) {
			calls++
			panic("analyzer boom")
		}, nil)
		t.Error("Analyze returned after a panic")
	}()
	if recovered != "analyzer boom" {
		t.Fatalf("recovered %v", recovered)
	}
	if calls != 1 {
		t.Errorf("analyzer ran %d times after panicking", calls)
	}
	// Nothing was cached for the panicking analyzer.
	n := 0
	if _, err := Analyze(root, smallTreeOptions(), cache, "boom", lineCounter(&n), nil); err != nil || n != 4 {
		t.Fatalf("after the panic: analyzed %d, %v", n, err)
	}
}

func TestPanicInResultCallbackIsReRaised(t *testing.T) {
	root := smallTree(t)
	var recovered interface{}
	n := 0
	results := 0
	func() {
		defer func() { recovered = recover() }()
		_, _ = Analyze(root, smallTreeOptions(), nil, "x", lineCounter(&n), func(*File, []byte, bool) {
			results++
			panic(errors.New("result boom"))
		})
	}()
	if e, ok := recovered.(error); !ok || e.Error() != "result boom" {
		t.Fatalf("recovered %v", recovered)
	}
	if results != 1 {
		t.Errorf("OnResult ran %d times after panicking", results)
	}
}

func TestAnalyzeErrors(t *testing.T) {
	root := smallTree(t)
	cache, err := OpenCache(nil)
	if err != nil {
		t.Fatal(err)
	}
	cache.Close()
	if _, err := Analyze(root, nil, cache, "id", func(*File) ([]byte, error) { return nil, nil }, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("closed cache: %v", err)
	}
	if _, err := Analyze(filepath.Join(root, "nope"), nil, nil, "id", func(*File) ([]byte, error) { return nil, nil }, nil); err == nil {
		t.Errorf("missing root: no error")
	}
	if _, err := Analyze(root, nil, nil, "id\x00", nil, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("NUL in id: %v", err)
	}
}

func TestAnalyzerStopScan(t *testing.T) {
	root := smallTree(t)
	calls, results := 0, 0
	_, err := Analyze(root, smallTreeOptions(), nil, "stopper", func(*File) ([]byte, error) {
		calls++
		if calls == 2 {
			return nil, StopScan
		}
		return []byte("x"), nil
	}, func(*File, []byte, bool) { results++ })
	if err != nil || calls != 2 || results != 1 {
		t.Fatalf("StopScan from the analyzer: err %v, %d calls, %d results", err, calls, results)
	}
}
