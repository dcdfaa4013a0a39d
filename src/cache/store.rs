//! The persistent tier: one SQLite database (`cache.db`, WAL) in the cache
//! directory, shared by every process that opens the directory.
//!
//! Durability: every write runs in one `BEGIN IMMEDIATE` transaction and is
//! committed before the call returns. With WAL and `synchronous=NORMAL` a
//! commit is in the WAL file (the OS page cache) when it returns, so a process
//! killed right after loses nothing; only a power loss can drop the last
//! commits. Concurrent processes wait on each other through the busy timeout.
//!
//! A database that is not a database or is corrupt is moved aside to
//! `cache.db.corrupt-<unix time>` and replaced by a fresh one; the message is
//! kept in [`Store::recovered`].

use super::entry::{Binding, decode_bindings, encode_bindings};
use crate::error::{Error, Result};
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use std::collections::HashMap;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Name of the database file inside the cache directory.
pub const DB_NAME: &str = "cache.db";
/// WAL pages after which a commit checkpoints (SQLite's default: 1000).
/// Crate-private: cbindgen would export a public constant into the header.
pub(crate) const WAL_AUTOCHECKPOINT_PAGES: i64 = 4000;

/// A WAL larger than this is checkpointed and truncated when a handle
/// closes ([`Store::checkpoint_if_large`]).
const WAL_KEPT_MAX_BYTES: u64 = 1 << 20;

/// A WAL grown past this (several processes writing and reading at once:
/// SQLite restarts the WAL only at a moment no connection reads an older
/// snapshot, which busy processes rarely leave) is checkpointed and
/// truncated by the next writer that notices, waiting at most
/// [`WAL_TRUNCATE_WAIT`] for the readers. Without it, four processes
/// hammering one directory grew it to ~310 MiB in 4 s.
const WAL_GROWN_MAX_BYTES: u64 = 64 << 20;

/// A writer looks at the WAL's size every this many commits (a `stat`).
const WAL_LOOK_EVERY: u64 = 16;

/// How long a truncating checkpoint waits for readers (else it is left for
/// a later look).
const WAL_TRUNCATE_WAIT: Duration = Duration::from_millis(50);

/// [`WAL_AUTOCHECKPOINT_PAGES`], for benchmarks that configure a raw
/// connection the same way.
pub fn wal_autocheckpoint_pages() -> i64 {
    WAL_AUTOCHECKPOINT_PAGES
}

/// How long a writer waits for another process's write lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Schema migrations; `PRAGMA user_version` is the number applied. Never
/// edit an applied one: append a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: entries (one B-tree keyed by the key: an insert touches one tree,
    // not a rowid table plus a unique index), reverse index of dependencies.
    "CREATE TABLE entries(
        key BLOB NOT NULL PRIMARY KEY,
        value BLOB NOT NULL,
        size INTEGER NOT NULL,
        created_ns INTEGER NOT NULL,
        expires_ns INTEGER NOT NULL,
        last_access_ns INTEGER NOT NULL,
        file_path BLOB,
        file_stamp BLOB,
        deps BLOB) WITHOUT ROWID;
     CREATE INDEX entries_file ON entries(file_path) WHERE file_path IS NOT NULL;
     CREATE TABLE deps(entry_key BLOB NOT NULL, path BLOB NOT NULL);
     CREATE INDEX deps_path ON deps(path);
     CREATE INDEX deps_entry ON deps(entry_key);
     CREATE TRIGGER entries_deps_upd AFTER UPDATE OF value ON entries WHEN old.deps IS NOT NULL
       BEGIN DELETE FROM deps WHERE entry_key = old.key; END;
     CREATE TRIGGER entries_deps_del AFTER DELETE ON entries WHEN old.deps IS NOT NULL
       BEGIN DELETE FROM deps WHERE entry_key = old.key; END;",
    // 2: flags, statistics across processes, analysis results, paths
    // watched by check_file_changes.
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
     CREATE TABLE stats(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
     CREATE TABLE analysis(
        analyzer_id TEXT NOT NULL,
        namespace BLOB NOT NULL,
        rel_path BLOB NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        hash BLOB NOT NULL,
        recorded_ns INTEGER NOT NULL,
        value BLOB NOT NULL,
        expires_ns INTEGER NOT NULL,
        PRIMARY KEY(analyzer_id, namespace, rel_path));
     CREATE TABLE watched(path BLOB PRIMARY KEY, stamp BLOB);",
    // 3: log of overwritten and deleted keys, so other processes drop them
    // from their memory tiers (a NULL key: everything was cleared).
    "CREATE TABLE changes(seq INTEGER PRIMARY KEY AUTOINCREMENT, key BLOB, at_ns INTEGER NOT NULL);
     CREATE TRIGGER entries_changes_upd AFTER UPDATE OF value ON entries BEGIN
       INSERT INTO changes(key, at_ns) VALUES (old.key, new.created_ns); END;
     CREATE TRIGGER entries_changes_del AFTER DELETE ON entries BEGIN
       INSERT INTO changes(key, at_ns)
       VALUES (old.key, CAST(unixepoch('subsec') * 1000000000 AS INTEGER)); END;",
    // 4: analysis results as one B-tree keyed by (analyzer, namespace, path)
    // (a load is a range walk, not an index walk plus a rowid lookup per
    // row) with the stamp packed in one 48-byte blob (see
    // `analysis::encode_stamp`: size, mtime_ns, inode, hash, recorded_ns,
    // big-endian). Stored results are kept.
    "CREATE TABLE analysis_v4(
        analyzer_id TEXT NOT NULL,
        namespace BLOB NOT NULL,
        rel_path BLOB NOT NULL,
        stamp BLOB NOT NULL,
        value BLOB NOT NULL,
        expires_ns INTEGER NOT NULL,
        PRIMARY KEY(analyzer_id, namespace, rel_path)) WITHOUT ROWID;
     INSERT INTO analysis_v4
       SELECT analyzer_id, namespace, rel_path,
              CAST(unhex(printf('%016x%016x%016x', size, mtime_ns, inode))
                   || CASE WHEN typeof(hash) = 'blob' AND length(hash) = 16
                           THEN hash ELSE zeroblob(16) END
                   || unhex(printf('%016x', recorded_ns)) AS BLOB),
              value, expires_ns
       FROM analysis;
     DROP TABLE analysis;
     ALTER TABLE analysis_v4 RENAME TO analysis;",
    // 5: a generation per (analyzer, namespace), bumped by every write to
    // its analysis results, and a snapshot row tagged with the generation it
    // shows. Its `data` now names a snapshot file (see `analysis.rs`,
    // `snapshot.rs`); a blob of the first format is simply not current: a
    // warm `analyze` reads one file instead of a row per file.
    "CREATE TABLE analysis_generation(
        analyzer_id TEXT NOT NULL,
        namespace BLOB NOT NULL,
        generation INTEGER NOT NULL,
        PRIMARY KEY(analyzer_id, namespace)) WITHOUT ROWID;
     CREATE TABLE analysis_snapshot(
        analyzer_id TEXT NOT NULL,
        namespace BLOB NOT NULL,
        generation INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY(analyzer_id, namespace));",
    // 6: stamps carry the file's ctime (inode change time), so that a file
    // rewritten with its mtime put back is re-hashed. Their stored forms
    // grow by the ctime (an analysis stamp after its language byte, see
    // `analysis::encode_stamp`; a binding's stamp under flag 2, see
    // `entry::encode_bindings`). Rows written before are kept and read as
    // they are, without a ctime: never trusted on metadata alone, their
    // files are re-hashed once and the stamps refreshed. No table changes:
    // the version keeps libraries before this one, which would misread the
    // longer stamps (a dependency list they cannot parse reads as none),
    // from opening the database. The row records the stamp format.
    "INSERT OR REPLACE INTO meta(name, value) VALUES ('stamp_format', 2);",
];

