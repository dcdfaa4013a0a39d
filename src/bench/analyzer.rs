//! The analyzer the analyze scenarios run on every cache miss. It does real
//! work in proportion to the file's size — several regex-free passes over the
//! content (lines, comments, tokens, keywords, markers) — so "cold vs warm"
//! measures skipping work a real linter would do, not an empty callback.

use serde::{Deserialize, Serialize};

/// Identifies this analyzer (and its version) in cache keys: changing the
/// analysis must change this string.
pub const ANALYZER_ID: &str = "wtfperf-bench-metrics/1";

/// What the analyzer finds in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMetrics {
    pub bytes: u64,
    pub lines: u64,
    pub blank_lines: u64,
    pub comment_lines: u64,
    pub max_line_len: u64,
    pub max_indent: u64,
    pub identifiers: u64,
    pub numbers: u64,
    pub strings: u64,
    pub punctuation: u64,
    /// Branching keywords and operators (`if`, `for`, `while`, `&&`, ...).
    pub branches: u64,
    /// TODO / FIXME / XXX markers.
    pub markers: u64,
    /// Distinct identifiers (by a 64-bit hash).
    pub distinct_identifiers: u64,
    /// Not valid UTF-8 or containing NUL bytes.
    pub binary: bool,
}

fn is_comment(line: &[u8]) -> bool {
    line.starts_with(b"//")
        || line.starts_with(b"#")
        || line.starts_with(b"/*")
        || line.starts_with(b"*")
}

/// FNV-1a, enough to count distinct identifiers.
fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

const BRANCH_WORDS: &[&[u8]] = &[
    b"if", b"elif", b"else", b"for", b"while", b"match", b"case", b"catch", b"except", b"loop",
    b"switch", b"unless", b"until",
];

/// Analyzes `content`.
pub fn analyze(content: &[u8]) -> FileMetrics {
    let mut m = FileMetrics {
        bytes: content.len() as u64,
        ..Default::default()
    };
    // Pass 1: encoding.
    m.binary = content.contains(&0) || std::str::from_utf8(content).is_err();
    if m.binary {
        return m;
    }
    // Pass 2: lines, blank and comment lines, widths and indentation.
    for line in content.split(|&b| b == b'\n') {
        m.lines += 1;
        m.max_line_len = m.max_line_len.max(line.len() as u64);
        let indent = line
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        let rest = &line[indent..];
        if rest.is_empty() {
            m.blank_lines += 1;
        } else if is_comment(rest) {
            m.comment_lines += 1;
        }
        m.max_indent = m.max_indent.max(indent as u64);
    }
    // Pass 3: tokens.
    let mut seen = std::collections::HashSet::new();
    let mut i = 0;
    while i < content.len() {
        let b = content[i];
        if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while i < content.len() && (content[i].is_ascii_alphanumeric() || content[i] == b'_') {
                i += 1;
            }
            let word = &content[start..i];
            m.identifiers += 1;
            seen.insert(fnv(word));
            if BRANCH_WORDS.contains(&word) {
                m.branches += 1;
            }
        } else if b.is_ascii_digit() {
            while i < content.len() && (content[i].is_ascii_alphanumeric() || content[i] == b'.') {
                i += 1;
            }
            m.numbers += 1;
        } else if b == b'"' || b == b'\'' {
            i += 1;
            while i < content.len() && content[i] != b && content[i] != b'\n' {
                i += if content[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            m.strings += 1;
        } else {
            if b.is_ascii_punctuation() {
                m.punctuation += 1;
                if (b == b'&' || b == b'|') && content.get(i + 1) == Some(&b) {
                    m.branches += 1;
                    i += 1;
                }
            }
            i += 1;
        }
    }
    m.distinct_identifiers = seen.len() as u64;
    // Pass 4: markers.
    for marker in [&b"TODO"[..], b"FIXME", b"XXX"] {
        m.markers += content
            .windows(marker.len())
            .filter(|w| *w == marker)
            .count() as u64;
    }
    m
}

/// The result bytes stored in the cache.
pub fn encode(m: &FileMetrics) -> Vec<u8> {
    serde_json::to_vec(m).expect("metrics always serialize")
}

/// Reads back [`encode`]d bytes.
pub fn decode(bytes: &[u8]) -> Option<FileMetrics> {
    serde_json::from_slice(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_a_small_program() {
        let src = b"// header\n\nfn main() {\n    if a && b { x = \"s\\\"q\"; } // TODO: y\n    let n = 42;\n}\n";
        let m = analyze(src);
        assert_eq!(m.lines, 7, "trailing newline gives an empty last line");
        assert_eq!(m.blank_lines, 2);
        assert_eq!(m.comment_lines, 1);
        assert_eq!(m.max_indent, 4);
        assert_eq!(m.strings, 1);
        assert_eq!(m.numbers, 1);
        assert_eq!(m.branches, 2, "`if` and `&&`");
        assert_eq!(m.markers, 1);
        // header fn main if a b x TODO y let n
        assert_eq!(m.identifiers, 11);
        assert_eq!(m.distinct_identifiers, 11);
        assert!(!m.binary);
        assert_eq!(decode(&encode(&m)), Some(m));
    }

    #[test]
    fn binary_is_recognized_and_not_tokenized() {
        let m = analyze(b"\x89PNG\r\n\x1a\n\0\0\xff");
        assert!(m.binary);
        assert_eq!(m.identifiers, 0);
        assert_eq!(m.bytes, 11);
    }
}
