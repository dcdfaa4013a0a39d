//! The stored results of one analysis set (analyzer id, namespace) in the
//! form a warm `analyze` reads: one blob, used as it is loaded (no parsing,
//! no per-record allocation), laid out so that a lookup touches memory the
//! walk is already near.
//!
//! Records are grouped by directory and sorted by name within it. A lookup
//! splits the relative path at its last `/`, finds the directory in a small
//! open-addressing table (a few thousand directories for a kernel tree: it
//! stays in cache) and then the name in the directory's own small table of
//! name hashes (one probe, about: a binary search of the names mispredicted
//! a branch at every other step). A directory's records and name
//! table lie next to each other; a table keyed by the whole path (the
//! first format) cost a cache miss per file on a large tree.
//!
//! Format 4, integers little-endian, every section at a multiple of 8
//! bytes (the blob is read into 8-byte words: a field is one load):
//!
//! ```text
//! header   magic "WTFSNAP4", checksum (XXH3 of every byte after it, u64),
//!          records, dirs, table slots (a power of two), dirs_at, recs_at,
//!          names_at, heap_at, min_expires (i64), token (16 bytes: names the
//!          snapshot file this blob is, zero when none)        -- 96 bytes
//! table    per slot: upper 32 bits of the dir hash, dir index + 1 (0: empty)
//! dirs     per dir: path offset (u64), path length, first record, records,
//!          where its name table starts (in entries)
//! records  per record: the name's head (its first 8 bytes, see `head`:
//!          most names are told apart there), name offset (56 bits) and
//!          language code (8 bits, 0: none), name length and value length
//!          (u32 each), value offset, expiry (i64), size, mtime_ns, inode,
//!          hash (16 bytes, as `xxhsum -H2` prints it), recorded_ns,
//!          ctime_ns (`CTIME_UNKNOWN` when not recorded)  -- 96 bytes
//! names    per dir of n records: a table of (2n rounded up to a power of
//!          two) u32 entries, open addressing by the name's XXH3: the
//!          hash's upper bits above b, the record's place in the dir + 1 in
//!          the low b bits (b: the bits of n; 0: empty); padded to 8 bytes
//! heap     directory paths, names, values
//! ```
//!
//! The blob is checked whole (magic, checksum, section bounds) before use;
//! every later read is bounds-checked too, so a damaged blob is refused or
//! reads as "not stored", never a crash. A blob of an older format (format
//! 3: records of 88 bytes, without the ctime) is refused by its magic: the
//! rows are read instead and a new snapshot is written.

use super::analysis::{decode_stamp, stored_language};
use super::stamp::FileStamp;
use crate::scan::Language;
use std::collections::HashMap;

const MAGIC: &[u8; 8] = b"WTFSNAP4";
const HEADER: usize = 96;
/// Where the header keeps the blob's token (16 bytes).
const TOKEN_AT: usize = 80;
const SLOT_LEN: usize = 8;
const DIR_LEN: usize = 24;
const REC_LEN: usize = 96;

/// At most this many bytes of a directory's name table, and of its records, are
/// fetched ahead when a thread's lookups reach it.
const WARM_MAX: usize = 8 << 10;

/// Where the magic ends and what the checksum covers starts.
const CHECKED_FROM: usize = 16;

fn checksum(bytes: &[u8]) -> u64 {
    // twox-hash picks AVX2 at run time: a few hundred µs for 8 MB.
    twox_hash::XxHash3_128::oneshot(bytes) as u64
}

/// The hash of a directory path (its table slot) or of a name (its place
/// in the directory's name table).
fn hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// The low bits of a name-table entry that hold a record's place + 1 in a
/// directory of `n` records.
fn place_bits(n: usize) -> u32 {
    usize::BITS - n.leading_zeros()
}

/// Entries of the name table of a directory of `n` records.
fn table_len(n: usize) -> usize {
    (n * 2).next_power_of_two().max(2)
}

/// What a name-table entry keeps of a name's hash (in a directory whose
/// places take `bits` bits).
fn tag_of(hash: u64, bits: u32) -> u64 {
    (hash >> 32) >> bits
}

/// A relative path's directory part and name (split at the last `/`).
pub(crate) fn split(rel_path: &[u8]) -> (&[u8], &[u8]) {
    match rel_path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&rel_path[..i], &rel_path[i + 1..]),
        None => (&[], rel_path),
    }
}

/// The `N` bytes of `s` at `at`.
fn at<const N: usize>(s: &[u8], at: usize) -> [u8; N] {
    s[at..at + N].try_into().expect("N bytes")
}

/// A name's head: its first 8 bytes; a shorter name's bytes in two
/// overlapping pieces (first and last 4, or 2, bytes: no copy of a variable
/// length). With the length it tells names of up to 8 bytes apart.
fn head(name: &[u8]) -> u64 {
    let n = name.len();
    match n {
        8.. => u64::from_le_bytes(at(name, 0)),
        4..=7 => {
            let piece = |i| u64::from(u32::from_le_bytes(at(name, i)));
            piece(0) | piece(n - 4) << 32
        }
        2..=3 => {
            let piece = |i| u64::from(u16::from_le_bytes(at(name, i)));
            piece(0) | piece(n - 2) << 16
        }
        1 => u64::from(name[0]),
        _ => 0,
    }
}

