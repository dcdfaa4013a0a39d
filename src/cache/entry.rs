//! A cached entry and its file bindings, and the compact byte encoding of
//! dependency lists stored in SQLite.

use super::stamp::{CTIME_UNKNOWN, FileStamp};
use std::sync::Arc;
use std::sync::atomic::AtomicI64;

/// A path (stored form, see `paths`) and what was recorded about it;
/// `None`: the file did not exist when recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub path: Vec<u8>,
    pub stamp: Option<FileStamp>,
}

/// One cached value with its expiry and file bindings. Immutable: a refresh
/// of recorded stamps replaces the whole entry.
#[derive(Debug)]
pub struct Entry {
    pub value: Arc<[u8]>,
    /// When the entry expires everywhere (ns since the epoch; `i64::MAX`: never).
    pub expires_ns: i64,
    /// When the memory tier's copy expires (never later than `expires_ns`).
    pub mem_expires_ns: i64,
    /// The file whose content the value was computed from.
    pub file: Option<Binding>,
    /// Dependencies, including those found transitively when stored.
    pub deps: Vec<Binding>,
    /// When a memory hit last re-recorded the access for the persistent
    /// tier's LRU (ns since the epoch).
    pub last_touch: AtomicI64,
}

impl Entry {
    pub fn new(
        value: Arc<[u8]>,
        expires_ns: i64,
        mem_expires_ns: i64,
        file: Option<Binding>,
        deps: Vec<Binding>,
    ) -> Entry {
        Entry {
            value,
            expires_ns,
            mem_expires_ns,
            file,
            deps,
            last_touch: AtomicI64::new(0),
        }
    }

    pub fn is_bound(&self) -> bool {
        self.file.is_some() || !self.deps.is_empty()
    }
}

/// Bytes of a stamp stored without a ctime (flag 1, by versions before
/// ctimes were recorded) and with one (flag 2).
const STAMP_LEN: usize = 8 + 8 + 8 + 16 + 8;
const STAMP_CTIME_LEN: usize = STAMP_LEN + 8;

fn put_stamp(out: &mut Vec<u8>, s: &FileStamp) {
    out.extend_from_slice(&s.size.to_le_bytes());
    out.extend_from_slice(&s.mtime_ns.to_le_bytes());
    out.extend_from_slice(&s.inode.to_le_bytes());
    out.extend_from_slice(&s.hash);
    out.extend_from_slice(&s.recorded_ns.to_le_bytes());
    out.extend_from_slice(&s.ctime_ns.to_le_bytes());
}

/// A stamp of [`STAMP_LEN`] bytes (ctime unknown) or [`STAMP_CTIME_LEN`].
fn get_stamp(b: &[u8]) -> FileStamp {
    let u = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    FileStamp {
        size: u(0),
        mtime_ns: u(8) as i64,
        inode: u(16),
        hash: b[24..40].try_into().expect("16 bytes"),
        recorded_ns: u(40) as i64,
        ctime_ns: if b.len() >= STAMP_CTIME_LEN {
            u(48) as i64
        } else {
            CTIME_UNKNOWN
        },
    }
}

/// Encodes bindings: per binding, u32 path length, path, u8 flag (0: no
/// stamp; 2: a stamp follows: size, mtime_ns, inode, hash, recorded_ns,
/// ctime_ns, integers little-endian; 1, read only: a stamp without its
/// ctime, written by versions before ctimes were recorded).
pub fn encode_bindings(deps: &[Binding]) -> Vec<u8> {
    let mut out = Vec::with_capacity(deps.len() * (STAMP_CTIME_LEN + 32));
    for d in deps {
        out.extend_from_slice(&(d.path.len() as u32).to_le_bytes());
        out.extend_from_slice(&d.path);
        match &d.stamp {
            Some(s) => {
                out.push(2);
                put_stamp(&mut out, s);
            }
            None => out.push(0),
        }
    }
    out
}

/// Decodes [`encode_bindings`]; `None` when the bytes are malformed.
pub fn decode_bindings(mut b: &[u8]) -> Option<Vec<Binding>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let len = u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as usize;
        let path = b.get(4..4 + len)?.to_vec();
        b = &b[4 + len..];
        let present = *b.first()?;
        b = &b[1..];
        let len = match present {
            0 => 0,
            1 => STAMP_LEN,
            2 => STAMP_CTIME_LEN,
            _ => return None,
        };
        let body = b.get(..len)?;
        let stamp = (len > 0).then(|| get_stamp(body));
        b = &b[len..];
        out.push(Binding { path, stamp });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_round_trip() {
        let deps = vec![
            Binding {
                path: b"src/a.h".to_vec(),
                stamp: Some(FileStamp {
                    size: 3,
                    mtime_ns: -5,
                    inode: 77,
                    hash: [9; 16],
                    recorded_ns: 1234,
                    ctime_ns: 4321,
                }),
            },
            Binding {
                path: b"/abs/\xffmissing.h".to_vec(),
                stamp: None,
            },
        ];
        let bytes = encode_bindings(&deps);
        assert_eq!(decode_bindings(&bytes).unwrap(), deps);
        assert_eq!(decode_bindings(&[]).unwrap(), vec![]);
        assert!(decode_bindings(&bytes[..bytes.len() - 1]).is_none());
        let mut unknown_flag = bytes.clone();
        unknown_flag[4 + 7] = 3;
        assert!(decode_bindings(&unknown_flag).is_none());
    }

    #[test]
    fn bindings_stored_before_ctimes_read_without_one() {
        // What versions before ctimes were recorded wrote: flag 1 and a
        // 48-byte stamp.
        let mut old = Vec::new();
        old.extend_from_slice(&7u32.to_le_bytes());
        old.extend_from_slice(b"src/a.h");
        old.push(1);
        for word in [3u64, (-5i64) as u64, 77] {
            old.extend_from_slice(&word.to_le_bytes());
        }
        old.extend_from_slice(&[9; 16]);
        old.extend_from_slice(&1234u64.to_le_bytes());
        old.extend_from_slice(&3u32.to_le_bytes());
        old.extend_from_slice(b"b.h");
        old.push(0);
        let got = decode_bindings(&old).unwrap();
        let want = FileStamp {
            size: 3,
            mtime_ns: -5,
            inode: 77,
            hash: [9; 16],
            recorded_ns: 1234,
            ctime_ns: CTIME_UNKNOWN,
        };
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].stamp, Some(want));
        assert_eq!((&got[1].path[..], got[1].stamp), (&b"b.h"[..], None));
        // Written again: the new form, still without a ctime.
        assert_eq!(decode_bindings(&encode_bindings(&got)).unwrap(), got);
    }
}