/// A stored entry as read back.
#[derive(Debug)]
pub struct Row {
    pub value: Vec<u8>,
    pub expires_ns: i64,
    pub file: Option<Binding>,
    pub deps: Vec<Binding>,
    /// Its bindings as stored.
    pub seen: Seen,
}

/// An entry's bindings as stored (file path, file stamp, dependencies):
/// what a read validated. The write that follows the check (a refresh of
/// its stamps, its removal) applies only while the row still holds them:
/// another handle or process may have stored the key again meanwhile, and
/// that entry must neither take the old one's stamps nor be removed for the
/// old one's reasons.
#[derive(Debug)]
pub struct Seen {
    file_path: Option<Vec<u8>>,
    file_stamp: Option<Vec<u8>>,
    deps: Option<Vec<u8>>,
}

impl Seen {
    /// The bindings as this version stores them.
    pub fn of(file: Option<&Binding>, deps: &[Binding]) -> Seen {
        Seen {
            file_path: file.map(|b| b.path.clone()),
            file_stamp: file_stamp_blob(file),
            deps: (!deps.is_empty()).then(|| encode_bindings(deps)),
        }
    }
}

/// A key with its bindings, as found by a reverse lookup.
#[derive(Debug)]
pub struct BoundKey {
    pub key: Vec<u8>,
    pub file: Option<Binding>,
    pub deps: Vec<Binding>,
}

/// The SQLite tier.
pub struct Store {
    conn: Mutex<Connection>,
    /// Device and inode of the database file this handle opened.
    file_id: (u64, u64),
    path: PathBuf,
    /// Set when a corrupt database was moved aside at open.
    pub recovered: Option<String>,
    /// Last-access times of persistent hits not yet written (flushed with
    /// the next write transaction).
    touches: Mutex<Touches>,
    /// Commits made through this handle (every [`WAL_LOOK_EVERY`]th looks
    /// at the WAL's size).
    commits: std::sync::atomic::AtomicU64,
    /// Interleaving hooks of unit tests (see `failpoint`).
    #[cfg(test)]
    pub(crate) failpoints: super::failpoint::Failpoints,
}

/// Pending last-access times and when the oldest was recorded.
#[derive(Default)]
struct Touches {
    keys: HashMap<Vec<u8>, i64>,
    since_ns: i64,
}

fn is_corruption(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt)
    )
}

fn store_err(what: &str, err: rusqlite::Error) -> Error {
    Error::store(format!("{what}: {err}"))
}

/// Applies pending migrations in one immediate transaction (so two
/// processes opening a fresh directory at once do not both migrate).
pub fn migrate(conn: &mut Connection, upto: usize) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current as usize >= upto {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(upto)
        .skip(current as usize)
    {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()
}

/// The page cache of a connection, in KiB (see `configure`).
pub(crate) const PAGE_CACHE_KIB: i64 = 16 << 10;

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidQuery);
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // A 16 MiB page cache (SQLite's default is 2 MiB): the cache's rows carry
    // stamps and expiry besides the value, and point reads of a database
    // larger than the page cache go to the OS for every page.
    conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
    // Checkpoint the WAL into the database every ~16 MiB of WAL (4000
    // pages) instead of SQLite's 1000 pages: a checkpoint copies every page
    // the WAL holds and syncs the database file, and pages written by many
    // commits (interior pages, the leaves being filled) are copied once per
    // checkpoint, so checkpointing a quarter as often roughly halves the
    // checkpoint work of a steady stream of writes. The WAL file can grow to
    // ~16 MiB (it is reused, and stays between processes: see below).
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
    // The last connection to close leaves the WAL to the next process
    // instead of checkpointing and deleting it: that cost two fsyncs, and the
    // next writer created the WAL again with two more (~3 ms at the end of
    // every short-lived process, e.g. a warm `analyze` that only flushes its
    // statistics). Commits are as durable as before; the WAL is checkpointed
    // every WAL_AUTOCHECKPOINT_PAGES, a handle that closes with more than
    // WAL_KEPT_MAX_BYTES of it checkpoints and truncates it (the next process
    // would read it all at open), and a database moved aside as corrupt takes
    // its WAL with it.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked)
    )
}

/// [`open_db`], retried while another process holds a lock it needs:
/// switching a fresh database to WAL can report "database is locked"
/// without waiting on the busy handler when two processes create the
/// directory at the same moment.
fn open_db_retrying(path: &Path, schema: usize) -> rusqlite::Result<Connection> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(2);
    loop {
        match open_db(path, schema) {
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                #[cfg(test)]
                super::failpoint::hit_on_this_thread(super::failpoint::Point::OpenBusy);
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// Opens, configures, checks and migrates the database at `path`.
fn open_db(path: &Path, schema: usize) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    // Reading the header fails on a file that is not a database.
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version as usize > MIGRATIONS.len() {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(format!(
                "schema version {version} is newer than this library's {}",
                MIGRATIONS.len()
            )),
        ));
    }
    // A full page-by-page check costs a pass over the whole file (tens of
    // ms for a 20 MB database, on every open). It runs only after a
    // statement of some handle met corruption (the marker file); every open
    // reads the header and schema (above) and the root and leftmost pages of
    // every table (a few pages each), which catches a torn or overwritten
    // start of the file. Corruption elsewhere fails the statement that meets
    // it, which leaves the marker for the next open.
    let marker = check_marker(path);
    if marker.exists() {
        let verdict: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
        if verdict != "ok" {
            return Err(corrupt(verdict));
        }
        let _ = std::fs::remove_file(&marker);
    } else {
        probe_tables(&conn)?;
    }
    migrate(&mut conn, schema)?;
    Ok(conn)
}

