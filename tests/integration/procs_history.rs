//! History: ring bound, lossless compact storage, CSV, growth slope, leak suspicion.

use std::time::Duration;

use memmux::memory::history::{CSV_HEADER, History, Parts, Sample};

const MIB: u64 = 1 << 20;
const T0: u64 = 1_700_000_000_000;

fn s(sec: u64, tree: u64) -> Sample {
    Sample {
        unix_ms: T0 + sec * 1000,
        tree_bytes: tree,
        ..Sample::default()
    }
}

/// Deterministic noise in [-1, 1) (xorshift), so "noisy" tests are reproducible.
struct Noise(u64);
impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

fn filled(n: u64, f: impl Fn(u64) -> u64) -> History {
    let mut h = History::new(3600);
    for i in 0..n {
        h.push(s(i, f(i)));
    }
    h
}

const MIN: Duration = Duration::from_secs(60);

#[test]
fn ring_is_bounded_and_keeps_the_newest() {
    let mut h = History::new(100);
    assert!(h.is_empty());
    assert_eq!(h.latest(), None);
    for i in 0..250 {
        h.push(s(i, 1000 + i * 7));
    }
    assert_eq!(h.len(), 100);
    let v: Vec<Sample> = h.iter().collect();
    assert_eq!(v.len(), 100);
    assert_eq!(v[0], s(150, 1000 + 150 * 7));
    assert_eq!(v[99], s(249, 1000 + 249 * 7));
    assert_eq!(h.latest(), Some(s(249, 1000 + 249 * 7)));
    assert!(v.windows(2).all(|w| w[0].unix_ms < w[1].unix_ms));
    assert_eq!(h.peak_tree(), 1000 + 249 * 7);

    let mut one = History::new(1);
    one.push(s(1, 5));
    one.push(s(2, 6));
    assert_eq!(one.len(), 1);
    assert_eq!(one.iter().collect::<Vec<_>>(), vec![s(2, 6)]);
}

#[test]
fn peak_is_over_the_ring_and_ever() {
    let mut h = History::new(10);
    h.push(s(0, 500 * MIB));
    for i in 1..20 {
        h.push(s(i, MIB));
    }
    assert_eq!(h.peak_tree(), MIB);
    assert_eq!(h.peak_tree_ever(), 500 * MIB);
}

#[test]
fn lossless_roundtrip_of_every_field() {
    let mut n = Noise(42);
    let mut want = Vec::new();
    let mut h = History::new(500);
    for i in 0..1000u64 {
        let r = |n: &mut Noise, k: f64| ((n.next() + 1.0) * k) as u64;
        let x = Sample {
            // Clock steps back now and then (NTP), and jumps.
            unix_ms: if i % 97 == 0 {
                T0 + i * 1000 - 5000
            } else {
                T0 + i * 1000 + r(&mut n, 50.0)
            },
            tree_bytes: if i % 50 == 0 {
                u64::MAX
            } else {
                r(&mut n, 1e12)
            },
            heap_bytes: r(&mut n, 1e6),
            pss_bytes: match i % 7 {
                0 => None,
                1 | 2 => Some(r(&mut n, 1e9)),
                _ => Some(123),
            },
            processes: if i % 11 == 0 {
                u32::MAX
            } else {
                r(&mut n, 50.0) as u32
            },
            scrollback_rows: i * 3,
            scrollback_bytes: if i % 3 == 0 { 0 } else { i * 300 },
        };
        want.push(x);
        h.push(x);
    }
    let got: Vec<Sample> = h.iter().collect();
    assert_eq!(got, want[500..]);
}

#[test]
fn compact_and_lazy() {
    // An idle tab: only the clock moves. 3 bytes a sample.
    let mut idle = History::new(3600);
    assert_eq!(idle.heap_bytes(), 0, "nothing allocated up front");
    for i in 0..3600 {
        idle.push(Sample {
            unix_ms: T0 + i * 1000,
            tree_bytes: 300 * 1024,
            processes: 1,
            scrollback_rows: 40,
            scrollback_bytes: 4000,
            pss_bytes: Some(280 * 1024),
            heap_bytes: 64 * 1024,
        });
    }
    assert!(idle.encoded_bytes() <= 3 * 3600, "{}", idle.encoded_bytes());
    // A busy tab: every field moves every second.
    let mut n = Noise(7);
    let mut busy = History::new(3600);
    for i in 0..7200u64 {
        busy.push(Sample {
            unix_ms: T0 + i * 1000 + (n.next() * 20.0) as u64,
            tree_bytes: 200 * MIB + i * 4096 * 3 + ((n.next() + 1.0) * 1e5) as u64 * 4096,
            heap_bytes: 10 * MIB + ((n.next() + 1.0) * 1e5) as u64,
            pss_bytes: Some(190 * MIB + (i / 10) * 40960),
            processes: 20 + (i % 5) as u32,
            scrollback_rows: 1000 + i * 30,
            scrollback_bytes: 100_000 + i * 2400,
        });
    }
    let per = busy.encoded_bytes() as f64 / busy.len() as f64;
    assert!(per < 20.0, "{per} bytes per busy sample");
    eprintln!(
        "idle: {:.1} B/sample, busy: {per:.1} B/sample (a Sample is {} B)",
        idle.encoded_bytes() as f64 / idle.len() as f64,
        std::mem::size_of::<Sample>()
    );
}

