package wtfperf

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeExample returns the first ```go block of README.md.
func readmeExample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "```go\n")
	if start < 0 {
		t.Fatal("README.md has no ```go block")
	}
	s = s[start+len("```go\n"):]
	return s[:strings.Index(s, "```")]
}

// TestReadmeExample builds the README's example in a temporary module that
// uses this package, and runs it twice over a small tree: the second run must
// come entirely from the cache.
func TestReadmeExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	self, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	gomod := "module readme-example\n\ngo 1.19\n\nrequire github.com/wtfperf/wtfperf/bindings/go v0.0.0\n\n" +
		"replace github.com/wtfperf/wtfperf/bindings/go => " + self + "\n"
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "main.go"), []byte(readmeExample(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(mod, "example")
	build := exec.Command(goBin, "build", "-o", exe, ".")
	build.Dir = mod
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the README example: %v\n%s", err, out)
	}
	tree := writeTree(t, map[string]string{
		"main.go":     "package main // TODO: one\n// TODO: two\n",
		"pkg/util.go": "package pkg // TODO three\n",
		"notes.txt":   "TODO not go\n",
	})
	want := []*regexp.Regexp{
		regexp.MustCompile(`^2 files, 0 from cache, 3 TODOs, peak RSS \d+ MiB\n$`),
		regexp.MustCompile(`^2 files, 2 from cache, 3 TODOs, peak RSS \d+ MiB\n$`),
	}
	for i, re := range want {
		run := exec.Command(exe)
		run.Dir = tree
		out, err := run.CombinedOutput()
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, out)
		}
		if !re.Match(out) {
			t.Fatalf("run %d printed %q, want %s", i+1, out, re)
		}
	}
}
