//! The workloads behind the scenarios, on the real scanner, the real cache
//! (persistent SQLite tier in the run's work directory) and the bench
//! [`analyzer`](super::analyzer).
//!
//! What each timed run covers is what a user of a tool built on wtfperf
//! waits for: analyze runs open the cache, scan, analyze the misses, decode
//! every result (cached or not) as a host would, store, and close the cache.

use super::analyzer::{self, ANALYZER_ID};
use super::evict;
use super::generator::{self, GeneratedProject};
use super::report::{CacheState, PageCache, ScenarioKind, ScenarioSpec};
use super::suite::{RunCounts, Workload};
use crate::cache::{Cache, CacheOptions};
use crate::error::{Error, Result};
use crate::scan::{self, Control, FileEntry, ParallelAnalyzeHost, ScanEvent, ScanOptions, Verdict};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// What the workloads of one project share.
#[derive(Debug, Clone)]
pub struct Context {
    /// The tree measured.
    pub root: PathBuf,
    /// A scratch directory of this project (caches live here).
    pub work: PathBuf,
    /// Set for generated projects (the incremental scenario edits them).
    pub generated: Option<GeneratedProject>,
    pub seed: u64,
    pub incremental_fraction: f64,
    /// The scanner's size limit (the generator's oversize files exceed it).
    pub max_file_size: u64,
}

/// Files a scan meets under `root` (after ignore rules; oversize files
/// included), and their total size. Nothing is read.
pub fn count(root: &Path) -> Result<(u64, u64)> {
    // Nothing is read, so no size limit: oversize files are delivered with
    // their size too.
    let opts = ScanOptions {
        include_content: false,
        max_file_size: u64::MAX,
        ..ScanOptions::default()
    };
    let mut bytes = 0u64;
    let summary = scan::scan(root, &opts, &mut |ev| {
        if let ScanEvent::File(f) = ev {
            bytes += f.size;
        }
        Control::Continue
    })?;
    Ok((summary.files_seen, bytes))
}

