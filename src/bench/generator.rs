//! Synthetic projects: deterministic from a seed, with a realistic mix of
//! languages, file sizes and directory depths, a `.gitignore` with files it
//! hides, a few binary files and a few files over the scanner's size limit.
//!
//! The same seed and options always give the same tree, byte for byte, so two
//! benchmark runs (or two machines) measure the same work.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// Preset project sizes (number of files, before ignored ones are added).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectSize {
    /// About 100 files.
    Small,
    /// About 5 000 files.
    Medium,
    /// About 50 000 files.
    Large,
}

impl ProjectSize {
    /// Number of files of the preset.
    pub fn files(self) -> usize {
        match self {
            ProjectSize::Small => 100,
            ProjectSize::Medium => 5_000,
            ProjectSize::Large => 50_000,
        }
    }

    /// Lower-case name, as in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ProjectSize::Small => "small",
            ProjectSize::Medium => "medium",
            ProjectSize::Large => "large",
        }
    }

    /// Parses "small", "medium" or "large".
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "small" => Some(ProjectSize::Small),
            "medium" => Some(ProjectSize::Medium),
            "large" => Some(ProjectSize::Large),
            _ => None,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateOptions {
    /// Seed of the pseudo-random generator: same seed, same tree.
    pub seed: u64,
    /// Files the scanner is meant to see (source, text and binary files,
    /// oversize ones included); ignored files come on top.
    pub files: usize,
    /// Size limit of the scanner; oversize files are just above it.
    pub max_file_size: u64,
}

