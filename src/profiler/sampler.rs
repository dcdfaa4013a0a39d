//! The sampler: one reading of RSS, CPU time and heap (a few µs, no
//! allocation), the running figures of a window, and the native thread that
//! takes a reading every interval.

use super::procfs::{ChildScanner, ChildTotals, RssReader};
use super::profile::Sample;
use super::timeline::Timeline;
use super::{heap, sys};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One reading of the process (and, optionally, its live descendants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// RSS of the process itself.
    pub self_rss: u64,
    /// RSS of the live descendants (0 unless children are included).
    pub children_rss: u64,
    /// CPU time in ns: the process, plus with children its waited-for
    /// children and its live descendants.
    pub cpu_ns: u64,
    pub heap: u64,
}

/// A periodic reading repeats the last RSS and heap figures only while the
/// other threads' CPU time has grown by at most this much since the last
/// full reading: the two µs truncations of `getrusage` (the figure is
/// otherwise exact; it stays put to the ns in an idle process). A thread
/// that is charged for running at all is charged more than that: a wake-up
/// alone costs microseconds.
pub(crate) const REUSE_CPU_SLACK_NS: u64 = 2_000;

/// A periodic reading is a full one at least this often (seconds): pages
/// the kernel takes back on its own (reclaim, swap), and the rare change the
/// test cannot see (a thread that ran and ended before the scheduler charged
/// it any time), show within it.
pub(crate) const REUSE_MAX_AGE_S: f64 = 0.25;

/// While other threads keep running, each failed test makes the next ones
/// wait 1, 2, 4, then this many periodic readings (full ones, without the
/// thread's `getrusage`): a busy process pays for the test on one reading
/// in 9, and an idle one reuses its figures at most 18 readings after its
/// threads stopped.
const TEST_BACKOFF: u32 = 8;

/// What the other threads of the process had done at the sampler's last
/// full reading (see [`Probe::read_periodic`]).
#[derive(Debug, Clone, Copy)]
struct Quiet {
    /// The sampler thread's involuntary switches.
    own_involuntary: u64,
    /// Switches of the process minus the sampler thread's.
    others_switches: u64,
    /// Page faults of the whole process (the sampler's own included).
    faults: u64,
    /// CPU of the process minus the sampler thread's.
    others_cpu_ns: u64,
    /// When it was taken, in seconds from the window's start.
    t_s: f64,
}

impl Quiet {
    /// Whether no thread but the sampler can have changed RSS or heap
    /// between `base` and `self` (both taken on the sampler thread).
    fn quiet_since(&self, base: &Quiet) -> bool {
        // Each count is exact. A preemption of the sampler between its two
        // `getrusage` calls (process, then thread) counts in the thread's
        // figure only, so it could hide another thread's switch: any
        // preemption of the sampler since the base voids the test. One at
        // the base only lowers the base's figure (a full reading).
        self.own_involuntary == base.own_involuntary
            && self.others_switches == base.others_switches
            && self.faults == base.faults
            && self.others_cpu_ns <= base.others_cpu_ns.saturating_add(REUSE_CPU_SLACK_NS)
    }
}

/// Takes readings: a kept-open `/proc/self/statm`, the process CPU time,
/// `mallinfo2`, and with `include_children` a scan of `/proc`.
pub struct Probe {
    rss: RssReader,
    children: Option<ChildScanner>,
    last_rss: u64,
    last_heap: u64,
    quiet: Option<Quiet>,
    reused: u64,
    /// Periodic readings to go before the next test (see [`TEST_BACKOFF`]).
    untested: u32,
    /// How many periodic readings the last failed test skipped.
    backoff: u32,
}

impl Probe {
    pub fn new(include_children: bool) -> Self {
        Probe {
            rss: RssReader::open(),
            children: include_children.then(ChildScanner::new),
            last_rss: 0,
            last_heap: 0,
            quiet: None,
            reused: 0,
            untested: 0,
            backoff: 0,
        }
    }

    /// One full reading now, from any thread.
    pub fn read(&mut self) -> Reading {
        // A full reading from another thread is not a base for the
        // sampler's test (its "other threads" are not the same).
        self.quiet = None;
        let cpu_ns = sys::process_usage_cpu_ns();
        self.full(cpu_ns)
    }