/// `a == b`, inlined for the short paths compared once per lookup (a
/// `memcmp` call costs more than the comparison): whole words, the last one
/// overlapping the one before (no byte loop, no copy), or-ed together so
/// that the compiler does not turn it back into a `memcmp` call.
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        let w = |s: &[u8], i: usize| u64::from_ne_bytes(at(s, i));
        let mut differ = w(a, n - 8) ^ w(b, n - 8);
        let mut i = 0;
        while i + 8 <= n {
            differ |= w(a, i) ^ w(b, i);
            i += 8;
        }
        return differ == 0;
    }
    if n >= 4 {
        let w = |s: &[u8], i: usize| u32::from_ne_bytes(at(s, i));
        return (w(a, 0) ^ w(b, 0)) | (w(a, n - 4) ^ w(b, n - 4)) == 0;
    }
    if n >= 2 {
        let w = |s: &[u8], i: usize| u16::from_ne_bytes(at(s, i));
        return (w(a, 0) ^ w(b, 0)) | (w(a, n - 2) ^ w(b, n - 2)) == 0;
    }
    n == 0 || a[0] == b[0]
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The bytes of `words`, in memory order.
fn as_bytes(words: &[u64]) -> &[u8] {
    // SAFETY: a u64 slice is valid as a u8 slice of 8 times its length:
    // same memory, alignment 1 <= 8, every byte pattern a valid u8.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), words.len() * 8) }
}

/// The bytes of `words`, in memory order, writable.
fn as_bytes_mut(words: &mut [u64]) -> &mut [u8] {
    // SAFETY: as in `as_bytes`; the u8 slice borrows `words` mutably, so it
    // is the only view while it lives, and every byte pattern is a valid u64.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 8) }
}

/// The first `len` bytes of `file` as words (the last one zero-padded),
/// read by `read(2)` straight into memory not zeroed first (zeroing a
/// snapshot's megabytes cost a fifth of its load).
fn read_words(file: &std::fs::File, len: usize) -> std::io::Result<Vec<u64>> {
    use std::mem::MaybeUninit;
    let n = len.div_ceil(8);
    // Fallible: the size comes from the file, which may be damaged (a
    // snapshot that cannot be held is ignored, never an abort).
    let mut words: Vec<u64> = Vec::new();
    words
        .try_reserve_exact(n)
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::OutOfMemory))?;
    let spare = &mut words.spare_capacity_mut()[..n];
    // The zero padding of the last word.
    if let Some(last) = spare.last_mut() {
        last.write(0);
    }
    // SAFETY: the n words' memory as 8n bytes (alignment 1, and as
    // MaybeUninit nothing is read), borrowed from `spare` alone.
    let bytes = unsafe {
        std::slice::from_raw_parts_mut(spare.as_mut_ptr().cast::<MaybeUninit<u8>>(), n * 8)
    };
    if crate::scan::read::read_into(file, &mut bytes[..len])? < len {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    // SAFETY: every byte of the n words is written: read(2) wrote the first
    // `len` bytes, and the last word's padding was zeroed before.
    unsafe { words.set_len(n) };
    Ok(words)
}

/// `bytes` as words of the same memory content (a copy).
fn words_of(bytes: &[u8]) -> Vec<u64> {
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    as_bytes_mut(&mut words)[..bytes.len()].copy_from_slice(bytes);
    words
}

/// One record of an [`AnalysisIndex`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownRecord<'a> {
    /// The directory part of the relative path (`""` at the root).
    pub dir: &'a [u8],
    /// The file name.
    pub name: &'a [u8],
    pub stamp: FileStamp,
    pub value: &'a [u8],
    /// The language the file was found to be in when it was analyzed.
    pub language: Option<Language>,
}

impl KnownRecord<'_> {
    /// The path relative to the scan root, '/'-separated, raw bytes.
    pub fn rel_path(&self) -> Vec<u8> {
        if self.dir.is_empty() {
            return self.name.to_vec();
        }
        let mut out = Vec::with_capacity(self.dir.len() + 1 + self.name.len());
        out.extend_from_slice(self.dir);
        out.push(b'/');
        out.extend_from_slice(self.name);
        out
    }
}

/// Collects records (any order, a path may come twice: the later one
/// counts) and lays them out as a blob of the format above.
#[derive(Default)]
pub struct IndexBuilder {
    arena: Vec<u8>,
    items: Vec<Item>,
}

struct Item {
    path_at: usize,
    path_len: usize,
    value_len: usize,
    expires: i64,
    stamp: FileStamp,
    language: Option<Language>,
}

impl IndexBuilder {
    pub fn new() -> Self {
        IndexBuilder::default()
    }

    /// Adds a record.
    pub fn push(
        &mut self,
        rel_path: &[u8],
        stamp: FileStamp,
        value: &[u8],
        expires_ns: i64,
        language: Option<Language>,
    ) {
        let path_at = self.arena.len();
        self.arena.extend_from_slice(rel_path);
        self.arena.extend_from_slice(value);
        self.items.push(Item {
            path_at,
            path_len: rel_path.len(),
            value_len: value.len(),
            expires: expires_ns,
            stamp,
            language,
        });
    }

    /// Adds a record whose stamp is in its stored form (left out when that
    /// is malformed: the file is analyzed again).
    pub fn push_stored(&mut self, rel_path: &[u8], stamp: &[u8], value: &[u8], expires_ns: i64) {
        if let Some(s) = decode_stamp(stamp) {
            let language = stored_language(stamp, split(rel_path).1);
            self.push(rel_path, s, value, expires_ns, language);
        }
    }

    fn path(&self, item: &Item) -> &[u8] {
        &self.arena[item.path_at..item.path_at + item.path_len]
    }

    fn value(&self, item: &Item) -> &[u8] {
        let at = item.path_at + item.path_len;
        &self.arena[at..at + item.value_len]
    }

    /// The blob (records left out when a length does not fit the format).
    pub fn finish(self) -> Vec<u8> {
        self.finish_with_token([0; 16])
    }

    /// The blob, its header carrying `token`.
    pub fn finish_with_token(self, token: [u8; 16]) -> Vec<u8> {
        let mut blob = Vec::new();
        let sum = self
            .write_to(token, &mut blob)
            .expect("a Vec takes every write");
        blob[8..CHECKED_FROM].copy_from_slice(&sum);
        blob
    }