fn corrupt(message: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
        Some(message),
    )
}

/// The file whose presence asks the next open for a full check.
fn check_marker(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-check");
    PathBuf::from(name)
}

/// Opens a cursor on every table (its root and leftmost pages): cheap, and
/// fails with `SQLITE_CORRUPT` on a table whose first pages are damaged.
fn probe_tables(conn: &Connection) -> rusqlite::Result<()> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for name in names {
        let sql = format!("SELECT 1 FROM \"{}\" LIMIT 1", name.replace('"', "\"\""));
        conn.prepare(&sql)?.exists([])?;
    }
    Ok(())
}

/// Creates `dir` (mode 0700, parents too) if missing.
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(format!("creating cache dir {}", dir.display()), &e))
}

impl Store {
    /// Opens (creating) the database in `dir` at the latest schema.
    pub fn open(dir: &Path) -> Result<Store> {
        Self::open_at_schema(dir, MIGRATIONS.len())
    }

    /// Opens at a given schema version (tests of migrations use an old one).
    pub fn open_at_schema(dir: &Path, schema: usize) -> Result<Store> {
        create_dir(dir)?;
        let path = dir.join(DB_NAME);
        let mut recovered = None;
        let conn = match open_db_retrying(&path, schema) {
            Ok(c) => c,
            Err(e) if is_corruption(&e) => {
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                let aside = dir.join(format!("{DB_NAME}.corrupt-{stamp}"));
                let _ = std::fs::rename(&path, &aside);
                for ext in ["-wal", "-shm"] {
                    let from = dir.join(format!("{DB_NAME}{ext}"));
                    let to = PathBuf::from(format!("{}{ext}", aside.display()));
                    let _ = std::fs::rename(from, to);
                }
                let msg = format!(
                    "cache database {} was corrupt ({e}); moved aside to {} and replaced by a fresh one",
                    path.display(),
                    aside.display()
                );
                recovered = Some(msg);
                open_db_retrying(&path, schema)
                    .map_err(|e| store_err("reopening cache database", e))?
            }
            Err(e) => return Err(store_err(&format!("opening {}", path.display()), e)),
        };
        let file_id = std::fs::metadata(&path)
            .map(|m| (m.dev(), m.ino()))
            .map_err(|e| Error::io(format!("opening {}", path.display()), &e))?;
        Ok(Store {
            conn: Mutex::new(conn),
            file_id,
            path,
            recovered,
            touches: Mutex::new(Touches::default()),
            commits: std::sync::atomic::AtomicU64::new(0),
            #[cfg(test)]
            failpoints: Default::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Fails when the directory's database is no longer the file this
    /// handle opened: another process found it corrupt and moved it aside
    /// (or it was deleted). SQLite would go on writing into the old file in
    /// WAL mode, and nothing written there would reach the other processes.
    /// One `stat`: made before each write transaction and at each sync.
    pub fn check_same_file(&self) -> Result<()> {
        match std::fs::metadata(&self.path) {
            Ok(m) if (m.dev(), m.ino()) == self.file_id => Ok(()),
            _ => Err(Error::store(format!(
                "cache database {} was replaced or removed since this handle opened it \
                 (another process may have moved it aside as corrupt): reopen the cache",
                self.path.display()
            ))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // Unit tests see a thread about to wait for another's connection.
        #[cfg(test)]
        match self.conn.try_lock() {
            Ok(conn) => return conn,
            Err(std::sync::TryLockError::Poisoned(e)) => return e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                self.failpoints.hit(super::failpoint::Point::ConnectionWait)
            }
        }
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// At close: when the WAL left for the next process is large (a
    /// session that wrote much), checkpoints it and truncates it to nothing,
    /// waiting at most 50 ms for other processes (else it is left). The WAL
    /// is otherwise left as is (no checkpoint on close), and the first
    /// process to open the database reads and checksums every frame of it:
    /// after a bulk load that is up to ~16 MiB per process start; after a
    /// session that only flushed its statistics, a page or two.
    pub fn checkpoint_if_large(&self) {
        if self.wal_bytes() > WAL_KEPT_MAX_BYTES {
            Self::truncate_wal(&self.lock(), WAL_TRUNCATE_WAIT);
        }
    }

    fn wal_bytes(&self) -> u64 {
        let wal = self.path.with_file_name(format!("{DB_NAME}-wal"));
        std::fs::metadata(&wal).map_or(0, |m| m.len())
    }

    /// `PRAGMA wal_checkpoint(TRUNCATE)`, waiting at most `wait` for other
    /// connections (it fails harmlessly when they are still reading).
    fn truncate_wal(conn: &Connection, wait: Duration) {
        let _ = conn.busy_timeout(wait);
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        let _ = conn.busy_timeout(BUSY_TIMEOUT);
    }

    /// Runs `f` on the connection (reads; autocommit).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        f(&self.lock()).map_err(|e| self.fail("cache read", e))
    }

    /// An integer PRAGMA of the connection (`user_version`, `cache_size`).
    #[cfg(test)]
    pub(crate) fn pragma(&self, name: &str) -> i64 {
        self.read(|c| c.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0)))
            .unwrap()
    }

    /// Maps a statement's error; corruption leaves the marker that makes
    /// the next open check the whole database (and replace it if corrupt).
    fn fail(&self, what: &str, err: rusqlite::Error) -> Error {
        if is_corruption(&err) {
            let _ = std::fs::File::create(check_marker(&self.path));
        }
        store_err(what, err)
    }

    /// Runs `f` in one immediate transaction and commits it; pending
    /// last-access times are written in the same transaction.
    pub fn write<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        self.write_then(f, |_| {})
    }

    /// [`Store::write`], then `then` once it committed, still holding the
    /// connection: no other write of this handle commits before `then`
    /// returns, so memory updates made there follow the commit order.
    pub fn write_then<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
        then: impl FnOnce(&T),
    ) -> Result<T> {
        self.check_same_file()?;
        let touches =
            std::mem::take(&mut self.touches.lock().unwrap_or_else(|e| e.into_inner()).keys);
        let mut conn = self.lock();
        let run = |conn: &mut Connection| -> rusqlite::Result<T> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if !touches.is_empty() {
                let mut st = tx.prepare_cached(
                    "UPDATE entries SET last_access_ns = max(last_access_ns, ?2) WHERE key = ?1",
                )?;
                for (k, t) in &touches {
                    st.execute(params![k, t])?;
                }
            }
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        };
        let out = run(&mut conn).map_err(|e| self.fail("cache write", e))?;
        Ok(self.committed(conn, out, then))
    }

    /// After a commit, on the connection still held: `then`, and now and
    /// then a WAL grown past [`WAL_GROWN_MAX_BYTES`] truncated.
    fn committed<T>(&self, conn: MutexGuard<'_, Connection>, out: T, then: impl FnOnce(&T)) -> T {
        then(&out);
        let n = self
            .commits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % WAL_LOOK_EVERY == WAL_LOOK_EVERY - 1 && self.wal_bytes() > WAL_GROWN_MAX_BYTES {
            Self::truncate_wal(&conn, WAL_TRUNCATE_WAIT);
        }
        out
    }

    /// Runs one statement `f` in autocommit mode (SQLite makes a single
    /// statement, with its triggers, atomic), or in [`Store::write`] when
    /// last-access times are pending.
    pub fn write_one<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        self.write_one_then(f, |_| {})
    }

    /// [`Store::write_one`], then `then` as in [`Store::write_then`].
    pub fn write_one_then<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
        then: impl FnOnce(&T),
    ) -> Result<T> {
        let pending = !self
            .touches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys
            .is_empty();
        if pending {
            return self.write_then(f, then);
        }
        self.check_same_file()?;
        let conn = self.lock();
        let out = f(&conn).map_err(|e| self.fail("cache write", e))?;
        Ok(self.committed(conn, out, then))
    }

    /// Remembers that `key` was read at `now` (written with the next
    /// write); returns how many are pending and since when.
    pub fn touch(&self, key: &[u8], now: i64) -> (usize, i64) {
        let mut t = self.touches.lock().unwrap_or_else(|e| e.into_inner());
        if t.keys.is_empty() {
            t.since_ns = now;
        }
        t.keys.insert(key.to_vec(), now);
        (t.keys.len(), t.since_ns)
    }
}