#[test]
fn csv_rows() {
    let mut h = History::new(10);
    h.push(Sample {
        unix_ms: 1000,
        tree_bytes: 2048,
        heap_bytes: 77,
        pss_bytes: None,
        processes: 3,
        scrollback_rows: 12,
        scrollback_bytes: 960,
    });
    // With parts: the cgroup's breakdown, the statm sum, the limit and the kills, each
    // sample its own (the first kill came with the third sample).
    let parts = |anon: u64, kills: u64| Parts {
        source: "cgroup-v1",
        rss_minus_shared: 1500,
        anon: Some(anon),
        file: Some(1024),
        shmem: Some(0),
        kernel: None,
        limit: Some(134217728),
        oom_kills: kills,
    };
    h.push_with(
        Sample {
            unix_ms: 2000,
            tree_bytes: 4096,
            heap_bytes: 78,
            pss_bytes: Some(3000),
            processes: 4,
            scrollback_rows: 13,
            scrollback_bytes: 1040,
        },
        parts(3072, 0),
    );
    h.push_with(
        Sample {
            unix_ms: 3000,
            tree_bytes: 1024,
            heap_bytes: 78,
            pss_bytes: Some(3000),
            processes: 1,
            scrollback_rows: 14,
            scrollback_bytes: 1120,
        },
        parts(0, 1),
    );
    let mut out = String::new();
    out.push_str(CSV_HEADER);
    out.push('\n');
    h.to_csv_rows(2, "vim \"a,b\"\nc", &mut out);
    assert_eq!(
        out,
        "unix_ms,tab,title,pid_count,tree_rss_bytes,tree_pss_bytes,heap_bytes,scrollback_rows,scrollback_bytes,\
         memory_bytes,memory_source,anon_bytes,file_bytes,shmem_bytes,kernel_bytes,limit_bytes,oom_kills,pane\n\
         1000,2,\"vim \"\"a,b\"\"\nc\",3,2048,,77,12,960,2048,,,,,,,0,\n\
         2000,2,\"vim \"\"a,b\"\"\nc\",4,1500,3000,78,13,1040,4096,cgroup-v1,3072,1024,0,,134217728,0,\n\
         3000,2,\"vim \"\"a,b\"\"\nc\",1,1500,3000,78,14,1120,1024,cgroup-v1,0,1024,0,,134217728,1,\n"
    );
    let mut empty = String::new();
    History::new(5).to_csv_rows(0, "x", &mut empty);
    assert!(empty.is_empty());
}

#[test]
fn parts_survive_the_ring_and_cost_nothing_while_unchanged() {
    let mut h = History::new(100);
    let p = |k: u64| Parts {
        source: if k % 2 == 0 { "cgroup-v2" } else { "pss" },
        rss_minus_shared: k * 4096,
        anon: (k % 3 != 0).then_some(k << 20),
        file: Some(u64::MAX - k),
        shmem: None,
        kernel: Some(k),
        limit: (k > 50).then_some(1 << 30),
        oom_kills: k / 10,
    };
    for k in 0..300u64 {
        h.push_with(s(k, k << 20), p(k));
    }
    let kept: Vec<(Sample, Parts)> = h.iter_with_parts().collect();
    assert_eq!(kept.len(), 100);
    for (i, (sample, parts)) in kept.iter().enumerate() {
        let k = 200 + i as u64;
        assert_eq!((sample.tree_bytes, *parts), (k << 20, p(k)));
    }
    // Unchanged parts add nothing to a sample's encoding.
    let mut same = History::new(100);
    let mut bare = History::new(100);
    for k in 0..100 {
        same.push_with(s(k, 7), p(4));
        bare.push(s(k, 7));
    }
    assert_eq!(same.encoded_bytes(), bare.encoded_bytes());
}

#[test]
fn growth_linear() {
    // 2 MiB per minute, sampled each second for 5 minutes.
    let h = filled(300, |i| 100 * MIB + i * 2 * MIB / 60);
    let g = h.growth_per_min(MIN).unwrap();
    assert!((g - 2.0 * MIB as f64).abs() < 0.01 * MIB as f64, "{g}");
    let g5 = h.growth_per_min(Duration::from_secs(300)).unwrap();
    assert!((g5 - 2.0 * MIB as f64).abs() < 0.01 * MIB as f64, "{g5}");
}

