//! Linux `/proc` readers: resident set size through a kept-open
//! `/proc/self/statm` (one `pread` per sample), the kernel's RSS high-water
//! mark (`VmHWM`) and its reset (`clear_refs`), and the live descendants of
//! the process for `include_children`.

use super::sys;
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;

/// Reads the process's resident set size from a kept-open `/proc/self/statm`.
pub struct RssReader {
    statm: Option<File>,
    page: u64,
    buf: [u8; 256],
}

impl RssReader {
    /// Opens `/proc/self/statm`; without it every reading is `None`.
    pub fn open() -> Self {
        RssReader {
            statm: File::open("/proc/self/statm").ok(),
            page: sys::page_size(),
            buf: [0; 256],
        }
    }

    /// Resident bytes now, or `None` when `/proc` is unavailable.
    pub fn rss_bytes(&mut self) -> Option<u64> {
        let file = self.statm.as_ref()?;
        // A seq_file re-renders its text on every read at offset 0.
        let n = file.read_at(&mut self.buf, 0).ok()?;
        Some(statm_resident_pages(&self.buf[..n])? * self.page)
    }
}

/// The second field (resident pages) of a `/proc/<pid>/statm` line
/// ("size resident shared text lib data dt"), parsed by hand: the sampler
/// reads it every interval.
pub fn statm_resident_pages(line: &[u8]) -> Option<u64> {
    let mut fields = line
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty());
    fields.next()?;
    let digits = fields.next()?;
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')),
    )
}

/// A `kB` field such as `VmHWM:   1234 kB` of `/proc/self/status`, in bytes.
fn status_field_bytes(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    let rest = line[field.len()..].trim_start_matches(':').trim();
    let kb: u64 = rest.split_ascii_whitespace().next()?.parse().ok()?;
    Some(kb * 1024)
}

/// The kernel's peak resident set size (`VmHWM`) since the process started
/// or since the last [`reset_hwm`], in bytes.
pub fn read_hwm_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status_field_bytes(&status, "VmHWM")
}

/// Resets the kernel's peak RSS to the current RSS (`echo 5 >
/// /proc/self/clear_refs`). False when not possible (no `/proc`, an old
/// kernel, or a sandbox that forbids it).
pub fn reset_hwm() -> bool {
    match std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/clear_refs")
    {
        Ok(mut f) => f.write_all(b"5").is_ok(),
        Err(_) => false,
    }
}

/// Fields of one `/proc/<pid>/stat` line that the profiler needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub ppid: u32,
    /// utime + stime + cutime + cstime, in clock ticks.
    pub cpu_ticks: u64,
    /// Resident pages.
    pub rss_pages: u64,
}

/// Parses a `/proc/<pid>/stat` line (the command name may hold spaces and
/// parentheses, so fields are counted from the last `)`).
pub fn parse_stat(line: &str) -> Option<ProcStat> {
    let after = &line[line.rfind(')')? + 1..];
    let f: Vec<&str> = after.split_ascii_whitespace().collect();
    // f[0] is field 3 (state); field n is f[n - 3].
    let num = |n: usize| -> Option<u64> { f.get(n - 3)?.parse().ok() };
    Some(ProcStat {
        ppid: num(4)? as u32,
        cpu_ticks: num(14)? + num(15)? + num(16)? + num(17)?,
        rss_pages: num(24)?,
    })
}

/// Resident bytes and CPU time of the live descendants of this process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChildTotals {
    pub rss_bytes: u64,
    pub cpu_ns: u64,
    pub count: u32,
}

/// Finds the live descendants of this process by scanning `/proc` (the
/// kernel's `children` files are often not built in), and sums them.
pub struct ChildScanner {
    self_pid: u32,
    page: u64,
    tick_ns: u64,
}

impl ChildScanner {
    pub fn new() -> Self {
        ChildScanner {
            self_pid: std::process::id(),
            page: sys::page_size(),
            tick_ns: 1_000_000_000 / sys::clock_ticks(),
        }
    }

    /// Sums RSS and CPU (including each descendant's waited-for children)
    /// of every live descendant. Zombies count for nothing.
    pub fn scan(&self) -> ChildTotals {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return ChildTotals::default();
        };
        let mut by_parent: HashMap<u32, Vec<(u32, ProcStat)>> = HashMap::new();
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            if let Some(stat) = parse_stat(&text) {
                by_parent.entry(stat.ppid).or_default().push((pid, stat));
            }
        }
        let mut totals = ChildTotals::default();
        let mut queue = vec![self.self_pid];
        while let Some(parent) = queue.pop() {
            for (pid, stat) in by_parent.remove(&parent).unwrap_or_default() {
                totals.rss_bytes += stat.rss_pages * self.page;
                totals.cpu_ns += stat.cpu_ticks * self.tick_ns;
                totals.count += 1;
                queue.push(pid);
            }
        }
        totals
    }
}

impl Default for ChildScanner {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_names() {
        let line = "42 (a) b (c)) S 7 42 42 0 -1 4194560 100 0 0 0 11 22 33 44 20 0 1 0 \
                    100 1000 55 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.ppid, 7);
        assert_eq!(stat.cpu_ticks, 11 + 22 + 33 + 44);
        assert_eq!(stat.rss_pages, 55);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn parses_statm() {
        assert_eq!(
            statm_resident_pages(b"5323 1042 712 5 0 201 0\n"),
            Some(1042)
        );
        assert_eq!(
            statm_resident_pages(b"  1  99999999999"),
            Some(99_999_999_999)
        );
        assert_eq!(statm_resident_pages(b"5323"), None);
        assert_eq!(statm_resident_pages(b"5323 12x 0"), None);
        assert_eq!(statm_resident_pages(b"1 99999999999999999999 0"), None);
        assert_eq!(statm_resident_pages(b""), None);
    }

    #[test]
    fn reads_status_fields() {
        let status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(status_field_bytes(status, "VmHWM"), Some(2048 * 1024));
        assert_eq!(status_field_bytes(status, "VmRSS"), Some(1024 * 1024));
        assert_eq!(status_field_bytes(status, "VmSwap"), None);
    }

    #[test]
    fn reads_own_rss() {
        let mut r = RssReader::open();
        let a = r.rss_bytes().unwrap();
        let b = r.rss_bytes().unwrap();
        assert!(a > 0 && b > 0);
        assert!(read_hwm_bytes().unwrap() >= a.min(b) / 2);
    }
}
