//! A bounded timeline: when it holds `cap` points it halves its resolution
//! (adjacent points merge) and from then on merges twice as many raw samples
//! into each point, so a profiler left running for hours keeps a fixed
//! amount of memory and a uniform timeline.
//!
//! A merged point keeps the last time, the largest RSS and heap (so spikes
//! stay visible), and the time-weighted mean CPU (so CPU time is conserved).

use super::profile::Sample;

#[derive(Debug, Clone, Copy)]
struct Point {
    sample: Sample,
    /// Seconds of wall time this point covers (weights its CPU).
    span_s: f64,
}

impl Point {
    fn merge(self, next: Point) -> Point {
        let span_s = self.span_s + next.span_s;
        let cpu = if span_s > 0.0 {
            (self.sample.cpu_percent * self.span_s + next.sample.cpu_percent * next.span_s) / span_s
        } else {
            next.sample.cpu_percent
        };
        Point {
            sample: Sample {
                t_s: next.sample.t_s,
                rss_bytes: self.sample.rss_bytes.max(next.sample.rss_bytes),
                cpu_percent: cpu,
                heap_bytes: self.sample.heap_bytes.max(next.sample.heap_bytes),
            },
            span_s,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Timeline {
    cap: usize,
    points: Vec<Point>,
    /// Raw samples per point.
    stride: u64,
    /// The point being filled and how many raw samples it holds.
    pending: Option<(Point, u64)>,
    raw: u64,
}

impl Timeline {
    /// A timeline of at most `cap` points (`cap` is made even, at least 2).
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(2) / 2 * 2;
        Timeline {
            cap,
            points: Vec::new(),
            stride: 1,
            pending: None,
            raw: 0,
        }
    }

    /// Adds a raw sample covering `span_s` seconds of wall time.
    pub fn push(&mut self, sample: Sample, span_s: f64) {
        self.raw += 1;
        let point = Point { sample, span_s };
        let (point, n) = match self.pending.take() {
            Some((p, n)) => (p.merge(point), n + 1),
            None => (point, 1),
        };
        if n < self.stride {
            self.pending = Some((point, n));
            return;
        }
        if self.points.len() == self.cap {
            self.halve();
        }
        self.points.push(point);
    }

    fn halve(&mut self) {
        let merged: Vec<Point> = self
            .points
            .chunks(2)
            .map(|c| if c.len() == 2 { c[0].merge(c[1]) } else { c[0] })
            .collect();
        self.points = merged;
        self.stride *= 2;
    }

    /// Points the timeline has room for before it allocates again.
    pub fn capacity(&self) -> usize {
        self.points.capacity()
    }

    /// Raw samples merged into each point.
    pub fn stride(&self) -> u64 {
        self.stride
    }

    /// Raw samples pushed.
    pub fn raw_count(&self) -> u64 {
        self.raw
    }

    /// The points, the partly filled one last.
    pub fn finish(mut self) -> Vec<Sample> {
        if let Some((p, _)) = self.pending.take() {
            self.points.push(p);
        }
        self.points.into_iter().map(|p| p.sample).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: f64, rss: u64, cpu: f64) -> Sample {
        Sample {
            t_s: t,
            rss_bytes: rss,
            cpu_percent: cpu,
            heap_bytes: rss / 2,
        }
    }

    #[test]
    fn stays_bounded_and_keeps_peaks_and_cpu_time() {
        let mut tl = Timeline::new(8);
        let mut cpu_time = 0.0;
        for i in 1..=1000u64 {
            let cpu = if i % 3 == 0 { 100.0 } else { 20.0 };
            let rss = if i == 777 { 1 << 30 } else { 1000 + i };
            tl.push(s(i as f64 * 0.01, rss, cpu), 0.01);
            cpu_time += cpu * 0.01;
        }
        assert_eq!(tl.raw_count(), 1000);
        let stride = tl.stride();
        assert!(stride >= 128, "stride {stride}");
        let samples = tl.finish();
        assert!(samples.len() <= 9, "{}", samples.len());
        assert!(samples.iter().any(|x| x.rss_bytes == 1 << 30));
        // Time-weighted CPU is conserved: sum(cpu * span) over points.
        let mut prev = 0.0;
        let mut merged_time = 0.0;
        for x in &samples {
            merged_time += x.cpu_percent * (x.t_s - prev);
            prev = x.t_s;
        }
        assert!((merged_time - cpu_time).abs() < 1e-6 * cpu_time.max(1.0));
        assert!((samples.last().unwrap().t_s - 10.0).abs() < 1e-9);
    }

    #[test]
    fn any_cap_is_accepted() {
        for cap in [0, 1, 3, usize::MAX] {
            let mut tl = Timeline::new(cap);
            for i in 1..=10 {
                tl.push(s(i as f64, i, 1.0), 1.0);
            }
            assert!(!tl.finish().is_empty());
        }
    }

    #[test]
    fn small_timelines_are_untouched() {
        let mut tl = Timeline::new(100);
        for i in 1..=5 {
            tl.push(s(i as f64, i, 50.0), 1.0);
        }
        assert_eq!(tl.stride(), 1);
        let v = tl.finish();
        assert_eq!(v.len(), 5);
        assert_eq!(v[2], s(3.0, 3, 50.0));
    }
}