#[test]
fn growth_flat_and_degenerate() {
    let h = filled(120, |_| 50 * MIB);
    assert_eq!(h.growth_per_min(MIN), Some(0.0));
    assert_eq!(History::new(10).growth_per_min(MIN), None);
    assert_eq!(filled(1, |_| 5).growth_per_min(MIN), None);
    // Shrinking memory: negative growth.
    let down = filled(120, |i| 500 * MIB - i * MIB);
    assert!((down.growth_per_min(MIN).unwrap() + 60.0 * MIB as f64).abs() < 1.0);
}

#[test]
fn growth_single_step() {
    // Flat, +64 MiB at 30 s, flat: the fitted slope is large but the step is no trend.
    let h = filled(60, |i| if i < 30 { 100 * MIB } else { 164 * MIB });
    let g = h.growth_per_min(MIN).unwrap();
    assert!(g > 0.0);
    assert!(!h.leak_suspect(MIN, MIB as f64));
}

#[test]
fn growth_noisy_linear() {
    let mut n = Noise(99);
    let noise: Vec<f64> = (0..120).map(|_| n.next()).collect();
    // 4 MiB/min with +-1 MiB noise.
    let h = filled(120, |i| {
        (200.0 * MIB as f64 + i as f64 * 4.0 * MIB as f64 / 60.0 + noise[i as usize] * MIB as f64)
            as u64
    });
    let g = h.growth_per_min(MIN).unwrap();
    assert!((g - 4.0 * MIB as f64).abs() < 0.5 * MIB as f64, "{g}");
    // Over one minute that is a 4 MiB rise under +-1 MiB noise: R² about 0.8, the border.
    // Over two minutes (8 MiB rise) the fit is clearly good.
    assert!(h.leak_suspect(Duration::from_secs(120), MIB as f64));
    // Half the noise: a suspect over one minute too.
    let h = filled(120, |i| {
        (200.0 * MIB as f64
            + i as f64 * 4.0 * MIB as f64 / 60.0
            + noise[i as usize] * 0.5 * MIB as f64) as u64
    });
    assert!(h.leak_suspect(MIN, MIB as f64));
    // Noise dominating a slow trend: R² far below 0.8, not a suspect.
    let h = filled(120, |i| {
        (200.0 * MIB as f64
            + i as f64 * 2.0 * MIB as f64 / 60.0
            + noise[i as usize] * 4.0 * MIB as f64) as u64
    });
    assert!(!h.leak_suspect(MIN, 0.1 * MIB as f64));
}

#[test]
fn leak_suspect_steady_growth() {
    let h = filled(90, |i| 100 * MIB + i * 64 * 1024);
    assert!(h.leak_suspect(MIN, MIB as f64), "3.75 MiB/min");
    assert!(
        !h.leak_suspect(MIN, 8.0 * MIB as f64),
        "below the threshold"
    );
}

#[test]
fn leak_suspect_false_for_steps() {
    for at in [5, 20, 30, 45, 55] {
        let h = filled(60, |i| if i < at { 100 * MIB } else { 300 * MIB });
        assert!(!h.leak_suspect(MIN, MIB as f64), "step at {at}s");
    }
    // A step with a little noise on both levels.
    let mut n = Noise(3);
    let noise: Vec<f64> = (0..60).map(|_| n.next()).collect();
    let h = filled(60, |i| {
        let base = if i < 25 { 100.0 } else { 200.0 } * MIB as f64;
        (base + noise[i as usize] * 0.5 * MIB as f64) as u64
    });
    assert!(!h.leak_suspect(MIN, MIB as f64));
    // A step on top of slow growth: still mostly a step.
    let h = filled(60, |i| {
        100 * MIB + i * 16 * 1024 + if i < 40 { 0 } else { 100 * MIB }
    });
    assert!(!h.leak_suspect(MIN, MIB as f64));
}

#[test]
fn leak_suspect_true_for_staircase() {
    // Growth in 8 MiB chunks every 10 s (allocator arenas): a trend, not a step.
    let h = filled(60, |i| 100 * MIB + (i / 10) * 8 * MIB);
    assert!(h.leak_suspect(MIN, MIB as f64));
}

#[test]
fn leak_suspect_false_for_too_few_or_sparse_samples() {
    let h = filled(5, |i| 100 * MIB + i * 10 * MIB);
    assert!(!h.leak_suspect(MIN, MIB as f64), "5 samples");
    // 20 s of data in a 60 s window.
    let h = filled(20, |i| 100 * MIB + i * MIB);
    assert!(!h.leak_suspect(MIN, MIB as f64), "window not covered");
    // Enough samples but a 30 s hole (sampler stalled, machine suspended).
    let mut h = History::new(100);
    for i in (0..15).chain(45..61) {
        h.push(s(i, 100 * MIB + i * MIB));
    }
    assert!(!h.leak_suspect(MIN, MIB as f64), "gap");
    // Old growth followed by a flat minute: not a suspect any more.
    let h = filled(180, |i| 100 * MIB + i.min(100) * MIB);
    assert!(!h.leak_suspect(MIN, MIB as f64));
}