    /// Writes the blob to `w` as it is laid out, not built in memory first
    /// (for a large tree that was half of what a save took), except for its
    /// checksum: it returns it, for the caller to write at offset 8 (zeros
    /// are written there).
    pub fn write_to<W: std::io::Write>(self, token: [u8; 16], w: W) -> std::io::Result<[u8; 8]> {
        // Group by directory, in order of first appearance (rows come in
        // path order, so a directory's names mostly come sorted already).
        let mut dir_of: HashMap<&[u8], u32> = HashMap::new();
        let mut dirs: Vec<(&[u8], u32)> = Vec::new(); // (path, records)
        let mut item_dir = Vec::with_capacity(self.items.len());
        for item in &self.items {
            let (dir, name) = split(self.path(item));
            if u32::try_from(name.len()).is_err() || u32::try_from(item.value_len).is_err() {
                item_dir.push(u32::MAX);
                continue;
            }
            let next = dirs.len() as u32;
            let d = *dir_of.entry(dir).or_insert(next);
            if d == next {
                dirs.push((dir, 0));
            }
            dirs[d as usize].1 += 1;
            item_dir.push(d);
        }
        let mut first = Vec::with_capacity(dirs.len() + 1);
        let mut at = 0u32;
        for (_, n) in &dirs {
            first.push(at);
            at += n;
        }
        first.push(at);
        let mut order = vec![usize::MAX; at as usize];
        let mut fill = first.clone();
        for (i, &d) in item_dir.iter().enumerate() {
            if d != u32::MAX {
                order[fill[d as usize] as usize] = i;
                fill[d as usize] += 1;
            }
        }
        // Sort each directory by name; of equal names keep the later one.
        let name_of = |i: usize| split(self.path(&self.items[i])).1;
        let mut kept: Vec<usize> = Vec::with_capacity(order.len());
        let mut dir_ranges: Vec<(u32, u32)> = Vec::with_capacity(dirs.len());
        for d in 0..dirs.len() {
            let range = &mut order[first[d] as usize..first[d + 1] as usize];
            range.sort_by(|&a, &b| name_of(a).cmp(name_of(b)));
            let start = kept.len() as u32;
            for (k, &i) in range.iter().enumerate() {
                let later_same = range.get(k + 1).is_some_and(|&j| name_of(j) == name_of(i));
                if !later_same {
                    kept.push(i);
                }
            }
            dir_ranges.push((start, kept.len() as u32 - start));
        }

        drop((order, item_dir, fill, dir_of));
        let slots = (dirs.len() * 2).next_power_of_two().max(16);
        let dirs_at = HEADER + slots * SLOT_LEN;
        let recs_at = dirs_at + dirs.len() * DIR_LEN;
        let names_at = recs_at + kept.len() * REC_LEN;
        let mut tables = Vec::with_capacity(dirs.len());
        let mut entries = 0usize;
        for &(_, n) in &dir_ranges {
            tables.push(entries);
            entries += table_len(n as usize);
        }
        let heap_at = names_at + entries.div_ceil(2) * 8;
        let min_expires = kept
            .iter()
            .map(|&i| self.items[i].expires)
            .min()
            .unwrap_or(i64::MAX);

        let mut out = Out::new(w);
        let mut header = [0u8; HEADER];
        header[..8].copy_from_slice(MAGIC);
        for (k, v) in [
            kept.len() as u64,
            dirs.len() as u64,
            slots as u64,
            dirs_at as u64,
            recs_at as u64,
            names_at as u64,
            heap_at as u64,
            min_expires as u64,
        ]
        .into_iter()
        .enumerate()
        {
            header[CHECKED_FROM + k * 8..CHECKED_FROM + k * 8 + 8]
                .copy_from_slice(&v.to_le_bytes());
        }
        header[TOKEN_AT..TOKEN_AT + 16].copy_from_slice(&token);
        out.header(&header)?;
        // The directory table.
        let mut table = vec![0u64; slots];
        for (d, (path, _)) in dirs.iter().enumerate() {
            let h = hash(path);
            let mut s = (h as usize) & (slots - 1);
            while table[s] != 0 {
                s = (s + 1) & (slots - 1);
            }
            table[s] = (h >> 32) | (d as u64 + 1) << 32;
        }
        for slot in table {
            out.u64(slot)?;
        }
        // The heap holds directory paths, then names, then values.
        let mut heap = heap_at as u64;
        for (d, (path, _)) in dirs.iter().enumerate() {
            let (first, n) = dir_ranges[d];
            out.u64(heap)?;
            out.u64(path.len() as u64 | u64::from(first) << 32)?;
            out.u64(u64::from(n) | (tables[d] as u64) << 32)?;
            heap += path.len() as u64;
        }
        let names_len: u64 = kept.iter().map(|&i| name_of(i).len() as u64).sum();
        let mut value_at = heap + names_len;
        for &i in &kept {
            let (item, name) = (&self.items[i], name_of(i));
            let s = &item.stamp;
            let language = item.language.map_or(0, Language::code);
            out.u64(head(name))?;
            out.u64(heap | u64::from(language) << 56)?;
            out.u64(name.len() as u64 | (item.value_len as u64) << 32)?;
            out.u64(value_at)?;
            out.u64(item.expires as u64)?;
            out.u64(s.size)?;
            out.u64(s.mtime_ns as u64)?;
            out.u64(s.inode)?;
            out.bytes(&s.hash)?;
            out.u64(s.recorded_ns as u64)?;
            out.u64(s.ctime_ns as u64)?;
            heap += name.len() as u64;
            value_at += item.value_len as u64;
        }
        // Each directory's name table.
        let mut names = vec![0u32; entries.div_ceil(2) * 2];
        for (d, &(first, n)) in dir_ranges.iter().enumerate() {
            let (first, n) = (first as usize, n as usize);
            let (bits, len) = (place_bits(n), table_len(n));
            let table = &mut names[tables[d]..tables[d] + len];
            for (place, &i) in kept[first..first + n].iter().enumerate() {
                let h = hash(name_of(i));
                let mut s = h as usize & (len - 1);
                while table[s] != 0 {
                    s = (s + 1) & (len - 1);
                }
                table[s] = ((tag_of(h, bits) << bits) | (place as u64 + 1)) as u32;
            }
        }
        for pair in names.chunks_exact(2) {
            out.u64(u64::from(pair[0]) | u64::from(pair[1]) << 32)?;
        }
        for (path, _) in &dirs {
            out.bytes(path)?;
        }
        for &i in &kept {
            out.bytes(name_of(i))?;
        }
        for &i in &kept {
            out.bytes(self.value(&self.items[i]))?;
        }
        out.finish()
    }
}