// ---- statements (each takes the connection or transaction) ----

fn opt_binding(path: Option<Vec<u8>>, stamp: Option<Vec<u8>>) -> Option<Binding> {
    let path = path?;
    let stamp = stamp
        .and_then(|s| decode_bindings(&s))
        .and_then(|mut v| v.pop())
        .and_then(|b| b.stamp);
    Some(Binding { path, stamp })
}

fn file_stamp_blob(file: Option<&Binding>) -> Option<Vec<u8>> {
    file.map(|b| encode_bindings(std::slice::from_ref(b)))
}

/// The row of `key`, if any.
pub fn get(conn: &Connection, key: &[u8]) -> rusqlite::Result<Option<Row>> {
    let mut st = conn.prepare_cached(
        "SELECT value, expires_ns, file_path, file_stamp, deps FROM entries WHERE key = ?1",
    )?;
    st.query_row([key], |r| {
        let seen = Seen {
            file_path: r.get(2)?,
            file_stamp: r.get(3)?,
            deps: r.get(4)?,
        };
        // Room for one more byte: the C boundary appends a NUL.
        let blob = r.get_ref(0)?.as_blob()?;
        let mut value = Vec::with_capacity(blob.len() + 1);
        value.extend_from_slice(blob);
        Ok(Row {
            value,
            expires_ns: r.get(1)?,
            file: opt_binding(seen.file_path.clone(), seen.file_stamp.clone()),
            deps: seen
                .deps
                .as_deref()
                .and_then(decode_bindings)
                .unwrap_or_default(),
            seen,
        })
    })
    .optional()
}

/// What a write stores for one key.
pub struct Put<'a> {
    pub key: &'a [u8],
    pub value: &'a [u8],
    pub expires_ns: i64,
    pub file: Option<&'a Binding>,
    pub deps: &'a [Binding],
}

// A plain insert (no conflict clause, no trigger on insert) needs no
// statement journal; an existing key is then updated (which fires the
// change-log and dependency triggers). An upsert would journal every row.
const INSERT: &str = "INSERT OR IGNORE INTO entries(key, value, size, created_ns, expires_ns,
        last_access_ns, file_path, file_stamp, deps) VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?6, ?7, ?8)";
const UPDATE: &str = "UPDATE entries SET value = ?2, size = ?3, created_ns = ?4, expires_ns = ?5,
        last_access_ns = ?4, file_path = ?6, file_stamp = ?7, deps = ?8
    WHERE key = ?1";

/// Inserts or replaces one entry.
pub fn put(conn: &Connection, p: &Put<'_>, now: i64) -> rusqlite::Result<()> {
    put_many(conn, std::slice::from_ref(p), now)
}

/// Entries per multi-row statement of [`put_many`].
const ROWS_PER_INSERT: usize = 32;

/// One statement inserting or replacing [`ROWS_PER_INSERT`] entries bound
/// to no file: `?1` is the time, then key, value, size and expiry per row.
/// An existing key is updated in place (`DO UPDATE` fires the same update
/// triggers as [`UPDATE`]: the change log, the dependency rows).
fn insert_plain_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let rows: Vec<String> = (0..ROWS_PER_INSERT)
            .map(|r| {
                let p = 2 + 4 * r;
                format!("(?{}, ?{}, ?{}, ?1, ?{}, ?1)", p, p + 1, p + 2, p + 3)
            })
            .collect();
        format!(
            "INSERT INTO entries(key, value, size, created_ns, expires_ns, last_access_ns)
             VALUES {}
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, size = excluded.size,
               created_ns = excluded.created_ns, expires_ns = excluded.expires_ns,
               last_access_ns = excluded.last_access_ns,
               file_path = NULL, file_stamp = NULL, deps = NULL",
            rows.join(", ")
        )
    })
}

/// Whether `p` is bound to no file.
fn is_plain(p: &Put<'_>) -> bool {
    p.file.is_none() && p.deps.is_empty()
}