impl GenerateOptions {
    /// Options for a preset size.
    pub fn preset(size: ProjectSize, seed: u64) -> Self {
        GenerateOptions {
            seed,
            files: size.files(),
            max_file_size: 10 * 1024 * 1024,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratedProject {
    /// Files the scanner should meet (not hidden, not ignored).
    pub files: u64,
    /// Their total size in bytes (oversize files included).
    pub bytes: u64,
    /// Of `files`, those with binary content.
    pub binary_files: u64,
    /// Of `files`, those above `max_file_size` (skipped by the scanner).
    pub oversize_files: u64,
    /// Files hidden by `.gitignore` (not in `files`).
    pub ignored_files: u64,
    /// Directories created (the root excluded).
    pub dirs: u64,
    /// Deepest directory level of a file (0: in the root).
    pub max_depth: u64,
    /// Files per language name, sorted by name.
    pub languages: Vec<(String, u64)>,
    /// Relative paths of the text source files, in generation order: the
    /// files an incremental scenario may edit.
    #[serde(skip)]
    pub sources: Vec<PathBuf>,
}

/// SplitMix64: tiny, fast, and good enough to pick words and sizes.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x005E_ED0F_F7F0_0D5E)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A language of the mix: extension, comment leader, relative weight.
struct Lang {
    name: &'static str,
    ext: &'static str,
    comment: &'static str,
    weight: u64,
}

/// Roughly the mix of a polyglot repository of an analysis tool.
const LANGS: &[Lang] = &[
    Lang {
        name: "python",
        ext: "py",
        comment: "#",
        weight: 20,
    },
    Lang {
        name: "javascript",
        ext: "js",
        comment: "//",
        weight: 14,
    },
    Lang {
        name: "typescript",
        ext: "ts",
        comment: "//",
        weight: 12,
    },
    Lang {
        name: "rust",
        ext: "rs",
        comment: "//",
        weight: 12,
    },
    Lang {
        name: "go",
        ext: "go",
        comment: "//",
        weight: 8,
    },
    Lang {
        name: "java",
        ext: "java",
        comment: "//",
        weight: 7,
    },
    Lang {
        name: "c",
        ext: "c",
        comment: "//",
        weight: 5,
    },
    Lang {
        name: "c",
        ext: "h",
        comment: "//",
        weight: 3,
    },
    Lang {
        name: "ruby",
        ext: "rb",
        comment: "#",
        weight: 4,
    },
    Lang {
        name: "markdown",
        ext: "md",
        comment: "",
        weight: 6,
    },
    Lang {
        name: "json",
        ext: "json",
        comment: "",
        weight: 4,
    },
    Lang {
        name: "yaml",
        ext: "yaml",
        comment: "#",
        weight: 3,
    },
    Lang {
        name: "toml",
        ext: "toml",
        comment: "#",
        weight: 2,
    },
];

const WORDS: &[&str] = &[
    "user", "order", "cache", "index", "parse", "token", "node", "tree", "file", "path", "scan",
    "buffer", "config", "report", "metric", "query", "result", "error", "value", "count", "item",
    "list", "map", "key", "hash", "graph", "edge", "state", "event", "queue", "worker", "task",
    "client", "server", "request", "response", "handler", "module", "schema", "field", "record",
    "batch", "stream", "chunk", "offset", "limit", "filter", "visit", "walk", "emit", "load",
    "store", "check", "rule", "lint", "fix", "span", "line", "column", "source", "target",
];

const DIR_WORDS: &[&str] = &[
    "src",
    "lib",
    "core",
    "utils",
    "api",
    "models",
    "services",
    "handlers",
    "internal",
    "pkg",
    "components",
    "views",
    "tests",
    "fixtures",
    "scripts",
    "tools",
    "docs",
    "config",
    "db",
    "parser",
    "analysis",
    "reports",
    "web",
    "cli",
    "net",
    "io",
    "storage",
    "plugins",
    "common",
];

fn word(rng: &mut Rng) -> &'static str {
    rng.pick::<&str>(WORDS)
}

fn ident(rng: &mut Rng) -> String {
    let mut s = String::with_capacity(24);
    push_ident(rng, &mut s);
    s
}

/// Appends an identifier: `word`, `word_word` or `word42`.
fn push_ident(rng: &mut Rng, out: &mut String) {
    out.push_str(word(rng));
    match rng.below(3) {
        0 => {}
        1 => {
            out.push('_');
            out.push_str(word(rng));
        }
        _ => push_num(out, rng.below(100)),
    }
}

fn push_num(out: &mut String, n: u64) {
    use std::fmt::Write;
    let _ = write!(out, "{n}");
}

/// One plausible line of code (or prose) in `lang`, appended to `out`
/// without temporary strings (the generator writes ~50 MB for a medium
/// project).
fn line(rng: &mut Rng, lang: &Lang, out: &mut String) {
    for _ in 0..rng.below(4) {
        out.push_str("    ");
    }
    match lang.ext {
        "md" => {
            let n = rng.range(4, 16);
            for i in 0..n {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(word(rng));
            }
            out.push('.');
        }
        "json" => {
            out.push('"');
            push_ident(rng, out);
            out.push_str("\": ");
            push_num(out, rng.below(10_000));
            out.push(',');
        }
        "yaml" | "toml" => {
            push_ident(rng, out);
            out.push_str(if lang.ext == "yaml" { ": \"" } else { " = \"" });
            out.push_str(word(rng));
            out.push('"');
        }
        _ => match rng.below(10) {
            0 => {
                out.push_str(lang.comment);
                out.push(' ');
                out.push_str(word(rng));
                out.push(' ');
                out.push_str(word(rng));
                if rng.chance(0.1) {
                    out.push_str(" TODO: ");
                    out.push_str(word(rng));
                }
            }
            1 => {
                let (head, mid, tail) = match lang.ext {
                    "py" => ("def ", "(self, ", "):"),
                    "rb" => ("def ", "(", ")"),
                    "rs" => ("fn ", "(", ": u64) -> u64 {"),
                    "go" => ("func ", "(", " int) int {"),
                    _ => ("function ", "(", ") {"),
                };
                out.push_str(head);
                push_ident(rng, out);
                out.push_str(mid);
                out.push_str(word(rng));
                out.push_str(tail);
            }
            2 => {
                out.push_str("if ");
                push_ident(rng, out);
                out.push_str(" > ");
                push_num(out, rng.below(1000));
                out.push_str(" {");
            }
            3 => {
                out.push_str("return ");
                push_ident(rng, out);
                out.push('(');
                push_ident(rng, out);
                out.push_str(");");
            }
            4 => {
                push_ident(rng, out);
                out.push_str(" = \"");
                out.push_str(word(rng));
                out.push(' ');
                out.push_str(word(rng));
                out.push_str("\";");
            }
            5 => out.push('}'),
            _ => {
                push_ident(rng, out);
                out.push_str(" = ");
                push_ident(rng, out);
                out.push('.');
                out.push_str(word(rng));
                out.push('(');
                push_ident(rng, out);
                out.push_str(", ");
                push_num(out, rng.below(4096));
                out.push_str(");");
            }
        },
    }
    out.push('\n');
}

/// Target size of a text file: mostly small, a long tail of big ones.
fn text_size(rng: &mut Rng) -> usize {
    let roll = rng.below(100);
    let (lo, hi) = match roll {
        0..=44 => (200, 2_048),
        45..=84 => (2_048, 12_288),
        85..=97 => (12_288, 49_152),
        _ => (49_152, 163_840),
    };
    rng.range(lo, hi) as usize
}

fn text_content(rng: &mut Rng, lang: &Lang, size: usize) -> String {
    let mut out = String::with_capacity(size + 128);
    if !lang.comment.is_empty() {
        out.push_str(&format!("{} generated by wtfperf bench\n", lang.comment));
    }
    while out.len() < size {
        if rng.chance(0.08) {
            out.push('\n');
        } else {
            line(rng, lang, &mut out);
        }
    }
    out
}

fn binary_content(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 8);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    while out.len() < size {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(size.max(8));
    out
}

fn pick_lang(rng: &mut Rng) -> &'static Lang {
    let total: u64 = LANGS.iter().map(|l| l.weight).sum();
    let mut roll = rng.below(total);
    for lang in LANGS {
        if roll < lang.weight {
            return lang;
        }
        roll -= lang.weight;
    }
    &LANGS[0]
}

/// How long ago generated files were "last edited".
/// cbindgen:ignore
pub const AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Writes a file dated [`AGE`] ago, as in a checkout nobody touched for a
/// while (a file written a moment ago is "racy" for the cache and is
/// re-hashed rather than trusted on its metadata, which is not the steady
/// state a warm-cache scenario measures).
pub(crate) fn write(root: &Path, rel: &Path, data: &[u8]) -> Result<()> {
    let path = root.join(rel);
    let fail = |e: std::io::Error| Error::io(format!("writing {}", path.display()), &e);
    let mut file = fs::File::create(&path).map_err(fail)?;
    std::io::Write::write_all(&mut file, data).map_err(fail)?;
    let then = std::time::SystemTime::now() - AGE;
    file.set_times(fs::FileTimes::new().set_modified(then).set_accessed(then))
        .map_err(fail)
}

pub(crate) fn mkdir(root: &Path, rel: &Path) -> Result<()> {
    let path = root.join(rel);
    fs::create_dir_all(&path).map_err(|e| Error::io(format!("creating {}", path.display()), &e))
}

const GITIGNORE: &str =
    "# generated by wtfperf bench\ntarget/\nnode_modules/\nbuild/\n*.log\n*.tmp\n";

/// The largest `max_file_size` the generator takes: it writes files just
/// over it, each built in memory first.
pub(crate) const MAX_GENERATED_LIMIT: u64 = 1 << 30;

/// Generates a project into `root` (created if missing; must be empty).
pub fn generate(root: &Path, options: &GenerateOptions) -> Result<GeneratedProject> {
    if options.files == 0 {
        return Err(Error::invalid("a generated project needs at least 1 file"));
    }
    if options.max_file_size > MAX_GENERATED_LIMIT {
        return Err(Error::invalid(format!(
            "max_file_size {} is over {MAX_GENERATED_LIMIT} bytes: the generator writes \
             files just over it",
            options.max_file_size
        )));
    }
    fs::create_dir_all(root).map_err(|e| Error::io(format!("creating {}", root.display()), &e))?;
    let mut entries =
        fs::read_dir(root).map_err(|e| Error::io(format!("reading {}", root.display()), &e))?;
    if entries.next().is_some() {
        return Err(Error::invalid(format!(
            "{} is not empty: the generator only writes into an empty directory",
            root.display()
        )));
    }
    let mut rng = Rng::new(options.seed);
    let mut out = GeneratedProject::default();
    let mut langs: std::collections::BTreeMap<&str, u64> = Default::default();

    write(root, Path::new(".gitignore"), GITIGNORE.as_bytes())?;
    // A repository marker, as in a real checkout (hidden: never scanned).
    mkdir(root, Path::new(".git"))?;
    write(root, Path::new(".git/HEAD"), b"ref: refs/heads/main\n")?;

    // Directories: about 12 files per directory, depths 1..=8, grown as a
    // tree so deep paths share their parents.
    let n_dirs = (options.files / 12).max(1);
    let mut dirs: Vec<(PathBuf, u64)> = vec![(PathBuf::new(), 0)];
    let mut seen = std::collections::HashSet::new();
    while dirs.len() <= n_dirs {
        let (parent, depth) = dirs[rng.below(dirs.len() as u64) as usize].clone();
        if depth >= 8 {
            continue;
        }
        let name = format!("{}{}", *rng.pick(DIR_WORDS), rng.below(50));
        let child = parent.join(name);
        if !seen.insert(child.clone()) {
            continue;
        }
        mkdir(root, &child)?;
        dirs.push((child, depth + 1));
    }
    out.dirs = (dirs.len() - 1) as u64;

    let oversize = if options.files >= 20 {
        1 + options.files as u64 / 20_000
    } else {
        0
    };
    let binary = (options.files as u64 / 50).max(u64::from(options.files >= 10));
    // Ordinary files stay well below the limit (a line may overshoot a size).
    let cap = (options.max_file_size / 2).max(64) as usize;
    for i in 0..options.files as u64 {
        let (dir, depth) = dirs[rng.below(dirs.len() as u64) as usize].clone();
        out.max_depth = out.max_depth.max(depth);
        let stem = format!("{}_{i}", ident(&mut rng));
        let (rel, data, lang) = if i < oversize {
            let size = options.max_file_size as usize + 1 + rng.below(4096) as usize;
            let lang = &LANGS[1];
            let mut data = text_content(&mut rng, lang, 65_536).into_bytes();
            let unit = data.clone();
            while data.len() < size {
                data.extend_from_slice(&unit);
            }
            data.truncate(size);
            out.oversize_files += 1;
            (dir.join(format!("{stem}.min.js")), data, lang.name)
        } else if i < oversize + binary {
            let size = (rng.range(512, 65_536) as usize).min(cap);
            out.binary_files += 1;
            (
                dir.join(format!("{stem}.png")),
                binary_content(&mut rng, size),
                "binary",
            )
        } else {
            let lang = pick_lang(&mut rng);
            let size = text_size(&mut rng).min(cap);
            let rel = dir.join(format!("{stem}.{}", lang.ext));
            out.sources.push(rel.clone());
            (
                rel,
                text_content(&mut rng, lang, size).into_bytes(),
                lang.name,
            )
        };
        write(root, &rel, &data)?;
        out.files += 1;
        out.bytes += data.len() as u64;
        *langs.entry(lang).or_default() += 1;
    }

    // Ignored files: build output, dependencies and logs (about 5 %).
    let ignored = (options.files / 20).max(1);
    for i in 0..ignored {
        let rel = match i % 3 {
            0 => PathBuf::from(format!("node_modules/{}/index_{i}.js", *rng.pick(WORDS))),
            1 => PathBuf::from(format!("build/out_{i}.o")),
            _ => PathBuf::from(format!("{}_{i}.log", *rng.pick(WORDS))),
        };
        if let Some(parent) = rel.parent() {
            mkdir(root, parent)?;
        }
        let lang = &LANGS[1];
        let size = text_size(&mut rng);
        write(root, &rel, text_content(&mut rng, lang, size).as_bytes())?;
        out.ignored_files += 1;
    }
    out.languages = langs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    Ok(out)
}

/// Edits `fraction` of the project's source files (at least one) so their
/// content changes, as a developer's commit would; `round` picks different
/// files and text each time. Returns the edited relative paths.
pub fn modify_sources(
    root: &Path,
    project: &GeneratedProject,
    fraction: f64,
    seed: u64,
    round: u64,
) -> Result<Vec<PathBuf>> {
    let n = project.sources.len();
    if n == 0 {
        return Ok(Vec::new());
    }
    let want = ((n as f64 * fraction).ceil() as usize).clamp(1, n);
    let mut rng = Rng::new(seed ^ round.wrapping_mul(0xA24B_AED4_963E_E407));
    let mut chosen = std::collections::BTreeSet::new();
    while chosen.len() < want {
        chosen.insert(rng.below(n as u64) as usize);
    }
    let mut edited = Vec::with_capacity(want);
    for i in chosen {
        let rel = &project.sources[i];
        let path = root.join(rel);
        let mut text =
            fs::read(&path).map_err(|e| Error::io(format!("reading {}", path.display()), &e))?;
        text.extend_from_slice(format!("\n// edit {round}: {}\n", ident(&mut rng)).as_bytes());
        fs::write(&path, &text)
            .map_err(|e| Error::io(format!("writing {}", path.display()), &e))?;
        edited.push(rel.clone());
    }
    Ok(edited)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn snapshot(root: &Path) -> BTreeMap<PathBuf, u128> {
        let mut out = BTreeMap::new();
        for entry in walkdir::WalkDir::new(root) {
            let entry = entry.unwrap();
            if entry.file_type().is_file() {
                let data = fs::read(entry.path()).unwrap();
                let rel = entry.path().strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, xxhash_rust::xxh3::xxh3_128(&data));
            }
        }
        out
    }

