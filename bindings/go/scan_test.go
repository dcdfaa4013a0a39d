package wtfperf

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestScanSmallTreeExactCounts(t *testing.T) {
	root := smallTree(t)
	var got []string
	var problems []error
	files := map[string]*File{}
	sum, err := Scan(root, smallTreeOptions(), ScanCallbacks{
		OnFile: func(f *File) error {
			got = append(got, filepath.ToSlash(f.RelPath))
			files[filepath.ToSlash(f.RelPath)] = f
			return nil
		},
		OnError: func(path string, err error) { problems = append(problems, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, smallTreeScanned) {
		t.Fatalf("files (sorted) = %v, want %v", got, smallTreeScanned)
	}
	want := ScanSummary{FilesSeen: 5, FilesScanned: 4, FilesSkipped: 1, Errors: 0}
	if sum.FilesSeen != want.FilesSeen || sum.FilesScanned != want.FilesScanned ||
		sum.FilesSkipped != want.FilesSkipped || sum.Errors != want.Errors {
		t.Fatalf("summary = %+v, want counts %+v", sum, want)
	}
	// The skipped file is reported, as ErrInvalid "skipped: ...".
	if len(problems) != 1 {
		t.Fatalf("problems = %v, want the skip of big.bin", problems)
	}
	var e *Error
	if !errors.As(problems[0], &e) || e.Status != StatusErrInvalid || !strings.HasSuffix(e.Path, "big.bin") ||
		!strings.HasPrefix(e.Message, "skipped") {
		t.Fatalf("skip reported as %#v", problems[0])
	}
	var bytes uint64
	for _, f := range files {
		bytes += f.Size
	}
	if sum.BytesRead != bytes {
		t.Errorf("BytesRead = %d, want %d", sum.BytesRead, bytes)
	}
	a := files["a.py"]
	if string(a.Content) != "print(\"a\")\n" || a.Size != 11 {
		t.Errorf("a.py content %q size %d", a.Content, a.Size)
	}
	if a.Path != filepath.Join(root, "a.py") {
		t.Errorf("a.py Path = %q", a.Path)
	}
	// `xxhsum -H2` of the same bytes.
	if h := hex.EncodeToString(a.ContentHash[:]); h != "8f8b07be9c6b7f3d3dfd102a2d1da0b6" {
		t.Errorf("a.py hash = %s", h)
	}
	if a.ModTime.IsZero() || a.ModTime.Year() < 2000 {
		t.Errorf("a.py ModTime = %v", a.ModTime)
	}
	if a.Language == "" {
		t.Logf("no language detected for a.py")
	}
}

func TestScanSkipContentAndGlobs(t *testing.T) {
	root := smallTree(t)
	var got []*File
	sum, err := Scan(root, &ScanOptions{SkipContent: true, Include: []string{"*.py", "*.rs"}, Sorted: true},
		ScanCallbacks{OnFile: func(f *File) error { got = append(got, f); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || filepath.ToSlash(got[0].RelPath) != "a.py" || filepath.ToSlash(got[1].RelPath) != "sub/c.rs" {
		t.Fatalf("globbed files = %v", got)
	}
	for _, f := range got {
		if f.Content != nil || f.ContentHash != ([16]byte{}) {
			t.Errorf("%s: content read although SkipContent", f.RelPath)
		}
		if f.Size == 0 {
			t.Errorf("%s: size missing", f.RelPath)
		}
	}
	if sum.FilesScanned != 2 || sum.BytesRead != 0 {
		t.Errorf("summary = %+v", sum)
	}
	sum, err = Scan(root, &ScanOptions{Exclude: []string{"sub/**"}, MaxFileSize: 1024}, ScanCallbacks{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.FilesScanned != 2 {
		t.Errorf("exclude sub/**: scanned %d, want 2 (a.py, b.go)", sum.FilesScanned)
	}
}

func TestScanParallelCallbacks(t *testing.T) {
	root := smallTree(t)
	var n int64
	var mu sync.Mutex
	seen := map[string]bool{}
	sum, err := Scan(root, &ScanOptions{MaxFileSize: 1024, ParallelCallbacks: true, Threads: 2}, ScanCallbacks{
		OnFile: func(f *File) error {
			atomic.AddInt64(&n, 1)
			mu.Lock()
			seen[filepath.ToSlash(f.RelPath)] = true
			mu.Unlock()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || sum.FilesScanned != 4 || len(seen) != 4 {
		t.Fatalf("parallel callbacks: %d calls, %d distinct, summary %+v", n, len(seen), sum)
	}
}

func TestScanStopAndCallbackError(t *testing.T) {
	root := smallTree(t)
	calls := 0
	_, err := Scan(root, smallTreeOptions(), ScanCallbacks{OnFile: func(*File) error { calls++; return StopScan }})
	if err != nil || calls != 1 {
		t.Fatalf("StopScan: err %v after %d calls, want nil after 1", err, calls)
	}
	mine := errors.New("my analyzer gave up")
	calls = 0
	_, err = Scan(root, smallTreeOptions(), ScanCallbacks{OnFile: func(*File) error { calls++; return mine }})
	if !errors.Is(err, mine) || calls != 1 {
		t.Fatalf("callback error: got %v after %d calls", err, calls)
	}
}

func TestScanErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "does-not-exist")
	_, err := Scan(missing, nil, ScanCallbacks{OnFile: func(*File) error { return nil }})
	var e *Error
	if !errors.As(err, &e) || e.Status >= 0 {
		t.Fatalf("scan of a missing root: %v", err)
	}
	if !strings.Contains(e.Message, "does-not-exist") {
		t.Errorf("message %q does not name the root", e.Message)
	}
	if _, err := Scan("bad\x00root", nil, ScanCallbacks{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NUL in root: %v", err)
	}
	if _, err := Scan(t.TempDir(), &ScanOptions{Threads: -1}, ScanCallbacks{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative threads: %v", err)
	}
	if _, err := Scan(t.TempDir(), &ScanOptions{Include: []string{"[unclosed"}}, ScanCallbacks{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad glob: %v", err)
	}
}

func TestScanProblemsAreReportedNotFatal(t *testing.T) {
	root := writeTree(t, map[string]string{"ok.py": "x\n"})
	if err := os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(root, "dangling.py")); err != nil {
		t.Skip("no symlinks:", err)
	}
	var problems []*Error
	sum, err := Scan(root, &ScanOptions{FollowLinks: true}, ScanCallbacks{
		OnFile:  func(*File) error { return nil },
		OnError: func(path string, err error) { problems = append(problems, err.(*Error)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Errors != 1 || sum.FilesScanned != 1 || len(problems) != 1 {
		t.Fatalf("summary %+v, problems %v", sum, problems)
	}
	if p := problems[0]; p.Status != StatusErrIO || !strings.HasSuffix(p.Path, "dangling.py") || p.Message == "" {
		t.Fatalf("dangling link reported as %#v", p)
	}
}

func TestScanUnreadableFileReported(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	root := writeTree(t, map[string]string{"ok.py": "x\n", "locked.py": "y\n"})
	if err := os.Chmod(filepath.Join(root, "locked.py"), 0); err != nil {
		t.Fatal(err)
	}
	var errPaths []string
	sum, err := Scan(root, nil, ScanCallbacks{
		OnFile:  func(*File) error { return nil },
		OnError: func(path string, err error) { errPaths = append(errPaths, path) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Errors != 1 || sum.FilesScanned != 1 || len(errPaths) != 1 || !strings.HasSuffix(errPaths[0], "locked.py") {
		t.Fatalf("summary %+v, errors on %v", sum, errPaths)
	}
}

type panicValue struct{ n int }

func TestPanicInScanCallbackIsReRaisedAfterTheCall(t *testing.T) {
	root := smallTree(t)
	calls := 0
	returned := false
	var recovered interface{}
	func() {
		defer func() { recovered = recover() }()
		_, _ = Scan(root, smallTreeOptions(), ScanCallbacks{OnFile: func(*File) error {
			calls++
			panic(&panicValue{42})
		}})
		returned = true
	}()
	if returned {
		t.Fatal("Scan returned normally after a callback panicked")
	}
	pv, ok := recovered.(*panicValue)
	if !ok || pv.n != 42 {
		t.Fatalf("recovered %v (%T), want the callback's own panic value", recovered, recovered)
	}
	if calls != 1 {
		t.Fatalf("callback ran %d times: the panic did not stop the scan", calls)
	}
	// The library and the binding are still usable.
	sum, err := Scan(root, smallTreeOptions(), ScanCallbacks{OnFile: func(*File) error { return nil }})
	if err != nil || sum.FilesScanned != 4 {
		t.Fatalf("scan after a panic: %+v, %v", sum, err)
	}
}

func TestPanicInParallelCallbackIsReRaised(t *testing.T) {
	root := smallTree(t)
	var recovered interface{}
	func() {
		defer func() { recovered = recover() }()
		_, _ = Scan(root, &ScanOptions{ParallelCallbacks: true}, ScanCallbacks{OnFile: func(f *File) error {
			panic(fmt.Sprintf("boom on %s", f.RelPath))
		}})
	}()
	if s, ok := recovered.(string); !ok || !strings.HasPrefix(s, "boom on ") {
		t.Fatalf("recovered %v", recovered)
	}
}

func TestPanicInErrorAndProgressCallbacks(t *testing.T) {
	root := smallTree(t)
	catch := func(cb ScanCallbacks) (recovered interface{}) {
		defer func() { recovered = recover() }()
		_, _ = Scan(root, smallTreeOptions(), cb)
		return nil
	}
	// The skip of big.bin goes to OnError.
	got := catch(ScanCallbacks{OnError: func(string, error) { panic("error boom") }})
	if got != "error boom" {
		t.Fatalf("panic in OnError: recovered %v", got)
	}
	// A final progress report always comes.
	got = catch(ScanCallbacks{OnProgress: func(Progress) { panic("progress boom") }})
	if got != "progress boom" {
		t.Fatalf("panic in OnProgress: recovered %v", got)
	}
}

func TestScanProgress(t *testing.T) {
	root := smallTree(t)
	var last Progress
	calls := 0
	_, err := Scan(root, smallTreeOptions(), ScanCallbacks{
		OnFile:     func(*File) error { return nil },
		OnProgress: func(p Progress) { calls++; last = p },
	})
	if err != nil {
		t.Fatal(err)
	}
	// The final report counts every file met (delivered, skipped or failed).
	if calls == 0 || last.FilesDone != 5 || last.FilesTotal != 5 {
		t.Errorf("%d progress reports, last %+v", calls, last)
	}
	t.Logf("%d progress reports, last %+v", calls, last)
}
