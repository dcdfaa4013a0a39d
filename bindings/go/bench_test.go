package wtfperf

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A generated project scanned with the same limit gives exactly the count
// the generator promised.
func TestBenchGenerateThenScan(t *testing.T) {
	root := filepath.Join(t.TempDir(), "proj")
	const limit = 64 << 10
	want, err := BenchGenerate(root, 60, 7, limit)
	if err != nil {
		t.Fatal(err)
	}
	if want != 60 {
		t.Fatalf("generator promised %d files, asked 60", want)
	}
	sum, err := Scan(root, &ScanOptions{MaxFileSize: limit}, ScanCallbacks{OnFile: func(*File) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.FilesSeen != want || sum.FilesScanned+sum.FilesSkipped != want {
		t.Fatalf("scan of the generated project: %+v, want %d files", sum, want)
	}
	if _, err := BenchGenerate(root, 10, 7, limit); !errors.Is(err, ErrInvalid) {
		t.Fatalf("generating into a non-empty dir: %v", err)
	}
}

func TestBenchRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the benchmark suite")
	}
	out := t.TempDir()
	report, err := BenchRun(&BenchOptions{GenerateFiles: 40, Runs: 1, Warmup: -1, Parallel: 2,
		OutputDir: out, Formats: []string{"json", "md"}, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Schema string `json:"schema"`
		Config struct {
			Runs    int   `json:"runs"`
			Threads []int `json:"threads"`
		} `json:"config"`
	}
	if err := json.Unmarshal(report, &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%.300s", err, report)
	}
	if r.Schema != "wtfperf-bench" || r.Config.Runs != 1 || len(r.Config.Threads) == 0 ||
		r.Config.Threads[len(r.Config.Threads)-1] != 2 {
		t.Fatalf("report does not reflect the options: %+v", r)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) < 2 {
		t.Fatalf("reports written: %v", entries)
	}
	if _, err := BenchRun(&BenchOptions{Formats: []string{"pdf"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown format: %v", err)
	}
	if _, err := BenchRun(&BenchOptions{Project: filepath.Join(out, "missing")}); !errors.Is(err, ErrIO) {
		t.Fatalf("missing project: %v", err)
	}
}