    fn full(&mut self, mut cpu_ns: u64) -> Reading {
        // Without /proc, repeat the last figure rather than report 0.
        let self_rss = self.rss.rss_bytes().unwrap_or(self.last_rss);
        self.last_rss = self_rss;
        let heap = heap::read_limited();
        self.last_heap = heap;
        let mut children = ChildTotals::default();
        if let Some(scanner) = &self.children {
            children = scanner.scan();
            cpu_ns += sys::waited_children_cpu_ns() + children.cpu_ns;
        }
        Reading {
            self_rss,
            children_rss: children.rss_bytes,
            cpu_ns,
            heap,
        }
    }

    /// The sampler thread's reading (always call it from the same thread;
    /// `t_s` is about now, in seconds from the window's start). RSS and heap
    /// change only when some thread of the process runs: page faults,
    /// `munmap`, `madvise`, `malloc` and `free` are all done by a thread.
    /// So when no thread but this one has run since the last full reading,
    /// RSS and heap are repeated, and only the CPU time is read.
    ///
    /// "No other thread ran" is told by `getrusage` of the process and of
    /// the thread (read in that order): no page fault anywhere in the
    /// process (the sampler's own included), no context switch of any other
    /// thread (a thread that ran and stopped was switched out, blocked or
    /// preempted), no preemption of this thread (which could hide one), and
    /// the other threads' CPU time within [`REUSE_CPU_SLACK_NS`] (a thread
    /// that started and ended meanwhile counts no switch, but its CPU time;
    /// a thread running all along is charged at every scheduler tick). The
    /// change that can be late is one made by a thread still running at the
    /// reading and not yet charged any time: it shows at the next reading
    /// after that thread's next tick or switch, or, should it end first, at
    /// the next full reading, taken at least every [`REUSE_MAX_AGE_S`].
    /// While other threads keep running, the test itself is taken less often
    /// (see [`TEST_BACKOFF`]). With `include_children` every reading is full.
    pub fn read_periodic(&mut self, t_s: f64) -> Reading {
        if self.children.is_some() {
            return self.read();
        }
        if self.untested > 0 {
            self.untested -= 1;
            let cpu_ns = sys::process_usage_cpu_ns();
            return self.full(cpu_ns);
        }
        // The process first: it charges this thread's time up to now, which
        // the thread's figure then includes, so the other threads' CPU time
        // is exact. A preemption between the two calls shows in the
        // thread's figure, and voids the test (see `quiet_since`).
        let Some(all) = sys::process_usage() else {
            return self.read();
        };
        let Some(own) = sys::thread_usage() else {
            return self.read();
        };
        let now = Quiet {
            own_involuntary: own.involuntary,
            others_switches: (all.voluntary + all.involuntary)
                .saturating_sub(own.voluntary + own.involuntary),
            faults: all.faults,
            others_cpu_ns: all.cpu_ns.saturating_sub(own.cpu_ns),
            t_s,
        };
        if let Some(base) = self.quiet {
            if !now.quiet_since(&base) {
                // Other threads ran: they may well keep running.
                self.backoff = (self.backoff * 2).clamp(1, TEST_BACKOFF);
                self.untested = self.backoff;
            } else if t_s - base.t_s < REUSE_MAX_AGE_S {
                self.reused += 1;
                self.backoff = 0;
                return Reading {
                    self_rss: self.last_rss,
                    children_rss: 0,
                    cpu_ns: all.cpu_ns,
                    heap: self.last_heap,
                };
            }
            // Quiet, but the base is old: read everything again (pages the
            // kernel took back; a thread that ran and ended uncharged).
        }
        let reading = self.full(all.cpu_ns);
        self.quiet = Some(now);
        reading
    }

    /// Makes the next periodic reading a full one (the sampler thread
    /// itself allocated).
    pub fn forget(&mut self) {
        self.quiet = None;
    }

    /// Periodic readings that repeated RSS and heap so far.
    pub fn reused(&self) -> u64 {
        self.reused
    }
}