/// Where a blob is written: the bytes after the checksum are hashed on
/// their way (the checksum is written last, at its place: see
/// [`IndexBuilder::write_to`]).
struct Out<W: std::io::Write> {
    w: W,
    hash: twox_hash::xxhash3_128::Hasher,
}

impl<W: std::io::Write> Out<W> {
    fn new(w: W) -> Self {
        Out {
            w,
            hash: twox_hash::xxhash3_128::Hasher::new(),
        }
    }

    fn header(&mut self, header: &[u8; HEADER]) -> std::io::Result<()> {
        self.hash.write(&header[CHECKED_FROM..]);
        self.w.write_all(header)
    }

    fn bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.hash.write(b);
        self.w.write_all(b)
    }

    fn u64(&mut self, v: u64) -> std::io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    /// The checksum of what was written (flushed).
    fn finish(mut self) -> std::io::Result<[u8; 8]> {
        self.w.flush()?;
        Ok((self.hash.finish_128() as u64).to_le_bytes())
    }
}

/// A directory of an index: its path, first record, record count and
/// where its name table starts.
type Dir<'a> = (&'a [u8], usize, usize, usize);

/// Directory paths up to this long are kept by a thread for its next lookup.
const LAST_PATH: usize = 120;

/// A thread's last directory: which index, where its path is, its records.
struct Last {
    /// The index's [`AnalysisIndex::id`] (0: none).
    index: u64,
    path_at: u64,
    first: usize,
    n: usize,
    table: usize,
    len: usize,
    path: [u8; LAST_PATH],
}

/// A word of the blob as the format stores it (little-endian).
fn le(w: u64) -> u64 {
    u64::from_le(w)
}

/// Stored results of one analyzer under one namespace, as `analyze` looks
/// them up: a blob of the format above, read in place.
pub struct AnalysisIndex {
    /// The blob, as words (so that every field is one aligned load).
    words: Vec<u64>,
    /// Unique in the process (what a thread's last directory belongs to).
    id: u64,
    /// The blob's length in bytes.
    bytes: usize,
    count: usize,
    dirs: usize,
    slots: usize,
    /// Where the sections start, in words.
    dirs_w: usize,
    recs_w: usize,
    names_w: usize,
}

impl Default for AnalysisIndex {
    fn default() -> Self {
        AnalysisIndex::open(IndexBuilder::new().finish(), 0).expect("an empty index")
    }
}

impl AnalysisIndex {
    /// The index in `data`, without the records expired at `now` (`None`:
    /// not a blob of this format, or damaged).
    pub fn open(data: Vec<u8>, now: i64) -> Option<AnalysisIndex> {
        AnalysisIndex::open_words(words_of(&data), data.len(), now)
    }

    /// The index in the file at `path` (read straight into words: no copy
    /// of the blob), as [`open`](Self::open) takes it.
    pub fn read(path: &std::path::Path, now: i64) -> Option<AnalysisIndex> {
        let file = std::fs::File::open(path).ok()?;
        let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
        let words = read_words(&file, len).ok()?;
        AnalysisIndex::open_words(words, len, now)
    }

    fn open_words(words: Vec<u64>, len: usize, now: i64) -> Option<AnalysisIndex> {
        let data = as_bytes(&words).get(..len)?;
        if data.get(..8)? != MAGIC || u64_at(data, 8)? != checksum(data.get(CHECKED_FROM..)?) {
            return None;
        }
        let word =
            |k: usize| u64_at(data, CHECKED_FROM + k * 8).and_then(|v| usize::try_from(v).ok());
        let (count, dirs, slots) = (word(0)?, word(1)?, word(2)?);
        let (dirs_at, recs_at) = (word(3)?, word(4)?);
        let (names_at, heap_at) = (word(5)?, word(6)?);
        let min_expires = u64_at(data, CHECKED_FROM + 7 * 8)? as i64;
        let fits = slots.is_power_of_two()
            && dirs_at == HEADER.checked_add(slots.checked_mul(SLOT_LEN)?)?
            && recs_at == dirs_at.checked_add(dirs.checked_mul(DIR_LEN)?)?
            && names_at == recs_at.checked_add(count.checked_mul(REC_LEN)?)?
            && heap_at >= names_at
            && heap_at % 8 == 0
            && heap_at <= len
            && dirs < slots;
        if !fits {
            return None;
        }
        static IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let index = AnalysisIndex {
            id: IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            words,
            bytes: len,
            count,
            dirs,
            slots,
            dirs_w: dirs_at / 8,
            recs_w: recs_at / 8,
            names_w: names_at / 8,
        };
        if min_expires > now {
            return Some(index);
        }
        // Some records expired: keep the others (rare; a full rebuild).
        let mut b = IndexBuilder::new();
        for (_, r, expires) in index.entries() {
            if expires > now {
                b.push(&r.rel_path(), r.stamp, r.value, expires, r.language);
            }
        }
        AnalysisIndex::open(b.finish_with_token(index.token()), now)
    }

