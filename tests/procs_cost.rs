//! Budget: sampling 16 sessions (~50 processes) at 1 Hz must use under 1% of one core, i.e.
//! under 10 ms of CPU per `sample()` with the periodic rescans and PSS passes amortised.
//! This checks it in whatever profile the tests run (debug: about 3x the release figure,
//! which `benches/procs.rs` reports in detail).

use std::time::{Duration, Instant};

use memmux::memory::procs::{Sampler, SamplerConfig};
use memmux::memory::sampler::thread_cpu;

mod common;

use common::leaders::Leaders;

#[test]
fn sixteen_sessions_at_1_hz_cost_under_1_percent_of_a_core() {
    let sessions = Leaders::spawn(16);
    let roots = sessions.pids();
    // Each shell has started its two sleeps.
    common::wait_until("32 sleeps", common::TIMEOUT, || {
        roots.iter().all(|r| common::children(*r).len() == 2)
    });

    let mut s = Sampler::new(SamplerConfig::default());
    let mut now = Instant::now();
    let first = s.sample(&roots, now);
    assert_eq!(first.iter().map(|t| t.processes).sum::<usize>(), 48);

    // 120 calls 1 s apart in virtual time: 24 rescans (one per 5 s) and 12 PSS passes among them.
    // The sampler leaves a periodic rescan out when no process was created since the last
    // one; the worst case (a machine that forks all the time) is forced here, as full rescans.
    let calls = 120;
    let c0 = thread_cpu();
    for i in 0..calls {
        now += Duration::from_secs(1);
        if i % 5 == 4 {
            s.invalidate();
        }
        let v = s.sample(&roots, now);
        assert_eq!(v.len(), 16);
    }
    let per_call = (thread_cpu() - c0) / calls;
    eprintln!(
        "{per_call:?} CPU per sample() => {:.3}% of a core at 1 Hz ({:?})",
        per_call.as_secs_f64() * 100.0,
        s.stats()
    );
    assert!(s.stats().rescans >= 24);
    assert!(
        per_call < Duration::from_millis(10),
        "{per_call:?} per call is over 1% of a core at 1 Hz"
    );
}