/// A sample's CPU % is taken over at least this long: back to the latest
/// reading this much older, when the last one is more recent. The kernel
/// brings the CPU time of threads running on other cores up to date only at
/// a scheduler tick (up to 10 ms), so over a span of a fraction of a
/// millisecond (a reading at `stop`, or `sample_now` right after a sample)
/// one busy thread read as 1 000 % and more.
const MIN_CPU_SPAN_S: f64 = 0.05;

/// Readings kept for [`MIN_CPU_SPAN_S`] at most (at very short intervals
/// the span is then shorter).
const CPU_BASES_MAX: usize = 1024;

/// The most CPU % a process can use: every online CPU busy.
fn max_cpu_percent() -> f64 {
    static MAX: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *MAX.get_or_init(|| {
        // SAFETY: sysconf with a valid name only returns a number.
        let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        100.0 * n.max(1) as f64
    })
}

/// The running figures of one window, fed by every reading.
pub struct Window {
    probe: Probe,
    start: Instant,
    start_cpu_ns: u64,
    last_t: f64,
    last_cpu_ns: u64,
    /// Recent readings (time, CPU ns), oldest first: the bases of CPU %.
    cpu_bases: std::collections::VecDeque<(f64, u64)>,
    timeline: Timeline,
    samples: u64,
    rss_sum: f64,
    pub max_rss: u64,
    pub max_self_rss: u64,
    pub max_children_rss: u64,
    pub max_heap: u64,
    /// `heap::skipped()` when the window opened.
    pub heap_skipped_at_open: u64,
}

impl Window {
    /// Opens a window now: the reading taken here is the base of the first
    /// sample's CPU figure, so that figure is valid.
    pub fn open(mut probe: Probe, max_samples: usize) -> Self {
        let first = probe.read();
        let start = Instant::now();
        let rss = first.self_rss + first.children_rss;
        Window {
            probe,
            start,
            start_cpu_ns: first.cpu_ns,
            last_t: 0.0,
            last_cpu_ns: first.cpu_ns,
            cpu_bases: std::collections::VecDeque::from([(0.0, first.cpu_ns)]),
            timeline: Timeline::new(max_samples),
            samples: 0,
            rss_sum: 0.0,
            max_rss: rss,
            max_self_rss: first.self_rss,
            max_children_rss: first.children_rss,
            max_heap: first.heap,
            heap_skipped_at_open: heap::skipped(),
        }
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    /// Takes a full reading, records it, and returns it as a sample.
    pub fn sample(&mut self) -> Sample {
        let r = self.probe.read();
        self.record(r)
    }

    /// The sampler thread's sample: [`Probe::read_periodic`] (RSS and heap
    /// repeated while no other thread ran).
    pub fn sample_periodic(&mut self) -> Sample {
        let r = self.probe.read_periodic(self.last_t);
        let capacity = self.timeline.capacity();
        let sample = self.record(r);
        if self.timeline.capacity() != capacity {
            // The timeline (re)allocated: the heap moved.
            self.probe.forget();
        }
        sample
    }

    /// Periodic readings that repeated RSS and heap (no other thread ran).
    pub fn readings_reused(&self) -> u64 {
        self.probe.reused()
    }

    fn record(&mut self, r: Reading) -> Sample {
        let t = self.start.elapsed().as_secs_f64();
        let span = t - self.last_t;
        // The base: the latest reading at least MIN_CPU_SPAN_S old (the
        // last one when the span is that long), else the oldest kept.
        while self.cpu_bases.len() > CPU_BASES_MAX
            || self
                .cpu_bases
                .get(1)
                .is_some_and(|b| b.0 <= t - MIN_CPU_SPAN_S)
        {
            self.cpu_bases.pop_front();
        }
        // Never empty: a reading goes only when a later one can be the base.
        let (base_t, base_cpu) = self.cpu_bases[0];
        let cpu_ns = r.cpu_ns.saturating_sub(base_cpu);
        let cpu_percent = if t > base_t {
            (cpu_ns as f64 / 1e9 / (t - base_t) * 100.0).min(max_cpu_percent())
        } else {
            0.0
        };
        self.cpu_bases.push_back((t, r.cpu_ns));
        // A descendant that exits between readings may take CPU time with it.
        self.last_cpu_ns = self.last_cpu_ns.max(r.cpu_ns);
        self.last_t = t;
        let rss = r.self_rss + r.children_rss;
        self.samples += 1;
        self.rss_sum += rss as f64;
        self.max_rss = self.max_rss.max(rss);
        self.max_self_rss = self.max_self_rss.max(r.self_rss);
        self.max_children_rss = self.max_children_rss.max(r.children_rss);
        self.max_heap = self.max_heap.max(r.heap);
        let sample = Sample {
            t_s: t,
            rss_bytes: rss,
            cpu_percent,
            heap_bytes: r.heap,
        };
        self.timeline.push(sample, span);
        sample
    }

    /// Mean RSS over every sample, in bytes.
    pub fn avg_rss(&self) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            self.rss_sum / self.samples as f64
        }
    }

    /// CPU ns since the window opened (as of the last sample).
    pub fn cpu_ns(&self) -> u64 {
        self.last_cpu_ns.saturating_sub(self.start_cpu_ns)
    }

    /// Seconds from open to the last sample.
    pub fn last_t(&self) -> f64 {
        self.last_t
    }

    /// Takes the timeline out (points, stride, raw sample count), leaving
    /// an empty one.
    pub fn take_timeline(&mut self) -> (Vec<Sample>, u64, u64) {
        let timeline = std::mem::replace(&mut self.timeline, Timeline::new(2));
        let stride = timeline.stride();
        let raw = timeline.raw_count();
        (timeline.finish(), stride, raw)
    }
}

