//! What a tab's cgroup costs its start: memmux's start to the first prompt, and a new tab's
//! key press to its prompt, with cgroups and without (`[tab-memory] cgroups = false`),
//! interleaved in one run. The join runs off the UI thread beside the shell's start-up; the
//! target is a prompt no more than 2 ms later (lower quartiles). Run with
//! `cargo bench --features test-hooks --bench cgroup_start`. This was a test until a loaded
//! CI machine moved the quartiles by more than its 5 ms slack; the behaviour it guarded (no
//! prompt waits for the join) is now tested without a clock in
//! tests/cgroup_v1.rs `prompts_do_not_wait_for_the_cgroup_join`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Mux, Opts};

/// Polls the screen every 0.2 ms (the harness's own waits poll every 20 ms).
fn time_until(m: &Mux, pred: impl Fn(&vt100::Screen) -> bool) -> Duration {
    let start = Instant::now();
    while !m.with_screen(&pred) {
        assert!(start.elapsed() < Duration::from_secs(15), "{}", m.dump());
        std::thread::sleep(Duration::from_micros(200));
    }
    start.elapsed()
}

/// A `$` prompt on the cursor's row, and `tabs` tabs in the bar.
fn prompt_in_tab(s: &vt100::Screen, tabs: usize) -> bool {
    let (row, _) = s.cursor_position();
    let (_, cols) = s.size();
    let line = s.contents_between(row, 0, row, cols.get());
    let bar = s.contents_between(0, 0, 0, cols.get());
    line.trim_end() == "$" && bar.contains(&format!(" {tabs}:"))
}

/// The lower quartile: on a machine shared with other builds, the runs that were not
/// interrupted say what the start itself costs; medians moved by ±5 ms between runs.
fn quartile(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 4]
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let home = tempfile::tempdir().unwrap();
    let off = home.path().join("off.toml");
    let on = home.path().join("on.toml");
    std::fs::write(&off, "[tab-memory]\ncgroups = false\n").unwrap();
    std::fs::write(&on, "[tab-memory]\ncgroups = true\n").unwrap();
    let mut start = [Vec::new(), Vec::new()];
    let mut new_tab = [Vec::new(), Vec::new()];
    for round in 0..16 {
        for (k, cfg) in [&on, &off].into_iter().enumerate() {
            let args = [
                "--config",
                &cfg.display().to_string(),
                "--",
                "bash",
                "--norc",
                "--noprofile",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            let t0 = Instant::now();
            let mut m = Mux::start_with(Opts {
                args,
                ..Opts::default()
            });
            time_until(&m, |s| prompt_in_tab(s, 1));
            if round > 0 {
                start[k].push(t0.elapsed());
            }
            for n in 2..=4 {
                // Quiet first: each join then pays the RCU grace period, as a new tab does
                // after a while.
                std::thread::sleep(Duration::from_millis(300));
                m.prefix("c");
                let d = time_until(&m, |s| prompt_in_tab(s, n));
                if round > 0 {
                    new_tab[k].push(d);
                }
            }
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (s_on, s_off) = (quartile(&mut start[0]), quartile(&mut start[1]));
    let (n_on, n_off) = (quartile(&mut new_tab[0]), quartile(&mut new_tab[1]));
    println!(
        "start to first prompt ({} runs each): cgroups p25 {:.2} ms median {:.2} ms, \
         without p25 {:.2} ms median {:.2} ms\n\
         new tab to its prompt ({} each): cgroups p25 {:.2} ms median {:.2} ms, \
         without p25 {:.2} ms median {:.2} ms",
        start[0].len(),
        ms(s_on),
        ms(median(&mut start[0])),
        ms(s_off),
        ms(median(&mut start[1])),
        new_tab[0].len(),
        ms(n_on),
        ms(median(&mut new_tab[0])),
        ms(n_off),
        ms(median(&mut new_tab[1])),
    );
    let verdict = |on: Duration, off: Duration| {
        if on <= off + Duration::from_millis(2) {
            "within the 2 ms target"
        } else {
            "OVER the 2 ms target"
        }
    };
    println!("new tab: {}", verdict(n_on, n_off));
    println!("start: {}", verdict(s_on, s_off));
}
