package wtfperf

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestCacheRoundTripWithFileInvalidation(t *testing.T) {
	dir := t.TempDir()
	src := writeTree(t, map[string]string{"main.py": "x = 1\n", "dep.py": "y = 2\n"})
	mainPy, depPy := filepath.Join(src, "main.py"), filepath.Join(src, "dep.py")

	c, err := OpenCache(&CacheOptions{Dir: filepath.Join(dir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	if _, ok, err := c.Get([]byte("k")); ok || err != nil {
		t.Fatalf("empty cache: ok=%v err=%v", ok, err)
	}
	value := []byte(`{"findings":[1,2,3]}`)
	if err := c.Set([]byte("k"), value, &EntryOptions{FilePath: mainPy, Deps: []string{depPy}}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.Get([]byte("k"))
	if err != nil || !ok || string(got) != string(value) {
		t.Fatalf("Get = %q, %v, %v", got, ok, err)
	}

	// Binary keys and values, and the empty value, round-trip.
	bin := []byte{0, 1, 2, 255, 0}
	if err := c.Set(bin, []byte{}, nil); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := c.Get(bin); err != nil || !ok || len(got) != 0 {
		t.Fatalf("binary key: %q %v %v", got, ok, err)
	}

	// Nothing changed yet.
	if changed, err := c.CheckFileChanges([]string{mainPy, depPy}); err != nil || len(changed) != 0 {
		t.Fatalf("CheckFileChanges before any change = %v, %v", changed, err)
	}
	// Changing the bound file's content makes the entry a miss.
	if err := os.WriteFile(mainPy, []byte("x = 10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err := c.CheckFileChanges([]string{mainPy, depPy})
	if err != nil || len(changed) != 1 || changed[0] != mainPy {
		t.Fatalf("CheckFileChanges = %v, %v; want [%s]", changed, err, mainPy)
	}
	if _, ok, _ := c.Get([]byte("k")); ok {
		t.Fatal("entry still valid after its file changed")
	}

	// Dependencies invalidate too.
	if err := c.Set([]byte("k2"), []byte("v2"), &EntryOptions{FilePath: mainPy, Deps: []string{depPy}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(depPy, []byte("y = 20\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Get([]byte("k2")); ok {
		t.Fatal("entry still valid after its dependency changed")
	}

	// InvalidateFile drops what is bound to a file.
	for _, k := range []string{"p1", "p2"} {
		if err := c.Set([]byte(k), []byte("v"), &EntryOptions{FilePath: mainPy}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := c.InvalidateFile(mainPy); err != nil || n != 2 {
		t.Fatalf("InvalidateFile = %d, %v; want 2", n, err)
	}
	if _, ok, _ := c.Get([]byte("p1")); ok {
		t.Fatal("p1 survived InvalidateFile")
	}

	// Invalidate one key.
	if err := c.Set([]byte("gone"), []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Invalidate([]byte("gone")); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Get([]byte("gone")); ok {
		t.Fatal("Invalidate left the entry")
	}

	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.MemoryHits+st.PersistentHits < 2 || st.Invalidations == 0 || st.HitRate <= 0 || st.HitRate > 1 {
		t.Fatalf("stats = %+v", st)
	}
	js, err := c.StatsJSON()
	if err != nil || !json.Valid(js) {
		t.Fatalf("StatsJSON = %s, %v", js, err)
	}
}

func TestCachePersistsAcrossOpens(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenCache(&CacheOptions{Dir: dir, SyncInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set([]byte("durable"), []byte("yes"), nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c2, err := OpenCache(&CacheOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if v, ok, err := c2.Get([]byte("durable")); err != nil || !ok || string(v) != "yes" {
		t.Fatalf("after reopening: %q %v %v", v, ok, err)
	}
	st, _ := c2.Stats()
	if st.PersistentEntries < 1 || st.PersistentHits < 1 {
		t.Fatalf("stats after reopen = %+v", st)
	}
	if err := c2.Clear(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c2.Get([]byte("durable")); ok {
		t.Fatal("Clear left an entry")
	}
}

func TestCacheTTLAndCleanup(t *testing.T) {
	c, err := OpenCache(&CacheOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Set([]byte("short"), []byte("v"), &EntryOptions{TTL: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := c.Set([]byte("long"), []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	if _, ok, _ := c.Get([]byte("short")); ok {
		t.Fatal("expired entry still returned")
	}
	if _, err := c.CleanupExpired(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Get([]byte("long")); !ok {
		t.Fatal("CleanupExpired removed a live entry")
	}
}

func TestCacheErrors(t *testing.T) {
	// A regular file where the directory should be.
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenCache(&CacheOptions{Dir: f})
	var e *Error
	if !errors.As(err, &e) || e.Status >= 0 || e.Message == "" {
		t.Fatalf("opening a cache on a file: %v", err)
	}
	if _, err := OpenCache(&CacheOptions{Dir: "a\x00b"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NUL in dir: %v", err)
	}
	if _, err := OpenCache(&CacheOptions{MemoryTTL: -time.Second}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative memory TTL: %v", err)
	}

	c, err := OpenCache(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set([]byte("k"), []byte("v"), &EntryOptions{FilePath: "x\x00y"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NUL in file path: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close failed:", err)
	}
	if _, _, err := c.Get([]byte("k")); !errors.Is(err, ErrClosed) || !errors.Is(err, ErrState) {
		t.Fatalf("Get after Close: %v", err)
	}
	if err := c.Set([]byte("k"), nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Set after Close: %v", err)
	}
}

// Close racing with calls on other goroutines must neither crash nor lose
// the guarantee that a call either runs on a live cache or gets ErrClosed.
func TestCacheConcurrentUseAndClose(t *testing.T) {
	c, err := OpenCache(&CacheOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			key := []byte{byte(g)}
			for i := 0; i < 200; i++ {
				if err := c.Set(key, []byte("v"), nil); err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Error(err)
					}
					return
				}
				if _, _, err := c.Get(key); err != nil && !errors.Is(err, ErrClosed) {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	time.Sleep(5 * time.Millisecond)
	c.Close()
	wg.Wait()
}

func TestCacheSetManyAndExplainMiss(t *testing.T) {
	src := writeTree(t, map[string]string{"f.py": "1\n"})
	f := filepath.Join(src, "f.py")
	c, err := OpenCache(&CacheOptions{Dir: t.TempDir(), NoMemoryTier: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	entries := []CacheEntry{
		{Key: []byte("a"), Value: []byte("1")},
		{Key: []byte("b"), Value: []byte("2"), Options: &EntryOptions{FilePath: f, TTL: NoExpiry}},
		{Key: []byte{}, Value: []byte("empty key")},
	}
	if err := c.SetMany(entries); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if v, ok, err := c.Get(e.Key); err != nil || !ok || string(v) != string(e.Value) {
			t.Fatalf("Get(%q) = %q %v %v", e.Key, v, ok, err)
		}
	}
	if st, _ := c.Stats(); st.MemoryEntries != 0 || st.PersistentEntries != 3 || st.Sets != 3 {
		t.Fatalf("stats without a memory tier: %+v", st)
	}
	if err := os.WriteFile(f, []byte("2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Get([]byte("b")); ok {
		t.Fatal("b still valid after its file changed")
	}
	js, err := c.ExplainMiss([]byte("b"))
	if err != nil {
		t.Fatal(err)
	}
	var why struct {
		LastReason string `json:"last_reason"`
	}
	if err := json.Unmarshal(js, &why); err != nil || why.LastReason != "file_changed" {
		t.Fatalf("ExplainMiss = %s (%v)", js, err)
	}
	// A bad entry fails the whole batch.
	err = c.SetMany([]CacheEntry{{Key: []byte("c"), Value: []byte("3")},
		{Key: []byte("d"), Options: &EntryOptions{FilePath: filepath.Join(src, "missing.py")}}})
	if !errors.Is(err, ErrIO) {
		t.Fatalf("SetMany with a missing file: %v", err)
	}
	if _, ok, _ := c.Get([]byte("c")); ok {
		t.Fatal("SetMany is not all or nothing")
	}
	if err := c.SetMany(nil); err != nil {
		t.Fatal(err)
	}
}

// Close during an Analyze that uses the cache waits for it to finish, and a
// callback touching the cache meanwhile gets ErrClosed rather than a
// deadlock.
func TestCacheCloseDuringAnalyze(t *testing.T) {
	root := smallTree(t)
	c, err := OpenCache(nil)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	var innerErr error
	first := true
	sum, err := Analyze(root, smallTreeOptions(), c, "close-race", func(*File) ([]byte, error) {
		if first {
			first = false
			go func() { c.Close(); close(closed) }()
			for !c.h.isClosing() {
				time.Sleep(time.Millisecond)
			}
			_, _, innerErr = c.Get([]byte("k"))
		}
		return []byte("r"), nil
	}, nil)
	if err != nil || sum.FilesScanned != 4 {
		t.Fatalf("Analyze during Close: %+v, %v", sum, err)
	}
	if !errors.Is(innerErr, ErrClosed) {
		t.Fatalf("cache use inside the callback during Close: %v", innerErr)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not finish after Analyze returned")
	}
	if _, _, err := c.Get([]byte("k")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
}
