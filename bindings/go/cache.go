package wtfperf

/*
#include "shim.h"
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"time"
	"unsafe"
)

// NoExpiry, as a TTL, means entries never expire.
const NoExpiry time.Duration = -1

// CacheOptions configures a Cache. Zero fields mean the library defaults.
type CacheOptions struct {
	// Dir of the persistent (SQLite) tier, created if missing; "" keeps the
	// cache in memory only.
	Dir string
	// Root, when set (an existing directory), stores paths inside it
	// relative to it, so a cache moved with its checkout still hits.
	Root string
	// MemoryMaxEntries bounds the in-memory LRU tier; 0 means the default
	// (1000).
	MemoryMaxEntries int
	// NoMemoryTier disables the in-memory tier (every lookup goes to the
	// persistent tier).
	NoMemoryTier bool
	// MemoryTTL of in-memory copies; 0 means the default (1h), NoExpiry none.
	MemoryTTL time.Duration
	// PersistentTTL of persistent entries; 0 means the default (24h),
	// NoExpiry none.
	PersistentTTL time.Duration
	// MemoryMaxBytes bounds the memory tier in bytes of keys and values,
	// plus 96 bytes of bookkeeping per entry; 0: no bound.
	MemoryMaxBytes uint64
	// PersistentMaxBytes bounds the persistent tier; when exceeded the
	// least recently used entries are evicted down to 90%. 0: no bound.
	PersistentMaxBytes uint64
	// SyncInterval is how often, at most, a read checks whether other
	// processes changed the database (their overwrites and deletes then
	// leave this handle's memory tier). 0 means the default (10ms);
	// negative checks on every read. File-bound entries are checked against
	// their files on every read regardless.
	SyncInterval time.Duration
}

// EntryOptions binds a cache entry to files and sets its lifetime.
type EntryOptions struct {
	// FilePath binds the entry to that file's content (the file must
	// exist): Get misses once the content changes. A directory stands for
	// its tree: Get misses once a file in it is added, removed or changed.
	FilePath string
	// Deps are more paths the value depends on (they may not exist yet:
	// then their appearing invalidates).
	Deps []string
	// TTL of this entry in both tiers; 0 means the tiers' defaults,
	// NoExpiry never; any other negative value is ErrInvalid.
	TTL time.Duration
}

// CacheStats are a cache handle's counters. Fields without the Total
// prefix count this handle's lifetime; Total* count every handle and
// process that used the directory.
type CacheStats struct {
	MemoryHits, MemoryMisses         uint64
	PersistentHits, PersistentMisses uint64
	MemoryEntries, PersistentEntries uint64 // entries now
	Invalidations                    uint64
	HitRate                          float64 // hits / lookups, 0 when none
	MemoryBytes, PersistentBytes     uint64
	Sets                             uint64
	// Invalidations by reason.
	InvalidationsFileChanged       uint64
	InvalidationsDependencyChanged uint64
	InvalidationsExpired           uint64
	InvalidationsEvicted           uint64
	InvalidationsExplicit          uint64
	TotalHits, TotalMisses         uint64
	TotalSets, TotalInvalidations  uint64
	TotalHitRate                   float64
	AnalysisEntries                uint64 // stored Analyze results
	// Recovered is true when a corrupt database was moved aside and
	// replaced at open (StatsJSON has the message).
	Recovered bool
}

// ttlSeconds maps a Go TTL to the C convention (0: never).
func ttlSeconds(d time.Duration) C.double {
	if d == NoExpiry {
		return 0
	}
	return C.double(d.Seconds())
}

// Cache is an analysis-result cache: an in-memory LRU tier with TTL over an
// optional persistent SQLite tier. Entries bound to files are invalidated
// when those files' content changes. A Cache may be used from several
// goroutines at once, and several processes may open the same Dir.
type Cache struct {
	h handle[C.wtfperf_cache]
}

// acquire is h.acquire for a Cache that may be nil (ErrClosed for op).
func (c *Cache) acquire(op string) (*C.wtfperf_cache, error) {
	if c == nil {
		return nil, closedErr(op)
	}
	return c.h.acquire(op)
}

// OpenCache opens (or creates) a cache; nil options mean a memory-only
// cache with the defaults.
func OpenCache(opts *CacheOptions) (*Cache, error) {
	const op = "cache_open"
	var a arena
	defer a.free()
	co := C.wtfperf_cache_options_default()
	if opts != nil {
		if err := checkNUL(op, "path", opts.Dir, opts.Root); err != nil {
			return nil, err
		}
		if opts.MemoryMaxEntries < 0 {
			return nil, errorf(op, StatusErrInvalid, "negative MemoryMaxEntries %d", opts.MemoryMaxEntries)
		}
		co.dir = a.optStr(opts.Dir)
		co.root = a.optStr(opts.Root)
		if opts.MemoryMaxEntries != 0 {
			co.memory_max_entries = C.size_t(opts.MemoryMaxEntries)
		}
		if opts.NoMemoryTier {
			co.memory_max_entries = 0
		}
		if opts.MemoryTTL != 0 {
			co.memory_ttl_s = ttlSeconds(opts.MemoryTTL)
		}
		if opts.PersistentTTL != 0 {
			co.persistent_ttl_s = ttlSeconds(opts.PersistentTTL)
		}
		co.memory_max_bytes = C.uint64_t(opts.MemoryMaxBytes)
		co.persistent_max_bytes = C.uint64_t(opts.PersistentMaxBytes)
		if opts.SyncInterval > 0 {
			co.sync_interval_s = C.double(opts.SyncInterval.Seconds())
		} else if opts.SyncInterval < 0 {
			co.sync_interval_s = 0
		}
	}
	var out *C.wtfperf_cache
	var msg *C.char
	if err := check(op, C.wtfgo_cache_open(&co, &out, &msg), msg); err != nil {
		return nil, err
	}
	c := &Cache{}
	c.h.p = out
	runtime.SetFinalizer(c, func(c *Cache) { backstop(c.Close) })
	return c, nil
}

// Close closes the cache (idempotent). It waits for calls in progress on
// other goroutines; methods return ErrClosed afterwards.
func (c *Cache) Close() error {
	if c == nil {
		return nil
	}
	c.h.close(func(p *C.wtfperf_cache) { C.wtfperf_cache_close(p) })
	runtime.SetFinalizer(c, nil)
	return nil
}

func (o *EntryOptions) toC(op string, a *arena) (C.wtfperf_entry_options, error) {
	eo := C.wtfperf_entry_options_default()
	if o == nil {
		return eo, nil
	}
	if err := checkNUL(op, "path", append([]string{o.FilePath}, o.Deps...)...); err != nil {
		return eo, err
	}
	if o.TTL < 0 && o.TTL != NoExpiry {
		return eo, errorf(op, StatusErrInvalid, "negative TTL %v (NoExpiry means never)", o.TTL)
	}
	eo.file_path = a.optStr(o.FilePath)
	eo.deps, eo.deps_len = a.strs(o.Deps)
	if o.TTL != 0 {
		eo.ttl_s = ttlSeconds(o.TTL)
	}
	return eo, nil
}

// Set stores value under key; it returns once the entry is committed. nil
// options mean no file binding and the default TTL.
func (c *Cache) Set(key, value []byte, opts *EntryOptions) error {
	const op = "cache_set"
	if c == nil {
		return closedErr(op)
	}
	var a arena
	defer a.free()
	eo, err := opts.toC(op, &a)
	if err != nil {
		return err
	}
	p, err := c.h.acquire(op)
	if err != nil {
		return err
	}
	defer c.h.release()
	kp, kl := bytesArg(key)
	vp, vl := bytesArg(value)
	var msg *C.char
	return check(op, C.wtfgo_cache_set(p, kp, kl, vp, vl, &eo, &msg), msg)
}

// Get returns the value stored under key; ok is false on a miss (no entry,
// expired, or its files changed).
func (c *Cache) Get(key []byte) (value []byte, ok bool, err error) {
	p, err := c.acquire("cache_get")
	if err != nil {
		return nil, false, err
	}
	defer c.h.release()
	kp, kl := bytesArg(key)
	var b C.wtfperf_buf
	var msg *C.char
	st := C.wtfgo_cache_get(p, kp, kl, &b, &msg)
	if err := check("cache_get", st, msg); err != nil {
		return nil, false, err
	}
	if Status(st) == StatusMiss {
		return nil, false, nil
	}
	v, err := takeBuf("cache_get", &b)
	return v, err == nil, err
}

// Invalidate removes the entry under key (no error when there is none).
func (c *Cache) Invalidate(key []byte) error {
	p, err := c.acquire("cache_invalidate")
	if err != nil {
		return err
	}
	defer c.h.release()
	kp, kl := bytesArg(key)
	var msg *C.char
	return check("cache_invalidate", C.wtfgo_cache_invalidate(p, kp, kl, &msg), msg)
}

// InvalidateFile removes every entry bound to path (as FilePath or a dep)
// and returns how many were removed.
func (c *Cache) InvalidateFile(path string) (int, error) {
	const op = "cache_invalidate_file"
	if c == nil {
		return 0, closedErr(op)
	}
	if err := checkNUL(op, "path", path); err != nil {
		return 0, err
	}
	p, err := c.h.acquire(op)
	if err != nil {
		return 0, err
	}
	defer c.h.release()
	var a arena
	defer a.free()
	var n C.size_t
	var msg *C.char
	if err := check(op, C.wtfgo_cache_invalidate_file(p, a.str(path), &n, &msg), msg); err != nil {
		return 0, err
	}
	return int(n), nil
}

// pathCollector receives the paths of wtfperf_cache_check_file_changes.
type pathCollector struct{ paths []string }

// CheckFileChanges returns those of paths whose content changed since the
// cache last saw them (their entries are invalidated).
func (c *Cache) CheckFileChanges(paths []string) ([]string, error) {
	const op = "cache_check_file_changes"
	if c == nil {
		return nil, closedErr(op)
	}
	if err := checkNUL(op, "path", paths...); err != nil {
		return nil, err
	}
	p, err := c.h.acquire(op)
	if err != nil {
		return nil, err
	}
	defer c.h.release()
	var a arena
	defer a.free()
	arr, n := a.strs(paths)
	col := &pathCollector{paths: []string{}}
	h := cgo.NewHandle(col)
	defer h.Delete()
	var changed C.size_t
	var msg *C.char
	st := C.wtfgo_cache_check_file_changes(p, arr, n, C.uintptr_t(h), &changed, &msg)
	if err := check(op, st, msg); err != nil {
		return nil, err
	}
	return col.paths, nil
}

// CleanupExpired removes expired entries from both tiers and returns how
// many were removed.
func (c *Cache) CleanupExpired() (int, error) {
	p, err := c.acquire("cache_cleanup_expired")
	if err != nil {
		return 0, err
	}
	defer c.h.release()
	var n C.size_t
	var msg *C.char
	if err := check("cache_cleanup_expired", C.wtfgo_cache_cleanup_expired(p, &n, &msg), msg); err != nil {
		return 0, err
	}
	return int(n), nil
}

// Clear removes every entry from both tiers.
func (c *Cache) Clear() error {
	p, err := c.acquire("cache_clear")
	if err != nil {
		return err
	}
	defer c.h.release()
	var msg *C.char
	return check("cache_clear", C.wtfgo_cache_clear(p, &msg), msg)
}

// Stats returns the cache's counters.
func (c *Cache) Stats() (CacheStats, error) {
	p, err := c.acquire("cache_stats")
	if err != nil {
		return CacheStats{}, err
	}
	defer c.h.release()
	var s C.wtfperf_cache_statistics
	var msg *C.char
	if err := check("cache_stats", C.wtfgo_cache_stats(p, &s, &msg), msg); err != nil {
		return CacheStats{}, err
	}
	return CacheStats{
		MemoryHits:                     uint64(s.memory_hits),
		MemoryMisses:                   uint64(s.memory_misses),
		PersistentHits:                 uint64(s.persistent_hits),
		PersistentMisses:               uint64(s.persistent_misses),
		MemoryEntries:                  uint64(s.memory_entries),
		PersistentEntries:              uint64(s.persistent_entries),
		Invalidations:                  uint64(s.invalidations),
		HitRate:                        float64(s.hit_rate),
		MemoryBytes:                    uint64(s.memory_bytes),
		PersistentBytes:                uint64(s.persistent_bytes),
		Sets:                           uint64(s.sets),
		InvalidationsFileChanged:       uint64(s.invalidations_file_changed),
		InvalidationsDependencyChanged: uint64(s.invalidations_dependency_changed),
		InvalidationsExpired:           uint64(s.invalidations_expired),
		InvalidationsEvicted:           uint64(s.invalidations_evicted),
		InvalidationsExplicit:          uint64(s.invalidations_explicit),
		TotalHits:                      uint64(s.total_hits),
		TotalMisses:                    uint64(s.total_misses),
		TotalSets:                      uint64(s.total_sets),
		TotalInvalidations:             uint64(s.total_invalidations),
		TotalHitRate:                   float64(s.total_hit_rate),
		AnalysisEntries:                uint64(s.analysis_entries),
		Recovered:                      bool(s.recovered),
	}, nil
}

// StatsJSON returns the statistics as JSON.
func (c *Cache) StatsJSON() ([]byte, error) {
	p, err := c.acquire("cache_stats_json")
	if err != nil {
		return nil, err
	}
	defer c.h.release()
	var b C.wtfperf_buf
	var msg *C.char
	if err := check("cache_stats_json", C.wtfgo_cache_stats_json(p, &b, &msg), msg); err != nil {
		return nil, err
	}
	return takeBuf("cache_stats_json", &b)
}

// ExplainMiss says, as JSON, why the last lookups of key missed
// (last_reason: "not_found", "expired", "file_changed", ...).
func (c *Cache) ExplainMiss(key []byte) ([]byte, error) {
	p, err := c.acquire("cache_explain_miss")
	if err != nil {
		return nil, err
	}
	defer c.h.release()
	kp, kl := bytesArg(key)
	var b C.wtfperf_buf
	var msg *C.char
	if err := check("cache_explain_miss", C.wtfgo_cache_explain_miss(p, kp, kl, &b, &msg), msg); err != nil {
		return nil, err
	}
	return takeBuf("cache_explain_miss", &b)
}

// CacheEntry is one entry of SetMany.
type CacheEntry struct {
	Key, Value []byte
	Options    *EntryOptions // nil: defaults
}

// SetMany stores every entry in one transaction (much faster than as many
// Set calls; all or nothing).
func (c *Cache) SetMany(entries []CacheEntry) error {
	const op = "cache_set_many"
	if c == nil {
		return closedErr(op)
	}
	if len(entries) == 0 {
		return nil
	}
	var a arena
	defer a.free()
	n := len(entries)
	// Every array handed to C lives in C memory: they hold pointers.
	keys := a.ptrArray(n)
	values := a.ptrArray(n)
	keyLens := a.sizeArray(n)
	valueLens := a.sizeArray(n)
	opts := a.ptrArray(n)
	for i, e := range entries {
		keys[i], keyLens[i] = a.bytes(e.Key)
		values[i], valueLens[i] = a.bytes(e.Value)
		if e.Options != nil {
			eo, err := e.Options.toC(op, &a)
			if err != nil {
				return err
			}
			opts[i] = a.entryOptions(eo)
		}
	}
	p, err := c.h.acquire(op)
	if err != nil {
		return err
	}
	defer c.h.release()
	var msg *C.char
	st := C.wtfgo_cache_set_many(p,
		(**C.uint8_t)(unsafe.Pointer(&keys[0])), &keyLens[0],
		(**C.uint8_t)(unsafe.Pointer(&values[0])), &valueLens[0],
		(**C.wtfperf_entry_options)(unsafe.Pointer(&opts[0])), C.size_t(n), &msg)
	return check(op, st, msg)
}
