package wtfperf

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

// A NUL inside any text that goes to C as a NUL-terminated string (C.CString
// would cut it short there) is ErrInvalid, before any native call.
func TestNULInTextArgumentsIsInvalid(t *testing.T) {
	root := smallTree(t)
	dir := t.TempDir()
	invalid := func(what string, err error) {
		t.Helper()
		var e *Error
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &e) || e.Status != StatusErrInvalid {
			t.Errorf("NUL in %s: %v, want ErrInvalid", what, err)
		}
	}
	noop := func(*File) ([]byte, error) { return nil, nil }

	_, err := Analyze(root, nil, nil, "todo@1\x00x", noop, nil)
	invalid("analyzer id", err)
	_, err = AnalyzeWith(root, nil, nil, "todo@1\x00x", AnalyzeCallbacks{Analyze: noop})
	invalid("analyzer id (AnalyzeWith)", err)
	_, err = Scan(root, &ScanOptions{Include: []string{"*.py\x00x"}}, ScanCallbacks{})
	invalid("include glob", err)
	_, err = Scan(root, &ScanOptions{Exclude: []string{"a\x00"}}, ScanCallbacks{})
	invalid("exclude glob", err)
	_, err = OpenCache(&CacheOptions{Root: "a\x00b"})
	invalid("cache root", err)

	c, err := OpenCache(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	invalid("deps", c.Set([]byte("k"), []byte("v"), &EntryOptions{Deps: []string{root, "a\x00b"}}))
	invalid("SetMany deps", c.SetMany([]CacheEntry{{Key: []byte("k"), Value: []byte("v"), Options: &EntryOptions{Deps: []string{"a\x00b"}}}}))
	_, err = c.InvalidateFile("a\x00b")
	invalid("InvalidateFile", err)
	_, err = c.CheckFileChanges([]string{root, "a\x00b"})
	invalid("CheckFileChanges", err)

	p, err := NewProfiler(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	_, err = p.Enter("a\x00b")
	invalid("scope name", err)
	_, err = p.ScopeID("a\x00b")
	invalid("ScopeID name", err)
	invalid("Time name", p.Time("a\x00b", func() error { return nil }))
	prof, err := p.Stop()
	if err != nil {
		t.Fatal(err)
	}
	defer prof.Close()
	m, err := NewProfileManager()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	invalid("profile name", m.Add("run\x00x", prof))

	_, err = BenchRun(&BenchOptions{Formats: []string{"json\x00md"}, Project: filepath.Join(dir, "missing")})
	invalid("bench formats", err)
	_, err = BenchGenerate(filepath.Join(dir, "gen\x00x"), 1, 42, 0)
	invalid("BenchGenerate root", err)
	invalid("debugForcePanic message", debugForcePanic("boom\x00x"))
}

// A single string where a list of paths or names is expected cannot happen
// in Go: those parameters are []string, so CheckFileChanges("/etc/hostname")
// or EntryOptions{Deps: "/etc/hostname"} does not compile (the Python and
// Node bindings have to refuse it at run time). This keeps them []string.
func TestListParametersAreStringSlices(t *testing.T) {
	strs := reflect.TypeOf([]string(nil))
	if got := reflect.TypeOf((*Cache).CheckFileChanges).In(1); got != strs {
		t.Errorf("CheckFileChanges takes %v, want []string", got)
	}
	for _, f := range []struct {
		typ   reflect.Type
		field string
	}{
		{reflect.TypeOf(EntryOptions{}), "Deps"},
		{reflect.TypeOf(ScanOptions{}), "Include"},
		{reflect.TypeOf(ScanOptions{}), "Exclude"},
		{reflect.TypeOf(BenchOptions{}), "Formats"},
	} {
		sf, ok := f.typ.FieldByName(f.field)
		if !ok || sf.Type != strs {
			t.Errorf("%v.%s is %v, want []string", f.typ, f.field, sf.Type)
		}
	}
}
