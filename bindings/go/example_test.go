package wtfperf_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	wtfperf "github.com/wtfperf/wtfperf/bindings/go"
)

// exampleTree writes a tiny project and returns its root.
func exampleTree() string {
	root, err := os.MkdirTemp("", "wtfperf-example")
	if err != nil {
		log.Fatal(err)
	}
	for rel, content := range map[string]string{
		"main.py":     "print('hi')\n",
		"lib/util.go": "package lib\n",
		"notes.md":    "# notes\n",
	} {
		p := filepath.Join(root, rel)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	return root
}

func ExampleScan() {
	root := exampleTree()
	defer os.RemoveAll(root)

	sum, err := wtfperf.Scan(root, &wtfperf.ScanOptions{Sorted: true}, wtfperf.ScanCallbacks{
		OnFile: func(f *wtfperf.File) error {
			fmt.Printf("%s %d bytes %s\n", f.RelPath, f.Size, f.Language)
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sum.FilesScanned, "files")
	// Output:
	// lib/util.go 12 bytes go
	// main.py 12 bytes python
	// notes.md 8 bytes markdown
	// 3 files
}

func ExampleOpenCache() {
	cache, err := wtfperf.OpenCache(nil) // memory only
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()

	if err := cache.Set([]byte("key"), []byte(`{"findings":[]}`), nil); err != nil {
		log.Fatal(err)
	}
	v, ok, err := cache.Get([]byte("key"))
	fmt.Println(string(v), ok, err)
	_, ok, err = cache.Get([]byte("other"))
	fmt.Println(ok, err)
	// Output:
	// {"findings":[]} true <nil>
	// false <nil>
}

func ExampleAnalyze() {
	root := exampleTree()
	defer os.RemoveAll(root)
	cache, err := wtfperf.OpenCache(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()

	for run := 1; run <= 2; run++ {
		analyzed := 0
		sum, err := wtfperf.Analyze(root, nil, cache, "size-v1",
			func(f *wtfperf.File) ([]byte, error) {
				analyzed++
				return []byte(fmt.Sprint(len(f.Content))), nil
			}, nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("run %d: %d analyzed, %d from cache\n", run, analyzed, sum.CacheHits)
	}
	// Output:
	// run 1: 3 analyzed, 0 from cache
	// run 2: 0 analyzed, 3 from cache
}

func ExampleError() {
	_, err := wtfperf.Scan("/nonexistent/wtfperf/root", nil, wtfperf.ScanCallbacks{})
	var e *wtfperf.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, errors.Is(err, wtfperf.ErrIO))
	}
	// Output:
	// WTFPERF_ERR_IO true
}

func ExampleProfiler() {
	prof, err := wtfperf.NewProfiler(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer prof.Close()
	if err := prof.Start(); err != nil {
		log.Fatal(err)
	}
	_ = prof.Time("parse", func() error {
		_ = make([]byte, 1<<20)
		return nil
	})
	p, err := prof.Stop()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	fmt.Println(p.Duration() > 0, p.PeakMemoryMB() > 0)
	// Output:
	// true true
}