    fn small(seed: u64) -> GenerateOptions {
        GenerateOptions {
            seed,
            files: 120,
            max_file_size: 100_000,
        }
    }

    #[test]
    fn same_seed_same_tree_other_seed_other_tree() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let pa = generate(a.path(), &small(7)).unwrap();
        let pb = generate(b.path(), &small(7)).unwrap();
        let pc = generate(c.path(), &small(8)).unwrap();
        assert_eq!(pa, pb);
        assert_eq!(snapshot(a.path()), snapshot(b.path()));
        assert_ne!(snapshot(a.path()), snapshot(c.path()));
        assert_ne!(pa.bytes, pc.bytes);
    }

    #[test]
    fn counts_match_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let opts = small(1);
        let p = generate(dir.path(), &opts).unwrap();
        let snap = snapshot(dir.path());
        let visible: Vec<_> = snap
            .keys()
            .filter(|k| {
                let s = k.to_string_lossy();
                !s.starts_with('.')
                    && !s.starts_with("node_modules")
                    && !s.starts_with("build/")
                    && !s.ends_with(".log")
            })
            .collect();
        assert_eq!(visible.len() as u64, p.files);
        assert_eq!(p.files, opts.files as u64);
        assert!(p.ignored_files >= 1);
        assert_eq!(snap.len() as u64, p.files + p.ignored_files + 2);
        assert!(p.binary_files >= 2);
        assert_eq!(p.oversize_files, 1);
        let big = visible
            .iter()
            .filter(|k| fs::metadata(dir.path().join(k)).unwrap().len() > opts.max_file_size)
            .count();
        assert_eq!(big, 1);
        let total: u64 = visible
            .iter()
            .map(|k| fs::metadata(dir.path().join(k)).unwrap().len())
            .sum();
        assert_eq!(total, p.bytes);
        assert!(p.max_depth >= 2, "depth {}", p.max_depth);
        assert!(p.languages.len() >= 6, "{:?}", p.languages);
        let age = fs::metadata(dir.path().join(visible[0]))
            .unwrap()
            .modified()
            .unwrap()
            .elapsed()
            .unwrap();
        assert!(age >= AGE - std::time::Duration::from_secs(5), "{age:?}");
        assert_eq!(p.languages.iter().map(|(_, n)| n).sum::<u64>(), p.files);
    }

    #[test]
    fn refuses_a_non_empty_directory_and_zero_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x"), b"x").unwrap();
        assert_eq!(
            generate(dir.path(), &small(1)).unwrap_err().kind,
            crate::ErrorKind::Invalid
        );
        let empty = tempfile::tempdir().unwrap();
        let zero = GenerateOptions {
            files: 0,
            ..small(1)
        };
        assert!(generate(empty.path(), &zero).is_err());
    }

    #[test]
    fn modify_edits_one_percent_deterministically() {
        let dir = tempfile::tempdir().unwrap();
        let p = generate(dir.path(), &small(3)).unwrap();
        let before = snapshot(dir.path());
        let edited = modify_sources(dir.path(), &p, 0.01, 3, 1).unwrap();
        assert_eq!(
            edited.len(),
            (p.sources.len() as f64 * 0.01).ceil() as usize
        );
        let after = snapshot(dir.path());
        let changed: Vec<_> = before.keys().filter(|k| before[*k] != after[*k]).collect();
        assert_eq!(changed.len(), edited.len());
        let again = modify_sources(dir.path(), &p, 0.01, 3, 1).unwrap();
        assert_eq!(edited, again);
        let other = modify_sources(dir.path(), &p, 0.05, 3, 2).unwrap();
        assert!(other.len() > edited.len());
    }

    #[test]
    fn rng_is_uniform_enough() {
        let mut rng = Rng::new(1);
        let mut buckets = [0u32; 10];
        for _ in 0..10_000 {
            buckets[rng.below(10) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|&b| (800..1200).contains(&b)),
            "{buckets:?}"
        );
    }
}