/// Inserts or replaces entries (statements prepared once per call). Runs
/// of [`ROWS_PER_INSERT`] entries bound to no file go in one multi-row
/// statement each (a statement's fixed cost, its cursors on the table
/// and the file index, is paid once per run, not per entry); the others
/// one row per statement, in order. A row binds only what differs from the
/// previous one: the time once, expiry when it changes, and the NULL file
/// columns of unbound entries not at all (a statement from the cache
/// starts with every parameter NULL).
pub fn put_many(conn: &Connection, puts: &[Put<'_>], now: i64) -> rusqlite::Result<()> {
    let mut single: Option<(rusqlite::CachedStatement<'_>, Option<i64>, bool)> = None;
    let mut i = 0;
    while i < puts.len() {
        let run = &puts[i..puts.len().min(i + ROWS_PER_INSERT)];
        if run.len() == ROWS_PER_INSERT && run.iter().all(is_plain) {
            let mut st = conn.prepare_cached(insert_plain_sql())?;
            st.raw_bind_parameter(1, now)?;
            for (r, p) in run.iter().enumerate() {
                let at = 2 + 4 * r;
                st.raw_bind_parameter(at, p.key)?;
                st.raw_bind_parameter(at + 1, p.value)?;
                st.raw_bind_parameter(at + 2, (p.key.len() + p.value.len()) as i64)?;
                st.raw_bind_parameter(at + 3, p.expires_ns)?;
            }
            st.raw_execute()?;
            i += ROWS_PER_INSERT;
            continue;
        }
        let (insert, expires, files_null) = match &mut single {
            Some(s) => s,
            None => {
                let mut st = conn.prepare_cached(INSERT)?;
                st.raw_bind_parameter(4, now)?;
                single.insert((st, None, true))
            }
        };
        put_row(conn, insert, expires, files_null, &puts[i], now)?;
        i += 1;
    }
    Ok(())
}

/// One entry of [`put_many`] through the one-row statement `insert`
/// (`expires`, `files_null`: what it has bound).
fn put_row(
    conn: &Connection,
    insert: &mut rusqlite::CachedStatement<'_>,
    expires: &mut Option<i64>,
    files_null: &mut bool,
    p: &Put<'_>,
    now: i64,
) -> rusqlite::Result<()> {
    let size = (p.key.len() + p.value.len()) as i64;
    insert.raw_bind_parameter(1, p.key)?;
    insert.raw_bind_parameter(2, p.value)?;
    insert.raw_bind_parameter(3, size)?;
    if *expires != Some(p.expires_ns) {
        insert.raw_bind_parameter(5, p.expires_ns)?;
        *expires = Some(p.expires_ns);
    }
    let file_path = p.file.map(|b| b.path.as_slice());
    let file_stamp = file_stamp_blob(p.file);
    let deps = (!p.deps.is_empty()).then(|| encode_bindings(p.deps));
    let plain = p.file.is_none() && deps.is_none();
    if !(plain && *files_null) {
        insert.raw_bind_parameter(6, file_path)?;
        insert.raw_bind_parameter(7, &file_stamp)?;
        insert.raw_bind_parameter(8, &deps)?;
        *files_null = plain;
    }
    if insert.raw_execute()? == 0 {
        let args = params![
            p.key,
            p.value,
            size,
            now,
            p.expires_ns,
            file_path,
            file_stamp,
            deps
        ];
        conn.prepare_cached(UPDATE)?.execute(args)?;
    }
    if !p.deps.is_empty() {
        let mut st = conn.prepare_cached("INSERT INTO deps(entry_key, path) VALUES (?1, ?2)")?;
        for d in p.deps {
            st.execute(params![p.key, d.path])?;
        }
    }
    Ok(())
}

/// Rewrites the recorded stamps of `key` (after a metadata-only change),
/// if its row still holds the bindings `seen` that were checked.
pub fn refresh(
    conn: &Connection,
    key: &[u8],
    seen: &Seen,
    file: Option<&Binding>,
    deps: &[Binding],
) -> rusqlite::Result<()> {
    let deps = (!deps.is_empty()).then(|| encode_bindings(deps));
    conn.prepare_cached(
        "UPDATE entries SET file_stamp = ?2, deps = ?3 WHERE key = ?1
           AND file_path IS ?4 AND file_stamp IS ?5 AND deps IS ?6",
    )?
    .execute(params![
        key,
        file_stamp_blob(file),
        deps,
        seen.file_path,
        seen.file_stamp,
        seen.deps
    ])?;
    Ok(())
}

/// Deletes `key` if its row still holds the bindings `seen` (found stale
/// through them); whether it did.
pub fn delete_seen(conn: &Connection, key: &[u8], seen: &Seen) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM entries WHERE key = ?1
               AND file_path IS ?2 AND file_stamp IS ?3 AND deps IS ?4",
        )?
        .execute(params![key, seen.file_path, seen.file_stamp, seen.deps])?
        > 0)
}

/// Deletes `key` if its row has expired by `now_ns`; whether it did.
pub fn delete_if_expired(conn: &Connection, key: &[u8], now_ns: i64) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM entries WHERE key = ?1 AND expires_ns <= ?2")?
        .execute(params![key, now_ns])?
        > 0)
}

/// Deletes `key`; whether it existed.
pub fn delete(conn: &Connection, key: &[u8]) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM entries WHERE key = ?1")?
        .execute([key])?
        > 0)
}

fn bound_keys(
    conn: &Connection,
    sql: &str,
    arg: impl rusqlite::Params,
) -> rusqlite::Result<Vec<BoundKey>> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(arg, |r| {
        let deps: Option<Vec<u8>> = r.get(3)?;
        Ok(BoundKey {
            key: r.get(0)?,
            file: opt_binding(r.get(1)?, r.get(2)?),
            deps: deps.and_then(|d| decode_bindings(&d)).unwrap_or_default(),
        })
    })?;
    rows.collect()
}

/// Entries whose file is `path`.
pub fn bound_to(conn: &Connection, path: &[u8]) -> rusqlite::Result<Vec<BoundKey>> {
    bound_keys(
        conn,
        "SELECT key, file_path, file_stamp, deps FROM entries WHERE file_path = ?1",
        [path],
    )
}

/// Entries that list `path` among their dependencies.
pub fn depending_on(conn: &Connection, path: &[u8]) -> rusqlite::Result<Vec<BoundKey>> {
    bound_keys(
        conn,
        "SELECT key, file_path, file_stamp, deps FROM entries
         WHERE key IN (SELECT entry_key FROM deps WHERE path = ?1)",
        [path],
    )
}

/// Deletes expired entries; returns their keys.
pub fn delete_expired(conn: &Connection, now: i64) -> rusqlite::Result<Vec<Vec<u8>>> {
    let mut st = conn.prepare_cached("DELETE FROM entries WHERE expires_ns <= ?1 RETURNING key")?;
    let keys: rusqlite::Result<Vec<Vec<u8>>> = st.query_map([now], |r| r.get(0))?.collect();
    keys
}

