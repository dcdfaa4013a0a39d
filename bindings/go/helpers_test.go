package wtfperf

import (
	"os"
	"path/filepath"
	"testing"
)

// writeTree creates files (relative path -> content) under a fresh temp dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// smallTree is the tree the scan and analyze tests share: four files to
// scan, one too big, one hidden, one ignored by a .ignore file.
func smallTree(t *testing.T) string {
	t.Helper()
	big := make([]byte, 4096)
	for i := range big {
		big[i] = 'x'
	}
	return writeTree(t, map[string]string{
		"a.py":        "print(\"a\")\n",
		"b.go":        "package b\n",
		"sub/c.rs":    "fn main() {}\n",
		"sub/d.txt":   "just text\n",
		"big.bin":     string(big),
		".hidden.py":  "print(\"hidden\")\n",
		"skip.log":    "ignored\n",
		".ignore":     "*.log\n",
		"sub/.secret": "hidden too\n",
	})
}

// smallTreeOptions: big.bin (4096 bytes) is over the limit.
func smallTreeOptions() *ScanOptions {
	return &ScanOptions{MaxFileSize: 1024, Sorted: true}
}

var smallTreeScanned = []string{"a.py", "b.go", "sub/c.rs", "sub/d.txt"}
