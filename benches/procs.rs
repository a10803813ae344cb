//! Cost of sampling: 16 sessions of `sh -c 'sleep 1000 & sleep 1000 & wait'` (48 processes),
//! timing `Sampler::sample` in steady state (statm only), with a rescan on every call, with a
//! PSS pass on every call, and at the default cadence (1 Hz calls, rescan every 3 s, PSS every
//! 10 s) amortised; then the PSS pass with a 1 GiB process in one tree.
//!
//! Run: `cargo bench --features test-hooks --bench procs` (it runs the test-only memhog).
//! Reports wall and thread CPU time (user + system, the /proc reads being mostly kernel time)
//! per call, and the implied CPU % of one core at 1 Hz.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

#[path = "../tests/common/leaders.rs"]
mod leaders;
use leaders::spawn_leader;

use memmux::memory::procs::{Sampler, SamplerConfig};

use memmux::memory::sampler::thread_cpu;

fn kill_session(c: &mut Child) {
    // SAFETY: plain kill(2) of the session's process group.
    unsafe { libc::kill(-(c.id() as i32), libc::SIGKILL) };
    let _ = c.kill();
    let _ = c.wait();
}

struct Run {
    wall: Duration,
    cpu: Duration,
    calls: u32,
}

impl Run {
    fn per_call_us(&self) -> (f64, f64) {
        let n = f64::from(self.calls);
        (
            self.wall.as_secs_f64() * 1e6 / n,
            self.cpu.as_secs_f64() * 1e6 / n,
        )
    }
}

/// `calls` calls, each `step` of virtual time after the previous one.
fn run(sampler: &mut Sampler, roots: &[u32], calls: u32, step: Duration) -> Run {
    let mut now = Instant::now();
    // Warm-up: first sight of the roots (rescan + PSS pass), not part of the figure.
    sampler.sample(roots, now);
    let (w0, c0) = (Instant::now(), thread_cpu());
    for _ in 0..calls {
        now += step;
        let v = sampler.sample(roots, now);
        std::hint::black_box(v);
    }
    Run {
        wall: w0.elapsed(),
        cpu: thread_cpu() - c0,
        calls,
    }
}

fn report(label: &str, r: &Run) {
    let (wall, cpu) = r.per_call_us();
    println!(
        "{label:<58} {wall:>9.1} us wall {cpu:>9.1} us CPU per call   => {:.3}% of a core at 1 Hz",
        cpu / 1e6 * 100.0
    );
}

/// A sampler that looks for new pids every `rescan`, reads PSS every `pss` and reads every
/// process's stat (a full rescan) every `full`.
fn sampler(rescan: Duration, pss: Duration, full: Duration) -> Sampler {
    Sampler::new(SamplerConfig {
        rescan_every: rescan,
        pss_every: pss,
        full_every: full,
    })
}

fn main() {
    let proc_count = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|s| s.parse::<u32>().is_ok())
                })
                .count()
        })
        .unwrap_or(0);
    let mut sessions: Vec<Child> = (0..16)
        .map(|_| {
            spawn_leader(
                Command::new("sh")
                    .arg("-c")
                    .arg("sleep 1000 & sleep 1000 & wait"),
            )
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let roots: Vec<u32> = sessions.iter().map(|c| c.id()).collect();

    let mut s = Sampler::new(SamplerConfig::default());
    let v = s.sample(&roots, Instant::now());
    let total: usize = v.iter().map(|t| t.processes).sum();
    println!(
        "16 roots, {total} processes in their trees, {} processes on the machine (before the bench spawned its own)",
        proc_count
    );

    let never = Duration::from_secs(1 << 30);
    let mut steady = sampler(never, never, never);
    report(
        "steady state (statm of known pids only)",
        &run(&mut steady, &roots, 2000, Duration::from_millis(1)),
    );
    let mut rescan = sampler(Duration::ZERO, never, Duration::ZERO);
    report(
        "full rescan of /proc (every stat) on every call (+ statm)",
        &run(&mut rescan, &roots, 300, Duration::from_millis(1)),
    );
    let mut incremental = sampler(Duration::ZERO, never, never);
    report(
        "rescan reading new pids only on every call (+ statm)",
        &run(&mut incremental, &roots, 300, Duration::from_millis(1)),
    );
    println!(
        "  ({} rescans, {} full, {} stat reads)",
        incremental.stats().rescans,
        incremental.stats().full_rescans,
        incremental.stats().stat_reads
    );
    let mut pss = sampler(never, Duration::ZERO, never);
    report(
        "smaps_rollup PSS pass on every call (+ statm)",
        &run(&mut pss, &roots, 300, Duration::from_millis(1)),
    );
    let mut default = Sampler::new(SamplerConfig::default());
    let r = run(&mut default, &roots, 600, Duration::from_secs(1));
    report(
        "default cadence, 600 calls 1 s apart (rescan/5 s, full/60 s, PSS/10 s)",
        &r,
    );
    println!(
        "  ({} rescans, {} full, {} stat reads, {} statm reads, {} smaps_rollup reads)",
        default.stats().rescans,
        default.stats().full_rescans,
        default.stats().stat_reads,
        default.stats().statm_reads,
        default.stats().pss_reads
    );

    // The PSS pass's cost grows with mapped memory: a 1 GiB process in one more tree.
    let mut hog = spawn_leader(Command::new(env!("CARGO_BIN_EXE_memhog")).arg("1024"));
    {
        use std::io::BufRead;
        let out = hog.stdout.take().expect("stdout");
        let mut line = String::new();
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    let mut roots17 = roots.clone();
    roots17.push(hog.id());
    let mut pss17 = sampler(never, Duration::ZERO, never);
    report(
        "PSS pass on every call, 17th tree = 1 GiB memhog",
        &run(&mut pss17, &roots17, 50, Duration::from_millis(1)),
    );
    let mut one = Sampler::new(SamplerConfig::default());
    one.sample(&[hog.id()], Instant::now());
    let (w0, c0) = (Instant::now(), thread_cpu());
    let n = 50;
    for _ in 0..n {
        std::hint::black_box(one.pss_now(hog.id()));
    }
    println!(
        "pss_now of the 1 GiB memhog alone: {:.1} us wall {:.1} us CPU per call",
        w0.elapsed().as_secs_f64() * 1e6 / f64::from(n),
        (thread_cpu() - c0).as_secs_f64() * 1e6 / f64::from(n)
    );
    let mut default17 = Sampler::new(SamplerConfig::default());
    report(
        "default cadence, 17 trees incl. the 1 GiB memhog",
        &run(&mut default17, &roots17, 600, Duration::from_secs(1)),
    );

    kill_session(&mut hog);
    for c in &mut sessions {
        kill_session(c);
    }
}