/// Deletes expired analysis results; returns how many.
pub fn delete_expired_analysis(conn: &Connection, now: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM analysis WHERE expires_ns <= ?1")?
        .execute([now])
}

/// Deletes everything (entries, analysis results, watched paths); the
/// change log keeps one "everything" marker.
pub fn clear(conn: &Connection) -> rusqlite::Result<usize> {
    let n = conn.execute("DELETE FROM entries", [])?;
    conn.execute("DELETE FROM deps", [])?;
    conn.execute("DELETE FROM analysis", [])?;
    conn.execute("DELETE FROM analysis_snapshot", [])?;
    conn.execute("DELETE FROM analysis_generation", [])?;
    conn.execute("DELETE FROM watched", [])?;
    conn.execute("DELETE FROM changes", [])?;
    conn.execute(
        "INSERT INTO changes(key, at_ns) VALUES (NULL, CAST(unixepoch('subsec') * 1000000000 AS INTEGER))",
        [],
    )?;
    Ok(n)
}

/// Drops change-log rows older than `before_ns`.
pub fn prune_changes(conn: &Connection, before_ns: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM changes WHERE at_ns < ?1")?
        .execute([before_ns])
}

/// The database's data version (changes when another connection commits)
/// and the change-log rows after `seq`.
pub fn changes_since(conn: &Connection, seq: i64) -> rusqlite::Result<Vec<(i64, Option<Vec<u8>>)>> {
    let mut st = conn.prepare_cached("SELECT seq, key FROM changes WHERE seq > ?1 ORDER BY seq")?;
    let rows = st.query_map([seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// `PRAGMA data_version`: changes when another connection commits.
pub fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))
}

/// Marks the directory as size-capped: from now on every handle records
/// last-access times.
pub fn mark_lru_tracked(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO meta(name, value) VALUES ('lru_tracked', 1)",
        [],
    )
    .map(|_| ())
}

/// Whether a handle with a size cap ever opened the directory.
pub fn lru_tracked(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM meta WHERE name = 'lru_tracked'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// The last change-log sequence number.
pub fn last_change(conn: &Connection) -> rusqlite::Result<i64> {
    // The log's AUTOINCREMENT counter too: the last number ever given out,
    // even when pruning emptied the table.
    conn.query_row(
        "SELECT max(coalesce((SELECT max(seq) FROM changes), 0), \
                    coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0))",
        [],
        |r| r.get(0),
    )
}

/// (entries, bytes of keys and values) of the entries table. A scan (no
/// counters are kept per write: they would cost every insert).
pub fn totals(conn: &Connection) -> rusqlite::Result<(u64, u64)> {
    conn.prepare_cached("SELECT count(*), coalesce(sum(size), 0) FROM entries")?
        .query_row([], |r| {
            Ok((
                r.get::<_, i64>(0)?.max(0) as u64,
                r.get::<_, i64>(1)?.max(0) as u64,
            ))
        })
}

/// When the entries take more than `cap` bytes, deletes the least recently
/// used until they take at most 90% of it; returns the deleted keys and
/// the bytes left.
pub fn evict_to(conn: &Connection, cap: u64) -> rusqlite::Result<(Vec<Vec<u8>>, u64)> {
    let (_, bytes) = totals(conn)?;
    if bytes <= cap {
        return Ok((Vec::new(), bytes));
    }
    let target = cap - cap / 10;
    let mut excess = bytes - target;
    let mut removed = 0u64;
    let mut victims = Vec::new();
    {
        let mut st = conn
            .prepare_cached("SELECT key, size FROM entries ORDER BY last_access_ns, created_ns")?;
        let mut rows = st.query([])?;
        while excess > 0 {
            let Some(r) = rows.next()? else { break };
            let key: Vec<u8> = r.get(0)?;
            let size: i64 = r.get(1)?;
            excess = excess.saturating_sub(size.max(0) as u64);
            removed += size.max(0) as u64;
            victims.push(key);
        }
    }
    let mut del = conn.prepare_cached("DELETE FROM entries WHERE key = ?1")?;
    for k in &victims {
        del.execute([k])?;
    }
    Ok((victims, bytes.saturating_sub(removed)))
}

/// Adds `deltas` to the cross-process statistics.
pub fn add_stats(conn: &Connection, deltas: &[(&str, u64)]) -> rusqlite::Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT INTO stats(name, value) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
    )?;
    for (name, d) in deltas {
        if *d > 0 {
            st.execute(params![name, *d as i64])?;
        }
    }
    Ok(())
}

/// The cross-process statistics.
pub fn read_stats(conn: &Connection) -> rusqlite::Result<HashMap<String, u64>> {
    let mut st = conn.prepare_cached("SELECT name, value FROM stats")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    rows.map(|r| r.map(|(n, v)| (n, v.max(0) as u64))).collect()
}

/// The stamp last recorded for a watched path (outer `None`: never
/// recorded; inner `None`: recorded as absent).
pub fn watched(conn: &Connection, path: &[u8]) -> rusqlite::Result<Option<Option<Binding>>> {
    conn.prepare_cached("SELECT stamp FROM watched WHERE path = ?1")?
        .query_row([path], |r| {
            let s: Option<Vec<u8>> = r.get(0)?;
            Ok(s.and_then(|s| decode_bindings(&s))
                .and_then(|mut v| v.pop()))
        })
        .optional()
}