/// How a sleeping sampler thread is woken for stop.
enum Wake {
    /// Blocked on a periodic timer: make it fire now.
    #[cfg(target_os = "linux")]
    Timer(Arc<sys::Ticker>),
    /// Parked to a deadline: unpark it.
    Park,
}

/// The native sampler thread of a running window.
pub struct SamplerThread {
    stop: Arc<AtomicBool>,
    wake: Wake,
    handle: JoinHandle<u64>,
}

impl SamplerThread {
    /// Starts sampling `window` every `interval`, on deadlines counted from
    /// the window's start (so the timeline does not drift); missed
    /// deadlines (a suspended process) are skipped, not sampled in a burst.
    ///
    /// On Linux the thread blocks on a periodic `timerfd` that the kernel
    /// re-arms by itself: a wake-up is one `read`, then the sample, with no
    /// deadline to compute and no timer to program (see [`sys::Ticker`]).
    /// Elsewhere, or when no timerfd can be made, it parks to each deadline.
    pub fn spawn(window: Arc<Mutex<Window>>, interval: Duration) -> std::io::Result<Self> {
        Self::spawn_with(window, interval, true)
    }

    /// [`SamplerThread::spawn`], with the periodic timer only if `timer`.
    fn spawn_with(
        window: Arc<Mutex<Window>>,
        interval: Duration,
        timer: bool,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let start = window.lock().unwrap_or_else(|e| e.into_inner()).start();
        #[cfg(target_os = "linux")]
        if timer {
            let first = start
                .checked_add(interval)
                .map_or(interval, |d| d.saturating_duration_since(Instant::now()));
            if let Ok(ticker) = sys::Ticker::new(first, interval) {
                let ticker = Arc::new(ticker);
                let (flag, timer) = (Arc::clone(&stop), Arc::clone(&ticker));
                let handle = std::thread::Builder::new()
                    .name("wtfperf-sampler".into())
                    .spawn(move || run_timer(&window, &timer, start, interval, &flag))?;
                return Ok(SamplerThread {
                    stop,
                    wake: Wake::Timer(ticker),
                    handle,
                });
            }
        }
        let _ = timer;
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("wtfperf-sampler".into())
            .spawn(move || run_park(&window, start, interval, &flag))?;
        Ok(SamplerThread {
            stop,
            wake: Wake::Park,
            handle,
        })
    }

    /// Stops and joins the thread; returns the CPU ns it used.
    pub fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Release);
        match &self.wake {
            #[cfg(target_os = "linux")]
            Wake::Timer(ticker) => {
                // Cannot fail for a live timerfd; if it did, the thread
                // still wakes at its next tick and sees the flag.
                let _ = ticker.fire_now();
                // In case it fell back to parking.
                self.handle.thread().unpark();
            }
            Wake::Park => self.handle.thread().unpark(),
        }
        self.handle.join().unwrap_or(0)
    }
}