    /// An index of `records` (tests, memory-only caches).
    pub fn from_records<'r>(records: impl IntoIterator<Item = &'r super::AnalysisRecord>) -> Self {
        let mut b = IndexBuilder::new();
        for r in records {
            b.push(&r.rel_path, r.stamp, &r.value, i64::MAX, r.language);
        }
        AnalysisIndex::open(b.finish(), 0).expect("a fresh index")
    }

    /// The blob.
    fn data(&self) -> &[u8] {
        &as_bytes(&self.words)[..self.bytes]
    }

    /// `len` bytes at `at` (the low 32 bits of `len`).
    fn bytes(&self, at: u64, len: u64) -> Option<&[u8]> {
        let at = usize::try_from(at).ok()?;
        self.data().get(at..at.checked_add(len as u32 as usize)?)
    }

    /// Directory `d`: its path and record range.
    fn dir(&self, d: usize) -> Option<Dir<'_>> {
        let e = self.dirs_w + d * 3;
        let e = self.words.get(e..e + 3)?;
        let path = self.bytes(le(e[0]), le(e[1]))?;
        let first = (le(e[1]) >> 32) as usize;
        let n = le(e[2]) as u32 as usize;
        let table = (le(e[2]) >> 32) as usize;
        (first.checked_add(n)? <= self.count).then_some((path, first, n, table))
    }

    /// Directory `dir`: its index, path and record range.
    fn find_dir(&self, dir: &[u8]) -> Option<(usize, Dir<'_>)> {
        let h = hash(dir);
        let mask = self.slots - 1;
        let mut s = (h as usize) & mask;
        for _ in 0..self.slots {
            let slot = le(*self.words.get(HEADER / 8 + s)?);
            let d = (slot >> 32) as usize;
            if d == 0 {
                return None;
            }
            if slot as u32 == (h >> 32) as u32 {
                let found = self.dir(d - 1)?;
                if found.0 == dir {
                    return Some((d - 1, found));
                }
            }
            s = (s + 1) & mask;
        }
        None
    }

    /// Directory `dir`, through the calling thread's last one: a thread
    /// looks up a directory's files one after another (the walk hands out
    /// a directory's files together), so most lookups skip the hash and the
    /// table, and compare `dir` with the thread's own copy of the last one
    /// (the index's entry and path are not read again). On a change of
    /// directory its name table and records are fetched into the cache
    /// at once (independent loads overlap; one at a time, each record missed
    /// the cache in turn, a fifth of a warm lookup).
    fn current_dir(&self, dir: &[u8]) -> Option<Dir<'_>> {
        thread_local! {
            static LAST: std::cell::RefCell<Last> = const {
                std::cell::RefCell::new(Last {
                    index: 0,
                    path_at: 0,
                    first: 0,
                    n: 0,
                    table: 0,
                    len: usize::MAX,
                    path: [0; LAST_PATH],
                })
            };
        }
        let hit = LAST.with(|last| {
            let last = last.borrow();
            if last.index != self.id || last.len != dir.len() {
                return None;
            }
            let path = self.bytes(last.path_at, last.len as u64)?;
            // A longer path than a thread keeps: compared with the index's.
            let kept = last.path.get(..last.len).unwrap_or(path);
            same(kept, dir).then_some((path, last.first, last.n, last.table))
        });
        if hit.is_some() {
            return hit;
        }
        let (_, found) = self.find_dir(dir)?;
        let (path, first, n, table) = found;
        LAST.with(|last| {
            let mut last = last.borrow_mut();
            last.index = self.id;
            last.path_at = (path.as_ptr() as usize - self.words.as_ptr() as usize) as u64;
            (last.first, last.n, last.table, last.len) = (first, n, table, dir.len());
            if let Some(copy) = last.path.get_mut(..dir.len()) {
                copy.copy_from_slice(dir);
            }
        });
        let recs = self.recs_w + first * REC_LEN / 8..self.recs_w + (first + n) * REC_LEN / 8;
        let names = self.names_w + table / 2..self.names_w + (table + table_len(n)).div_ceil(2);
        let mut touched = 0u64;
        for range in [names, recs] {
            let range = range.start..range.end.min(range.start + WARM_MAX / 8);
            for at in range.step_by(8) {
                touched ^= self.words.get(at).copied().unwrap_or(0);
            }
        }
        std::hint::black_box(touched);
        Some(found)
    }

    /// The words of record `i`.
    fn record(&self, i: usize) -> Option<&[u64]> {
        let e = self.recs_w + i * (REC_LEN / 8);
        self.words.get(e..e + REC_LEN / 8)
    }

    /// Record `i` (its words `r`) of directory `dir`, and its expiry.
    fn record_in<'s>(&'s self, r: &[u64], dir: &'s [u8]) -> Option<(KnownRecord<'s>, i64)> {
        let r: &[u64; REC_LEN / 8] = r.try_into().ok()?;
        let mut hash = [0u8; 16];
        hash[..8].copy_from_slice(&r[8].to_ne_bytes());
        hash[8..].copy_from_slice(&r[9].to_ne_bytes());
        let record = KnownRecord {
            dir,
            name: self.bytes(le(r[1]) & ((1 << 56) - 1), le(r[2]))?,
            stamp: FileStamp {
                size: le(r[5]),
                mtime_ns: le(r[6]) as i64,
                inode: le(r[7]),
                hash,
                recorded_ns: le(r[10]) as i64,
                ctime_ns: le(r[11]) as i64,
            },
            value: self.bytes(le(r[3]), le(r[2]) >> 32)?,
            language: Language::from_code((le(r[1]) >> 56) as u8),
        };
        Some((record, le(r[4]) as i64))
    }

    /// Every record with its position and expiry, directory by directory
    /// (positions ascend: a directory's records follow the one before's).
    fn entries(&self) -> impl Iterator<Item = (usize, KnownRecord<'_>, i64)> {
        (0..self.dirs)
            .filter_map(|d| self.dir(d))
            .flat_map(move |(dir, first, n, _)| {
                (first..first + n).filter_map(move |i| {
                    let (r, e) = self.record_in(self.record(i)?, dir)?;
                    Some((i, r, e))
                })
            })
    }

    /// The record of `rel_path` ('/'-separated, relative to the root).
    pub fn get(&self, rel_path: &[u8]) -> Option<KnownRecord<'_>> {
        self.get_slot(rel_path).map(|(_, record)| record)
    }

    /// The record of `rel_path` with its position in [`iter`](Self::iter)
    /// order (`0..len()`), so a caller can mark which records it met.
    pub fn get_slot(&self, rel_path: &[u8]) -> Option<(usize, KnownRecord<'_>)> {
        let (dir, name) = split(rel_path);
        self.get_in(dir, name)
    }

    /// [`get_slot`](Self::get_slot) of the path `dir/name` (`name` at the
    /// root when `dir` is empty), split already.
    pub fn get_in(&self, dir: &[u8], name: &[u8]) -> Option<(usize, KnownRecord<'_>)> {
        let (dir, first, n, table) = self.current_dir(dir)?;
        let (bits, len) = (place_bits(n), table_len(n));
        let h = hash(name);
        let (tag, key) = (tag_of(h, bits), head(name));
        let mut s = h as usize & (len - 1);
        for _ in 0..len {
            let entry = self.name_entry(table + s)?;
            if entry == 0 {
                return None;
            }
            let place = (entry & ((1 << bits) - 1)) as usize;
            if entry >> bits == tag && (1..=n).contains(&place) {
                let i = first + place - 1;
                let r = self.record(i)?;
                // Equal heads and lengths: the same name when that short,
                // else compared.
                if le(r[0]) == key
                    && le(r[2]) as u32 as usize == name.len()
                    && (name.len() <= 8
                        || same(self.bytes(le(r[1]) & ((1 << 56) - 1), le(r[2]))?, name))
                {
                    return self.record_in(r, dir).map(|(r, _)| (i, r));
                }
            }
            s = (s + 1) & (len - 1);
        }
        None
    }

    /// Entry `e` of the name tables.
    fn name_entry(&self, e: usize) -> Option<u64> {
        let w = le(*self.words.get(self.names_w + e / 2)?);
        Some((w >> (32 * (e & 1))) & 0xffff_ffff)
    }

    /// The record at position `i` (as [`get_slot`](Self::get_slot) gives it).
    pub fn record_at(&self, i: usize) -> Option<KnownRecord<'_>> {
        // Directories hold consecutive positions in order: search by first.
        let (mut lo, mut hi) = (0, self.dirs);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (dir, first, n, _) = self.dir(mid)?;
            if i < first {
                hi = mid;
            } else if i >= first + n {
                lo = mid + 1;
            } else {
                return self.record_in(self.record(i)?, dir).map(|(r, _)| r);
            }
        }
        None
    }

    /// Every record, directory by directory.
    pub fn iter(&self) -> impl Iterator<Item = KnownRecord<'_>> {
        self.entries().map(|(_, r, _)| r)
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether the blob is a snapshot file's (it has a token).
    pub fn is_snapshot(&self) -> bool {
        self.token() != [0; 16]
    }

    /// The token the blob was made with.
    pub fn token(&self) -> [u8; 16] {
        self.data()[TOKEN_AT..TOKEN_AT + 16]
            .try_into()
            .expect("the header was checked")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(n: u64) -> FileStamp {
        FileStamp {
            size: n,
            mtime_ns: 2,
            inode: 3,
            hash: [4; 16],
            recorded_ns: 5,
            ctime_ns: 6,
        }
    }

    #[test]
    fn index_finds_every_path_and_the_latest_of_a_duplicate() {
        let empty = AnalysisIndex::default();
        assert!(empty.is_empty() && empty.get(b"").is_none() && empty.get(b"a/b").is_none());
        let paths: Vec<Vec<u8>> = (0..5000)
            .map(|i| format!("d{}/s{}/f{i}.c", i % 7, i % 3).into_bytes())
            .chain((0..50).map(|i| format!("top{i}").into_bytes()))
            // Names alike in their first 8 bytes (and one a prefix of another).
            .chain((0..300).map(|i| format!("long/same_prefix_{i}").into_bytes()))
            .chain([b"long/same_pre".to_vec(), b"long/same_prefix_1\0".to_vec()])
            .collect();
        let mut b = IndexBuilder::new();
        for (i, p) in paths.iter().enumerate().rev() {
            b.push(p, stamp(i as u64), &i.to_le_bytes(), i64::MAX, None);
        }
        b.push(b"", stamp(1), b"empty", i64::MAX, None);
        b.push(b"d0/s0/f0.c", stamp(7), b"again", i64::MAX, None);
        b.push(b"x/\xff\0.c", stamp(8), b"\0bin", i64::MAX, None);
        let index = AnalysisIndex::open(b.finish(), 0).unwrap();
        for (i, p) in paths.iter().enumerate().skip(1) {
            let r = index.get(p).unwrap();
            assert_eq!((r.rel_path(), r.value), (p.clone(), &i.to_le_bytes()[..]));
            assert_eq!(r.stamp, stamp(i as u64));
        }
        assert_eq!(index.get(b"d0/s0/f0.c").unwrap().value, b"again");
        assert_eq!(index.get(b"").unwrap().value, b"empty");
        assert_eq!(index.get(b"x/\xff\0.c").unwrap().value, b"\0bin");
        for missing in [
            &b"d0/s0/f5000.c"[..],
            b"d0/f0.c",
            b"d9/s0/f0.c",
            b"top",
            b"x/",
        ] {
            assert!(index.get(missing).is_none());
        }
        assert_eq!(index.len(), 5354);
        // Positions: every record once, as get_slot gives them, in iter order.
        for (i, r) in index.iter().enumerate() {
            assert_eq!(index.get_slot(&r.rel_path()).unwrap().0, i);
            assert_eq!(index.record_at(i), Some(r));
        }
        assert_eq!(index.record_at(5354), None);
    }

    #[test]
    fn lookups_alternating_between_indexes_and_directories_stay_right() {
        let build = |paths: &[&[u8]], tag: u8| {
            let mut b = IndexBuilder::new();
            for p in paths {
                b.push(p, stamp(0), &[tag], i64::MAX, None);
            }
            AnalysisIndex::open(b.finish(), 0).unwrap()
        };
        // Names alike but for trailing NULs (equal zero-padded prefixes).
        let nul = build(&[b"z/a", b"z/a\0", b"z/a\0\0", b"z/\0", b"z/"], 3);
        for p in [&b"z/a"[..], b"z/a\0", b"z/a\0\0", b"z/\0", b"z/"] {
            assert_eq!(nul.get(p).unwrap().rel_path(), p);
        }
        assert!(nul.get(b"z/a\0\0\0").is_none() && nul.get(b"z/\0\0").is_none());
        // The same directory index means another directory in each.
        let a = build(&[b"x/1", b"y/1", b"y/2"], 1);
        let b = build(&[b"y/1", b"x/1", b"x/3"], 2);
        for _ in 0..3 {
            assert_eq!(a.get(b"y/2").unwrap().value, [1]);
            assert!(b.get(b"y/2").is_none());
            assert_eq!(b.get(b"x/3").unwrap().value, [2]);
            assert!(a.get(b"x/3").is_none());
            assert_eq!(a.get(b"x/1").unwrap().value, [1]);
            assert_eq!(b.get(b"x/1").unwrap().value, [2]);
            assert!(a.get(b"z/1").is_none());
        }
        // Directories longer than a thread keeps, alternating.
        let long = |c: char| format!("{}/f", c.to_string().repeat(LAST_PATH + 3));
        let (x, y) = (long('x'), long('y'));
        let c = build(&[x.as_bytes(), y.as_bytes(), b"x/1"], 4);
        for _ in 0..3 {
            for p in [&x, &y] {
                assert_eq!(c.get(p.as_bytes()).unwrap().rel_path(), p.as_bytes());
                assert!(c.get(format!("{p}2").as_bytes()).is_none());
            }
            assert_eq!(c.get(b"x/1").unwrap().value, [4]);
        }
        // From another thread too.
        std::thread::scope(|s| {
            s.spawn(|| assert_eq!(b.get(b"y/1").unwrap().value, [2]));
        });
    }

    #[test]
    fn lookups_agree_with_a_map_on_names_alike() {
        // Names of a small alphabet (runs sharing their first 8 bytes, long
        // and short, NULs) in a few directories; every one found, others not.
        let mut x = 7u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut names = std::collections::HashMap::new();
        let mut b = IndexBuilder::new();
        for i in 0..3000u32 {
            let len = (next() % 14) as usize;
            let mut p = format!("d{}/", next() % 4).into_bytes();
            p.extend((0..len).map(|_| b"aab\0"[(next() % 4) as usize]));
            b.push(&p, stamp(0), &i.to_le_bytes(), i64::MAX, None);
            names.insert(p, i);
        }
        let index = AnalysisIndex::open(b.finish(), 0).unwrap();
        assert_eq!(index.len(), names.len());
        for (p, i) in &names {
            assert_eq!(index.get(p).unwrap().value, i.to_le_bytes(), "{p:?}");
        }
        for _ in 0..3000 {
            let len = (next() % 16) as usize;
            let mut p = format!("d{}/", next() % 5).into_bytes();
            p.extend((0..len).map(|_| b"aab\0"[(next() % 4) as usize]));
            assert_eq!(index.get(&p).is_some(), names.contains_key(&p), "{p:?}");
        }
    }

    #[test]
    fn directories_of_every_size_find_each_name() {
        // Name tables at and around each power of two of records.
        let sizes: Vec<usize> = (1..=70)
            .chain([127, 128, 129, 255, 256, 257, 1024])
            .collect();
        let mut b = IndexBuilder::new();
        for &n in &sizes {
            for i in 0..n {
                b.push(
                    format!("n{n}/f{i}").as_bytes(),
                    stamp(i as u64),
                    b"v",
                    i64::MAX,
                    None,
                );
            }
        }
        let index = AnalysisIndex::open(b.finish(), 0).unwrap();
        for &n in &sizes {
            for i in 0..n {
                let r = index.get(format!("n{n}/f{i}").as_bytes()).unwrap();
                assert_eq!(r.stamp, stamp(i as u64));
            }
            for missing in [format!("n{n}/f{n}"), format!("n{n}/g0"), format!("n{n}/f")] {
                assert!(index.get(missing.as_bytes()).is_none(), "{missing}");
            }
        }
    }

    #[test]
    fn a_file_reads_as_its_blob_opens() {
        let dir = tempfile::tempdir().unwrap();
        for extra in 0..9 {
            let mut b = IndexBuilder::new();
            b.push(b"d/a", stamp(1), &vec![7u8; extra], i64::MAX, None);
            let blob = b.finish();
            let path = dir.path().join(format!("{extra}.snap"));
            std::fs::write(&path, &blob).unwrap();
            let index = AnalysisIndex::read(&path, 0).unwrap();
            assert_eq!(index.data(), &blob[..]);
            assert_eq!(index.get(b"d/a").unwrap().value, vec![7u8; extra]);
            std::fs::write(&path, &blob[..blob.len() - 1]).unwrap();
            assert!(AnalysisIndex::read(&path, 0).is_none());
        }
        assert!(AnalysisIndex::read(&dir.path().join("none"), 0).is_none());
        // Damaged to a size no memory holds (sparse): ignored, no abort.
        let huge = dir.path().join("huge.snap");
        std::fs::File::create(&huge)
            .unwrap()
            .set_len(1 << 42)
            .unwrap();
        assert!(AnalysisIndex::read(&huge, 0).is_none());
    }

    #[test]
    fn heads_and_lengths_tell_short_names_apart() {
        // Every name of up to 4 bytes over a small alphabet, and some longer.
        let mut names: Vec<Vec<u8>> = vec![vec![]];
        for _ in 0..4 {
            let longer: Vec<Vec<u8>> = names
                .iter()
                .filter(|n| n.len() == names.last().map_or(0, Vec::len))
                .flat_map(|n| b"a\0\xff".iter().map(move |&c| [&n[..], &[c]].concat()))
                .collect();
            names.extend(longer);
        }
        names.extend(
            [
                &b"abcdefg"[..],
                b"abcdefh",
                b"bbcdefg",
                b"abcdefgh",
                b"abcdefgi",
            ]
            .map(<[u8]>::to_vec),
        );
        let mut seen = std::collections::HashMap::new();
        for n in &names {
            if let Some(other) = seen.insert((head(n), n.len()), n) {
                panic!("{n:?} and {other:?}");
            }
        }
    }

    #[test]
    fn same_is_slice_equality() {
        let words: Vec<&[u8]> = vec![
            b"",
            b"a",
            b"ab",
            b"abcdefgh",
            b"abcdefgi",
            b"abcdefghi",
            b"abcdefghj",
            b"0123456789abcdef0",
            b"0123456789abcdef1",
            b"1123456789abcdef0",
            b"0123456789abcdef",
            b"0123456789abcdeg",
            b"\xff0123456",
            b"\x000123456",
            b"abcdefgh\0",
            b"abcdefgh\xff",
            b"b",
            b"ac",
            b"bb",
            b"abc",
            b"abd",
            b"bbc",
            b"abcd",
            b"abce",
            b"xbcd",
            b"abcdefg",
            b"abcxefg",
            b"0123456789abcdef01234567",
            b"0123456789abcdef01234568",
            b"0123456789abcdeX01234567",
        ];
        for a in &words {
            for b in &words {
                assert_eq!(same(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn expired_records_are_left_out_and_damage_is_refused() {
        let mut b = IndexBuilder::new();
        b.push(b"a.py", stamp(1), b"one", 100, None);
        b.push(b"b/\xff.c", stamp(2), b"", 50, None);
        b.push(b"", stamp(3), b"\0two", i64::MAX, None);
        b.push_stored(b"bad-stamp", &[0; 3], b"", i64::MAX);
        let data = b.finish();
        let index = AnalysisIndex::open(data.clone(), 60).unwrap();
        assert_eq!(index.len(), 2, "the record expired at 50 is left out");
        assert_eq!(index.get(b"a.py").unwrap().value, b"one");
        assert_eq!(index.get(b"a.py").unwrap().stamp, stamp(1));
        assert_eq!(index.get(b"").unwrap().value, b"\0two");
        assert!(index.get(b"b/\xff.c").is_none());
        assert_eq!(AnalysisIndex::open(data.clone(), 0).unwrap().len(), 3);
        assert_eq!(AnalysisIndex::open(data.clone(), 200).unwrap().len(), 1);
        for cut in [0, 7, 8, 15, 16, 40, data.len() - 1] {
            assert!(
                AnalysisIndex::open(data[..cut].to_vec(), 0).is_none(),
                "cut at {cut}"
            );
        }
        let mut longer = data.clone();
        longer.push(0);
        assert!(AnalysisIndex::open(longer, 0).is_none());
        // Any flipped byte: refused (the checksum), never a panic.
        for at in 0..data.len() {
            let mut bad = data.clone();
            bad[at] ^= 0x41;
            assert!(AnalysisIndex::open(bad, 0).is_none(), "byte {at}");
        }
    }

    #[test]
    fn a_blob_with_a_right_checksum_but_wrong_offsets_reads_as_not_stored() {
        let mut b = IndexBuilder::new();
        b.push(b"d/a", stamp(1), b"v", i64::MAX, None);
        b.push(b"d/b", stamp(2), b"w", i64::MAX, None);
        let good = b.finish();
        let reseal = |mut d: Vec<u8>| {
            let sum = checksum(&d[CHECKED_FROM..]);
            d[8..16].copy_from_slice(&sum.to_le_bytes());
            d
        };
        let recs_at = u64_at(&good, CHECKED_FROM + 4 * 8).unwrap() as usize;
        // A name offset far out of the blob.
        let mut bad = good.clone();
        bad[recs_at + 8..recs_at + 15].copy_from_slice(&[0xff; 7]);
        let index = AnalysisIndex::open(reseal(bad), 0).unwrap();
        assert!(index.get(b"d/a").is_none());
        assert_eq!(index.iter().count(), 1);
        // Section sizes that do not add up: refused.
        let mut bad = good.clone();
        bad[CHECKED_FROM..CHECKED_FROM + 8].copy_from_slice(&1000u64.to_le_bytes());
        assert!(AnalysisIndex::open(reseal(bad), 0).is_none());
    }
}