/// Records the current stamp of a watched path.
pub fn set_watched(conn: &Connection, b: &Binding) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO watched(path, stamp) VALUES (?1, ?2)")?
        .execute(params![
            b.path,
            b.stamp
                .is_some()
                .then(|| encode_bindings(std::slice::from_ref(b)))
        ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::failpoint::{self, Event, Point, Script};
    use super::*;

    /// One `put` of `key` (no file unless `file`, dependencies `deps`).
    fn put_one(
        c: &Connection,
        key: &[u8],
        value: &[u8],
        expires_ns: i64,
        file: Option<&Binding>,
        deps: &[Binding],
        now: i64,
    ) -> rusqlite::Result<()> {
        let p = Put {
            key,
            value,
            expires_ns,
            file,
            deps,
        };
        put(c, &p, now)
    }

    /// Two processes creating one directory at once (44d6738): while one
    /// sets the fresh database up, holding its write lock, the other's
    /// switch to WAL fails with "database is locked" at once (SQLite does
    /// not call the busy handler there), so the open must retry. Another
    /// connection holds the write lock of a fresh database; the open is
    /// held at its first retry and the lock let go only then. Without the
    /// retry the open failed every time (tests/cache.rs's
    /// `two_processes_write_one_dir` caught it in 8 runs of 10 here).
    #[test]
    fn an_open_meeting_a_fresh_database_locked_retries() {
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = dir.path().join("c");
        create_dir(&cache_dir).unwrap();
        let other = Connection::open(cache_dir.join(DB_NAME)).unwrap();
        other.execute_batch("BEGIN IMMEDIATE;").unwrap();
        let script = Script::new(&[("o", Point::OpenBusy)]);
        let hook = script.hook();
        let opener = failpoint::spawn(&script, "o", move || {
            failpoint::set_thread_hook(hook);
            Store::open(&cache_dir)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        let seen = script.wait_for("the open retrying or done", |e| {
            *e == Event::Reached("o".into(), Point::OpenBusy) || *e == Event::Finished("o".into())
        });
        other.execute_batch("COMMIT;").unwrap();
        drop(other);
        if seen == Event::Reached("o".into(), Point::OpenBusy) {
            script.release("o", Point::OpenBusy);
        }
        let opened = script.join("o", opener);
        assert!(opened.is_ok(), "{opened:?}");
        assert_eq!(
            seen,
            Event::Reached("o".into(), Point::OpenBusy),
            "the open was to meet the lock"
        );
    }

    /// A WAL grown while another connection held an old snapshot (so no
    /// checkpoint could restart it) is truncated by a later writer once the
    /// reader is gone.
    #[test]
    fn a_grown_wal_is_truncated_by_a_later_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c")).unwrap();
        let value = vec![7u8; 64 << 10];
        store
            .write(|c| put_one(c, b"seed", b"x", i64::MAX, None, &[], 1))
            .unwrap();
        // Another connection reading the first snapshot all along.
        let reader = Connection::open(dir.path().join("c").join(DB_NAME)).unwrap();
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM entries;")
            .unwrap();
        let mut i = 0u64;
        while store.wal_bytes() <= WAL_GROWN_MAX_BYTES {
            store
                .write(|c| put_one(c, &i.to_le_bytes(), &value, i64::MAX, None, &[], 1))
                .unwrap();
            i += 1;
        }
        // Still held: the looks fail harmlessly, and the writes go on.
        for _ in 0..WAL_LOOK_EVERY {
            store
                .write(|c| put_one(c, b"more", &value, i64::MAX, None, &[], 1))
                .unwrap();
        }
        assert!(store.wal_bytes() > WAL_GROWN_MAX_BYTES);
        reader.execute_batch("COMMIT;").unwrap();
        drop(reader);
        for _ in 0..WAL_LOOK_EVERY {
            store
                .write(|c| put_one(c, b"more", b"small", i64::MAX, None, &[], 1))
                .unwrap();
        }
        assert!(
            store.wal_bytes() < WAL_GROWN_MAX_BYTES / 8,
            "{}",
            store.wal_bytes()
        );
        let n: i64 = store
            .read(|c| c.query_row("SELECT count(*) FROM entries", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(n as u64, i + 2);
    }

    #[test]
    fn put_many_in_multi_row_runs_matches_one_row_puts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c")).unwrap();
        let dep = Binding {
            path: b"a.h".to_vec(),
            stamp: None,
        };
        let file = Binding {
            path: b"f.c".to_vec(),
            stamp: None,
        };
        // Entries that the runs below replace: one with dependencies, one
        // bound to a file.
        store
            .write(|c| {
                put_one(
                    c,
                    b"k3",
                    b"old",
                    i64::MAX,
                    None,
                    std::slice::from_ref(&dep),
                    1,
                )?;
                put_one(c, b"k40", b"old", i64::MAX, Some(&file), &[], 1)
            })
            .unwrap();
        let seq0 = store
            .read(|c| changes_since(c, 0))
            .unwrap()
            .last()
            .map_or(0, |r| r.0);
        // 3 full runs and a tail; a key twice in one run (the later value
        // wins); a bound entry in the middle of the third run (one-row
        // statements until the next full run of plain entries).
        let keys: Vec<Vec<u8>> = (0..100)
            .map(|i: usize| {
                let i = if i == 20 { 3 } else { i };
                format!("k{i}").into_bytes()
            })
            .collect();
        let values: Vec<Vec<u8>> = (0..100).map(|i| format!("v{i}").into_bytes()).collect();
        let puts: Vec<Put<'_>> = (0..100)
            .map(|i| Put {
                key: &keys[i],
                value: &values[i],
                expires_ns: 1000 + i as i64,
                file: (i == 70).then_some(&file),
                deps: &[],
            })
            .collect();
        store.write(|c| put_many(c, &puts, 5)).unwrap();
        for i in (0..100).filter(|&i| i != 3) {
            let row = store.read(|c| get(c, &keys[i])).unwrap().unwrap();
            let want = if i == 20 { 20 } else { i };
            assert_eq!(row.value, values[want], "{i}");
            assert_eq!(row.expires_ns, 1000 + want as i64);
            assert_eq!(row.file.is_some(), i == 70);
            assert!(row.deps.is_empty());
        }
        // Replacing dropped the old dependencies and the old file binding.
        assert!(store.read(|c| depending_on(c, b"a.h")).unwrap().is_empty());
        assert!(store.read(|c| bound_to(c, b"f.c")).unwrap().len() == 1);
        assert_eq!(store.read(totals).unwrap().0, 99);
        // Every replacement was logged for the other processes: k3 twice
        // (first run: replaced, then again in the same run), k40 once.
        let logged: Vec<Vec<u8>> = store
            .read(|c| changes_since(c, seq0))
            .unwrap()
            .into_iter()
            .filter_map(|r| r.1)
            .collect();
        assert_eq!(
            logged,
            vec![b"k3".to_vec(), b"k3".to_vec(), b"k40".to_vec()]
        );
    }

    #[test]
    fn open_put_get_delete_and_totals() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c")).unwrap();
        assert!(store.recovered.is_none());
        let mode = std::fs::metadata(dir.path().join("c")).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o700
        );
        let dep = Binding {
            path: b"a.h".to_vec(),
            stamp: None,
        };
        store
            .write(|c| {
                put_one(
                    c,
                    b"k\0",
                    b"v\0v",
                    i64::MAX,
                    None,
                    std::slice::from_ref(&dep),
                    1,
                )?;
                put_one(c, b"k2", b"vv", 10, None, &[], 1)
            })
            .unwrap();
        let row = store.read(|c| get(c, b"k\0")).unwrap().unwrap();
        assert_eq!(row.value, b"v\0v");
        assert_eq!(row.deps, vec![dep]);
        assert_eq!(store.read(|c| depending_on(c, b"a.h")).unwrap().len(), 1);
        assert_eq!(store.read(totals).unwrap(), (2, 9));
        // Replacing the entry without deps drops its reverse index rows.
        store
            .write(|c| put_one(c, b"k\0", b"x", i64::MAX, None, &[], 2))
            .unwrap();
        assert_eq!(store.read(|c| depending_on(c, b"a.h")).unwrap().len(), 0);
        assert_eq!(store.read(totals).unwrap(), (2, 7));
        assert_eq!(
            store.write(|c| delete_expired(c, 10)).unwrap(),
            vec![b"k2".to_vec()]
        );
        assert!(store.write(|c| delete(c, b"k\0")).unwrap());
        assert_eq!(store.read(totals).unwrap(), (0, 0));
    }

    #[test]
    fn garbage_file_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(DB_NAME), vec![0x5au8; 8192]).unwrap();
        let store = Store::open(dir.path()).unwrap();
        let msg = store.recovered.clone().unwrap();
        assert!(msg.contains("corrupt"), "{msg}");
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
            .collect();
        assert_eq!(aside.len(), 1);
        assert_eq!(store.read(totals).unwrap(), (0, 0));
    }

    #[test]
    fn corruption_met_by_a_statement_is_recovered_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let value = vec![7u8; 500];
            store
                .write(|c| {
                    for i in 0..2000u32 {
                        let key = i.to_be_bytes();
                        let p = Put {
                            key: &key,
                            value: &value,
                            expires_ns: i64::MAX,
                            file: None,
                            deps: &[],
                        };
                        put(c, &p, 1)?;
                    }
                    Ok(())
                })
                .unwrap();
            store
                .read(|c| c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)"))
                .unwrap();
        }
        // Smash the last page (a leaf at the end of the entries): the open's
        // probe of the first pages does not see it, a full scan does.
        let path = dir.path().join(DB_NAME);
        let mut bytes = std::fs::read(&path).unwrap();
        let len = bytes.len();
        bytes[len - 4096..].fill(0xee);
        std::fs::write(&path, bytes).unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.recovered.is_none(), "the cheap open check passed");
        assert!(!check_marker(&path).exists());
        let err = store.read(totals).unwrap_err();
        assert!(err.to_string().contains("malformed"), "{err}");
        assert!(check_marker(&path).exists(), "the failure asks for a check");
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert!(store.recovered.as_deref().unwrap().contains("moved aside"));
        assert_eq!(store.read(totals).unwrap(), (0, 0));
        assert!(!check_marker(&path).exists());
        drop(store);
        assert!(Store::open(dir.path()).unwrap().recovered.is_none());
    }

    #[test]
    fn migrates_old_schema_keeping_data() {
        let dir = tempfile::tempdir().unwrap();
        {
            let old = Store::open_at_schema(dir.path(), 1).unwrap();
            old.write(|c| {
                c.execute(
                    "INSERT INTO entries(key, value, size, created_ns, expires_ns, last_access_ns)
                     VALUES (x'01', x'0203', 3, 0, 9223372036854775807, 0)",
                    [],
                )
            })
            .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.pragma("user_version") as usize, MIGRATIONS.len());
        assert_eq!(store.read(totals).unwrap(), (1, 3));
        assert_eq!(store.read(|c| get(c, &[1])).unwrap().unwrap().value, [2, 3]);
    }

    #[test]
    fn analysis_results_survive_the_packed_stamp_migration() {
        let dir = tempfile::tempdir().unwrap();
        {
            let old = Store::open_at_schema(dir.path(), 3).unwrap();
            old.write(|c| {
                c.execute(
                    "INSERT INTO analysis VALUES ('a@1', x'2e', x'ff2f61', 12, -5, 77,
                        x'000102030405060708090a0b0c0d0e0f', 9000000000, x'00', 123)",
                    [],
                )
            })
            .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let row = store
            .read(|c| {
                c.query_row(
                    "SELECT analyzer_id, namespace, rel_path, stamp, value, expires_ns FROM analysis",
                    [],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Vec<u8>>(1)?,
                            r.get::<_, Vec<u8>>(2)?,
                            r.get::<_, Vec<u8>>(3)?, // a blob, not text
                            r.get::<_, Vec<u8>>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    },
                )
            })
            .unwrap();
        let stamp = crate::cache::FileStamp {
            size: 12,
            mtime_ns: -5,
            inode: 77,
            hash: std::array::from_fn(|i| i as u8),
            recorded_ns: 9_000_000_000,
            ctime_ns: crate::cache::stamp::CTIME_UNKNOWN,
        };
        assert_eq!(row.0, "a@1");
        assert_eq!(row.1, b".");
        assert_eq!(row.2, b"\xff/a");
        // Migrated rows keep the 48-byte stamp (no language: see
        // `analysis::stored_language`).
        assert_eq!(
            row.3,
            super::super::analysis::encode_stamp(&stamp, None)[..48]
        );
        assert_eq!(super::super::analysis::decode_stamp(&row.3), Some(stamp));
        assert_eq!((row.4, row.5), (vec![0], 123));
    }

    #[test]
    fn newer_schema_is_refused_not_touched() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        {
            let c = Connection::open(dir.path().join(DB_NAME)).unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }
        let err = Store::open(dir.path()).err().expect("refused");
        assert_eq!(err.kind, crate::ErrorKind::Store);
        assert!(err.message.contains("newer"), "{}", err.message);
        assert!(dir.path().join(DB_NAME).exists());
    }

    #[test]
    fn eviction_by_last_access() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .write(|c| {
                for i in 0..10u8 {
                    put_one(c, &[i], &[0; 99], i64::MAX, None, &[], i as i64)?;
                }
                Ok(())
            })
            .unwrap();
        store.touch(&[0], 100);
        store.write(|_| Ok(())).unwrap();
        let (evicted, left) = store.write(|c| evict_to(c, 500)).unwrap();
        assert_eq!(left, 400);
        // 1000 bytes -> at most 450: the 6 least recently used go; key 0 was
        // read last, so it stays.
        assert_eq!(evicted.len(), 6);
        assert!(!evicted.contains(&vec![0]));
        assert_eq!(store.read(totals).unwrap(), (4, 400));
    }
}