/// Copies the files a scan of `root` meets (ignore rules applied, hidden
/// and oversize files left out) into `dest`, dated like generated files, and
/// lists the text ones as the files an incremental run may edit.
pub fn mirror(root: &Path, dest: &Path, max_file_size: u64) -> Result<GeneratedProject> {
    let opts = ScanOptions {
        max_file_size,
        sorted: true,
        ..ScanOptions::default()
    };
    let mut out = GeneratedProject::default();
    let mut failure = None;
    // The copy exists even when no file is copied into it.
    std::fs::create_dir_all(dest)
        .map_err(|e| Error::io(format!("creating {}", dest.display()), &e))?;
    scan::scan(root, &opts, &mut |ev| {
        let ScanEvent::File(f) = ev else {
            return Control::Continue;
        };
        let Some(content) = f.content else {
            return Control::Continue;
        };
        let copied = f
            .rel_path
            .parent()
            .map_or(Ok(()), |dir| generator::mkdir(dest, dir))
            .and_then(|()| generator::write(dest, f.rel_path, content));
        match copied {
            Ok(()) => {
                out.files += 1;
                out.bytes += content.len() as u64;
                if !content.contains(&0) && std::str::from_utf8(content).is_ok() {
                    out.sources.push(f.rel_path.to_path_buf());
                }
                Control::Continue
            }
            Err(e) => {
                failure = Some(e);
                Control::Stop
            }
        }
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// The workload of `spec`, or why it cannot run on this project.
pub fn build(spec: &ScenarioSpec, ctx: &Context) -> std::result::Result<Box<dyn Workload>, String> {
    match (spec.kind, spec.cache) {
        (ScenarioKind::Scan, _) => {
            let evict = spec.page_cache == PageCache::Cold;
            if evict {
                evict::can_evict(&ctx.root)?;
            }
            Ok(Box::new(ScanWorkload {
                root: ctx.root.clone(),
                threads: spec.threads,
                max_file_size: ctx.max_file_size,
                evict,
                evicted: None,
            }))
        }
        (ScenarioKind::Analyze, state) => Ok(Box::new(AnalyzeWorkload {
            ctx: ctx.clone(),
            state,
            threads: spec.threads,
            cache_dir: ctx.work.join(format!("cache-{}", spec.id)),
            filled: false,
            edited: 0,
            mirrored: false,
        })),
    }
}

/// Walk, read and hash every file.
struct ScanWorkload {
    root: PathBuf,
    threads: usize,
    max_file_size: u64,
    evict: bool,
    evicted: Option<evict::Evicted>,
}

impl Workload for ScanWorkload {
    fn prepare(&mut self, _iteration: usize) -> Result<()> {
        if self.evict {
            self.evicted = Some(evict::evict_tree(&self.root)?);
        }
        Ok(())
    }

    fn run(&mut self) -> Result<RunCounts> {
        let opts = ScanOptions {
            threads: self.threads,
            max_file_size: self.max_file_size,
            ..ScanOptions::default()
        };
        let (mut files, mut bytes) = (0u64, 0u64);
        let summary = scan::scan(&self.root, &opts, &mut |ev| {
            if let ScanEvent::File(f) = ev {
                files += 1;
                bytes += f.size;
            }
            Control::Continue
        })?;
        Ok(RunCounts {
            files,
            bytes,
            bytes_read: summary.bytes_read,
            cache_hits: 0,
            cache_misses: 0,
            errors: summary.errors,
        })
    }

    fn notes(&self) -> Vec<String> {
        match self.evicted {
            Some(e) => vec![format!(
                "before each run, {} files ({:.1} MB) were evicted with posix_fadvise(DONTNEED){}; directory entries and inodes stay cached",
                e.files,
                e.bytes as f64 / 1e6,
                if e.failed > 0 {
                    format!(", {} could not be", e.failed)
                } else {
                    String::new()
                }
            )],
            None => Vec::new(),
        }
    }
}

/// The analyze host: the bench analyzer on misses, and every result decoded
/// as a tool would use it.
#[derive(Default)]
struct Host {
    files: AtomicU64,
    bytes: AtomicU64,
    analyzed: AtomicU64,
    /// Sum of the decoded line counts: the results are really used.
    lines: AtomicU64,
    undecodable: AtomicU64,
}

impl ParallelAnalyzeHost for Host {
    fn analyze(&self, file: &FileEntry<'_>, out: &mut Vec<u8>) -> Verdict {
        let Some(content) = file.content else {
            return Verdict::Failed("no content".into());
        };
        self.analyzed.fetch_add(1, Relaxed);
        out.extend_from_slice(&analyzer::encode(&analyzer::analyze(content)));
        Verdict::Done
    }

    fn on_result(&self, file: &FileEntry<'_>, result: &[u8], _cached: bool) -> Control {
        self.files.fetch_add(1, Relaxed);
        self.bytes.fetch_add(file.size, Relaxed);
        match analyzer::decode(result) {
            Some(m) => self.lines.fetch_add(m.lines, Relaxed),
            None => self.undecodable.fetch_add(1, Relaxed),
        };
        Control::Continue
    }
}

/// Opens the cache, analyzes the tree, closes the cache.
fn analyze_once(ctx: &Context, cache_dir: &Path, threads: usize) -> Result<(RunCounts, Host)> {
    let root = ctx.root.as_path();
    let cache = Cache::open(CacheOptions {
        dir: Some(cache_dir.to_path_buf()),
        ..CacheOptions::default()
    })?;
    let opts = ScanOptions {
        threads,
        max_file_size: ctx.max_file_size,
        callbacks_parallel: true,
        ..ScanOptions::default()
    };
    let host = Host::default();
    let summary = scan::analyze_parallel(root, &opts, Some(&cache), ANALYZER_ID, &host)?;
    drop(cache);
    let undecodable = host.undecodable.load(Relaxed);
    if undecodable > 0 {
        return Err(Error::new(
            crate::ErrorKind::Store,
            format!("{undecodable} cached result(s) could not be decoded"),
        ));
    }
    let counts = RunCounts {
        files: host.files.load(Relaxed),
        bytes: host.bytes.load(Relaxed),
        bytes_read: summary.bytes_read,
        cache_hits: summary.cache_hits,
        cache_misses: host.analyzed.load(Relaxed),
        errors: summary.errors,
    };
    Ok((counts, host))
}

/// Analyze through the cache in a given state.
struct AnalyzeWorkload {
    ctx: Context,
    state: CacheState,
    threads: usize,
    cache_dir: PathBuf,
    filled: bool,
    edited: usize,
    /// The incremental scenario runs on a copy of a real tree.
    mirrored: bool,
}

impl AnalyzeWorkload {
    fn remove_cache(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.cache_dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(
                format!("removing {}", self.cache_dir.display()),
                &e,
            )),
        }
    }
}

impl Workload for AnalyzeWorkload {
    fn prepare(&mut self, iteration: usize) -> Result<()> {
        match self.state {
            CacheState::Cold | CacheState::None => self.remove_cache(),
            CacheState::Warm | CacheState::Incremental => {
                if !self.filled {
                    if self.state == CacheState::Incremental && self.ctx.generated.is_none() {
                        // A real tree is never edited: work on a copy.
                        let copy = self.ctx.work.join("incremental-copy");
                        self.ctx.generated =
                            Some(mirror(&self.ctx.root, &copy, self.ctx.max_file_size)?);
                        self.ctx.root = copy;
                        self.mirrored = true;
                    }
                    self.remove_cache()?;
                    // A generated or copied tree was written a moment ago:
                    // filled now, its first warm run would re-hash it.
                    crate::cache::stamp::settle(&self.ctx.root)?;
                    analyze_once(&self.ctx, &self.cache_dir, self.threads)?;
                    self.filled = true;
                }
                if self.state == CacheState::Incremental {
                    let project = self.ctx.generated.as_ref().ok_or_else(|| {
                        Error::state("the incremental scenario needs a generated project")
                    })?;
                    let edited = generator::modify_sources(
                        &self.ctx.root,
                        project,
                        self.ctx.incremental_fraction,
                        self.ctx.seed,
                        iteration as u64 + 1,
                    )?;
                    self.edited = edited.len();
                }
                Ok(())
            }
        }
    }

    fn run(&mut self) -> Result<RunCounts> {
        analyze_once(&self.ctx, &self.cache_dir, self.threads).map(|(counts, _)| counts)
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!(
            "analyzer {ANALYZER_ID} on {} worker thread(s); persistent cache reopened for every run",
            self.threads
        )];
        if self.mirrored {
            notes.push(format!(
                "run on a temporary copy of the {} scanned files (the real tree is never edited)",
                self.ctx.generated.as_ref().map_or(0, |g| g.files)
            ));
        }
        if self.state == CacheState::Incremental {
            let total = self.ctx.generated.as_ref().map_or(0, |g| g.sources.len());
            notes.push(format!(
                "before each run, {} of {total} source files were edited",
                self.edited
            ));
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::generator::{GenerateOptions, generate};

    fn project() -> (tempfile::TempDir, Context) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("p");
        let g = generate(
            &root,
            &GenerateOptions {
                seed: 5,
                files: 60,
                max_file_size: 200_000,
            },
        )
        .unwrap();
        let ctx = Context {
            root,
            work: dir.path().to_path_buf(),
            generated: Some(g),
            seed: 5,
            incremental_fraction: 0.05,
            max_file_size: 200_000,
        };
        (dir, ctx)
    }

    fn spec(kind: ScenarioKind, cache: CacheState, threads: usize) -> ScenarioSpec {
        ScenarioSpec {
            id: format!("{kind:?}-{cache:?}"),
            title: String::new(),
            kind,
            threads,
            cache,
            page_cache: PageCache::Warm,
        }
    }

    #[test]
    fn count_sees_what_the_generator_made() {
        let (_dir, ctx) = project();
        let g = ctx.generated.as_ref().unwrap();
        assert_eq!(count(&ctx.root).unwrap(), (g.files, g.bytes));
    }

    #[test]
    fn scan_reads_every_file_but_the_oversize_one() {
        let (_dir, ctx) = project();
        let g = ctx.generated.clone().unwrap();
        let mut w = build(&spec(ScenarioKind::Scan, CacheState::None, 2), &ctx).unwrap();
        w.prepare(0).unwrap();
        let c = w.run().unwrap();
        assert_eq!(c.files, g.files - g.oversize_files);
        assert_eq!(c.errors, 0);
        assert!(c.bytes_read > 0 && c.bytes_read == c.bytes);
    }

    #[test]
    fn cold_warm_incremental_hit_what_they_promise() {
        let (_dir, ctx) = project();
        let g = ctx.generated.clone().unwrap();
        let scanned = g.files - g.oversize_files;
        let run = |state, iteration| {
            let mut w = build(&spec(ScenarioKind::Analyze, state, 2), &ctx).unwrap();
            let mut out = Vec::new();
            for i in 0..=iteration {
                w.prepare(i).unwrap();
                out.push(w.run().unwrap());
            }
            (out.pop().unwrap(), w.notes())
        };
        // Cold, even on a second run: everything analyzed again.
        let (cold, _) = run(CacheState::Cold, 1);
        assert_eq!(
            (cold.files, cold.cache_hits, cold.cache_misses),
            (scanned, 0, scanned)
        );
        // Warm: all hits, nothing analyzed, (almost) nothing read.
        let (warm, _) = run(CacheState::Warm, 1);
        assert_eq!(
            (warm.files, warm.cache_hits, warm.cache_misses),
            (scanned, scanned, 0)
        );
        assert!(
            warm.bytes_read < cold.bytes_read / 2,
            "{warm:?} vs {cold:?}"
        );
        // Incremental: the edited files miss, the rest hit.
        let (inc, notes) = run(CacheState::Incremental, 1);
        let edited = (g.sources.len() as f64 * 0.05).ceil() as u64;
        assert_eq!(inc.cache_misses, edited, "{inc:?}");
        assert_eq!(inc.cache_hits, scanned - edited);
        assert!(notes.iter().any(|n| n.contains(&format!("{edited} of"))));
    }

    #[test]
    fn real_trees_are_never_edited_the_incremental_run_uses_a_copy() {
        let (dir, mut ctx) = project();
        let g = ctx.generated.take().unwrap();
        let before = std::fs::read(ctx.root.join(&g.sources[0])).unwrap();
        let mut w = build(
            &spec(ScenarioKind::Analyze, CacheState::Incremental, 1),
            &ctx,
        )
        .unwrap();
        for i in 0..2 {
            w.prepare(i).unwrap();
            let c = w.run().unwrap();
            assert!(c.cache_misses >= 1 && c.cache_hits > 0, "{c:?}");
        }
        assert_eq!(std::fs::read(ctx.root.join(&g.sources[0])).unwrap(), before);
        let notes = w.notes().join(" ");
        assert!(
            notes.contains("temporary copy of the 59 scanned files"),
            "{notes}"
        );
        assert!(dir.path().join("incremental-copy").is_dir());
    }
}