/// The sampler loop on a periodic timer; returns the thread's CPU ns.
#[cfg(target_os = "linux")]
fn run_timer(
    window: &Mutex<Window>,
    ticker: &sys::Ticker,
    start: Instant,
    interval: Duration,
    stop: &AtomicBool,
) -> u64 {
    let cpu0 = sys::thread_cpu_ns();
    loop {
        if ticker.wait().is_err() {
            // A timerfd read does not fail; should it, park to the
            // deadlines instead (stop also unparks).
            return cpu0_delta(cpu0) + run_park(window, start, interval, stop);
        }
        if stop.load(Ordering::Acquire) {
            break;
        }
        window
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sample_periodic();
    }
    cpu0_delta(cpu0)
}

/// CPU ns of the calling thread since `cpu0`.
fn cpu0_delta(cpu0: u64) -> u64 {
    sys::thread_cpu_ns().saturating_sub(cpu0)
}

/// The sampler loop parking to each deadline; returns the thread's CPU ns.
fn run_park(window: &Mutex<Window>, start: Instant, interval: Duration, stop: &AtomicBool) -> u64 {
    let cpu0 = sys::thread_cpu_ns();
    let mut k: u32 = 0;
    'outer: loop {
        k = k.saturating_add(1);
        let deadline = interval.checked_mul(k).and_then(|d| start.checked_add(d));
        loop {
            if stop.load(Ordering::Acquire) {
                break 'outer;
            }
            let now = Instant::now();
            match deadline {
                Some(d) if now >= d => break,
                Some(d) => std::thread::park_timeout(d - now),
                None => std::thread::park(),
            }
        }
        window
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sample_periodic();
        // After a long stall (a suspended process), skip the missed
        // deadlines instead of sampling in a burst.
        let elapsed = start.elapsed();
        if !interval.is_zero() {
            let due = (elapsed.as_nanos() / interval.as_nanos()) as u32;
            k = k.max(due);
        }
    }
    sys::thread_cpu_ns().saturating_sub(cpu0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sample_has_a_valid_cpu_figure() {
        let mut w = Window::open(Probe::new(false), 100);
        let wall = Instant::now();
        // Burn 50 ms of CPU time, however loaded the machine is.
        let cpu0 = sys::thread_cpu_ns();
        while sys::thread_cpu_ns() - cpu0 < 50_000_000 {
            std::hint::black_box(0u64.wrapping_add(1));
        }
        let own = (sys::thread_cpu_ns() - cpu0) as f64 / wall.elapsed().as_nanos() as f64 * 100.0;
        let s = w.sample();
        assert!(s.cpu_percent >= own * 0.9, "{} vs {own}", s.cpu_percent);
        assert!(s.rss_bytes > 0);
        assert!(w.cpu_ns() >= 50_000_000);
    }

    /// Readings a fraction of a millisecond apart while another thread
    /// runs: the kernel brings that thread's CPU time up to date only at a
    /// tick, which over such a span read as 1 000 % and more for one thread.
    #[test]
    fn close_readings_give_a_plausible_cpu_figure() {
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let busy = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::black_box(0u64.wrapping_add(1));
                }
            })
        };
        let mut w = Window::open(Probe::new(false), 10_000);
        let mut worst: f64 = 0.0;
        // ~80 ms of a busy thread (other tests share these cores).
        for i in 0..160 {
            if i % 4 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
            worst = worst.max(w.sample().cpu_percent);
        }
        stop.store(true, Ordering::Relaxed);
        busy.join().unwrap();
        // Never more than every core busy (other tests in this process may
        // run too, so the figure itself can reach that bound).
        assert!(worst <= max_cpu_percent(), "worst {worst:.0} %");
    }

    #[test]
    fn quiet_test_fails_on_any_sign_of_another_thread() {
        let base = Quiet {
            own_involuntary: 3,
            others_switches: 10,
            faults: 500,
            others_cpu_ns: 1_000_000,
            t_s: 1.0,
        };
        let same = Quiet { t_s: 1.01, ..base };
        assert!(same.quiet_since(&base));
        // The sampler's own charge lag is absorbed, up to the slack.
        let lag = Quiet {
            others_cpu_ns: base.others_cpu_ns + REUSE_CPU_SLACK_NS,
            ..same
        };
        assert!(lag.quiet_since(&base));
        // Less CPU than at the base (the base's own lag was larger): quiet.
        let less = Quiet {
            others_cpu_ns: base.others_cpu_ns - 50_000,
            ..same
        };
        assert!(less.quiet_since(&base));
        for moved in [
            Quiet {
                others_switches: 11,
                ..same
            },
            Quiet {
                faults: 501,
                ..same
            },
            Quiet {
                own_involuntary: 4,
                ..same
            },
            Quiet {
                others_cpu_ns: base.others_cpu_ns + REUSE_CPU_SLACK_NS + 1,
                ..same
            },
        ] {
            assert!(!moved.quiet_since(&base), "{moved:?}");
        }
    }

    #[test]
    fn other_threads_readings_and_timeline_growth_void_the_base() {
        let mut w = Window::open(Probe::new(false), 1000);
        assert!(w.probe.quiet.is_none());
        w.sample_periodic();
        // The timeline's first push allocated: the next reading is full.
        assert!(w.probe.quiet.is_none());
        w.sample_periodic();
        assert!(w.probe.quiet.is_some() || sys::thread_usage().is_none());
        w.sample();
        assert!(w.probe.quiet.is_none());
        // With children every reading is full.
        let mut p = Probe::new(true);
        p.read_periodic(0.0);
        p.read_periodic(0.001);
        assert!(p.quiet.is_none());
        assert_eq!(p.reused(), 0);
    }

    #[test]
    fn failed_tests_back_off_while_other_threads_run() {
        if sys::thread_usage().is_none() {
            return;
        }
        let other_thread_runs = || std::thread::spawn(|| vec![1u8; 1000].len()).join().unwrap();
        let mut p = Probe::new(false);
        p.read_periodic(0.0);
        for (k, backoff) in [1, 2, 4, 8, 8].into_iter().enumerate() {
            other_thread_runs();
            p.read_periodic(0.001 * k as f64);
            assert_eq!((p.backoff, p.untested), (backoff, backoff), "{k}");
            for left in (0..backoff).rev() {
                p.read_periodic(0.001 * k as f64);
                assert_eq!(p.untested, left);
            }
        }
    }

    #[test]
    fn thread_samples_on_its_interval() {
        // The periodic timer and the parking fallback.
        for timer in [true, false] {
            let w = Arc::new(Mutex::new(Window::open(Probe::new(false), 1000)));
            let th =
                SamplerThread::spawn_with(Arc::clone(&w), Duration::from_millis(5), timer).unwrap();
            std::thread::sleep(Duration::from_millis(120));
            let stopping = Instant::now();
            let cpu = th.stop();
            // Stop is prompt, not a wait for the next tick of a long interval.
            assert!(stopping.elapsed() < Duration::from_millis(100), "{timer}");
            assert!(cpu > 0, "{timer}");
            let (samples, stride, raw) = w.lock().unwrap().take_timeline();
            assert_eq!(stride, 1);
            assert!((5..=30).contains(&raw), "{timer}: {raw}");
            assert_eq!(samples.len() as u64, raw);
            assert!(samples.windows(2).all(|p| p[0].t_s < p[1].t_s));
            // Samples fall on the deadlines k * 5 ms from the start (late
            // when the machine is loaded, never early).
            for (k, s) in samples.iter().enumerate() {
                let due = (k + 1) as f64 * 0.005;
                assert!(s.t_s >= due - 1e-4, "{timer}: sample {k} at {} s", s.t_s);
            }
        }
    }

    #[test]
    fn stop_is_prompt_with_a_long_interval() {
        for timer in [true, false] {
            let w = Arc::new(Mutex::new(Window::open(Probe::new(false), 1000)));
            let th = SamplerThread::spawn_with(Arc::clone(&w), Duration::from_secs(3600), timer)
                .unwrap();
            std::thread::sleep(Duration::from_millis(20));
            let stopping = Instant::now();
            th.stop();
            assert!(stopping.elapsed() < Duration::from_millis(500), "{timer}");
            assert_eq!(w.lock().unwrap().take_timeline().2, 0, "{timer}");
        }
    }
}
