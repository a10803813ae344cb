//! Cost of the tagged allocator: vt100 parsing throughput with TaggedAlloc versus the
//! plain system allocator, in the same `cargo bench` run, plus the raw per-allocation
//! cost of each way of keeping the live total.
//!
//! # Switching allocators
//! A global allocator is fixed per binary, and blocks allocated under one allocator must
//! be freed by the same one. This binary installs `Switch`, which picks its allocator
//! once, at the process's first allocation (before `main`'s own code runs), from the
//! environment variable `MEMMUX_BENCH_ALLOC` read with `libc::getenv` (which does not
//! allocate). The choice never changes afterwards, so every block is freed by the
//! allocator that made it. The parent process (variable unset) runs each mode in a child
//! process of this same binary, interleaving modes round by round so drift on the shared
//! machine hits them all alike. Every mode, plain included, goes through the same
//! one-load-and-branch dispatch.
//!
//! Modes: `plain` (System), `tagged` (the real `TaggedAlloc`: per-account atomics plus
//! the thread-sharded total), and models of the alternatives for the live total, same
//! header: `account-only` (per-account atomics, no independent total), `global` (plus one
//! global relaxed atomic), `batched` (plus a per-thread delta flushed to one global
//! atomic past 64 KiB), and `count` (System plus an allocation counter, to report how
//! often the workload allocates).
//!
//! Run with `cargo bench --bench alloc`. `MEMMUX_BENCH_ROUNDS` (default 5) sets the
//! number of rounds; each child times 5 parses after one warm-up.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::CStr;
use std::hint::black_box;
use std::num::NonZeroU16;
use std::process::Command;
use std::sync::Barrier;
use std::sync::atomic::{AtomicIsize, AtomicU8, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use memmux::memory::alloc::{TaggedAlloc, close_account, enter, is_active, new_account};

const ENV: &CStr = c"MEMMUX_BENCH_ALLOC";
const MODES: [(&str, u8); 6] = [
    ("plain", PLAIN),
    ("tagged", TAGGED),
    ("account-only", ACCOUNT_ONLY),
    ("global", GLOBAL),
    ("batched", BATCHED),
    ("count", COUNT),
];

const UNSET: u8 = 0;
const PARENT: u8 = 1;
const PLAIN: u8 = 2;
const TAGGED: u8 = 3;
const ACCOUNT_ONLY: u8 = 4;
const GLOBAL: u8 = 5;
const BATCHED: u8 = 6;
const COUNT: u8 = 7;

static MODE: AtomicU8 = AtomicU8::new(UNSET);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

#[inline]
fn mode() -> u8 {
    let m = MODE.load(Relaxed);
    if m != UNSET { m } else { latch_mode() }
}

#[cold]
fn latch_mode() -> u8 {
    // SAFETY: `ENV` is NUL-terminated; this runs at the process's first allocation,
    // before `main` and before any thread could modify the environment, and the returned
    // string is copied out at once.
    let value = unsafe { libc::getenv(ENV.as_ptr()) };
    let m = if value.is_null() {
        PARENT
    } else {
        // SAFETY: getenv returns a NUL-terminated string that stays valid while the
        // environment is not modified (see above).
        let value = unsafe { CStr::from_ptr(value) }.to_bytes();
        MODES
            .iter()
            .find(|(name, _)| name.as_bytes() == value)
            .map_or(PLAIN, |&(_, m)| m)
    };
    MODE.store(m, Relaxed);
    m
}

struct Switch;

#[global_allocator]
static GLOBAL_ALLOC: Switch = Switch;

/// `$method($args)` on the allocator of this run's mode, dispatched statically (a bench of
/// allocators must not add a call through a pointer to each). In `COUNT` mode, a call that
/// makes a block (`counted`) is counted first.
macro_rules! forward {
    ($method:ident($($arg:expr),*), $counted:expr) => {
        match mode() {
            TAGGED => TaggedAlloc.$method($($arg),*),
            ACCOUNT_ONLY => Model::<ACCOUNT_ONLY>.$method($($arg),*),
            GLOBAL => Model::<GLOBAL>.$method($($arg),*),
            BATCHED => Model::<BATCHED>.$method($($arg),*),
            COUNT if $counted => {
                ALLOCS.fetch_add(1, Relaxed);
                System.$method($($arg),*)
            }
            _ => System.$method($($arg),*),
        }
    };
}

// SAFETY: the mode is fixed before the first block is allocated and never changes, so
// each call forwards to the same allocator that made (or will free) the block, and that
// allocator upholds the GlobalAlloc contract itself.
unsafe impl GlobalAlloc for Switch {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { forward!(alloc(layout), true) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { forward!(alloc_zeroed(layout), true) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees, to the allocator that made it.
        unsafe { forward!(dealloc(ptr, layout), false) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees, to the allocator that made it.
        unsafe { forward!(realloc(ptr, layout, new_size), true) }
    }
}

// ---------------------------------------------------------------------------------------
// Models of the other options: the same 16-byte header as TaggedAlloc, with the live total
// kept differently. `HEADER_ONLY` keeps no counter at all (raw bench only), to split the
// header's cost from the counters'.

const HEADER_ONLY: u8 = 0;
const HEADER: usize = 16;
/// A batched thread flushes its delta to the global total once it passes this.
const BATCH_LIMIT: isize = 64 * 1024;

#[repr(align(128))]
struct Padded(AtomicIsize);

static M_ACCOUNTS: [Padded; 1024] = [const { Padded(AtomicIsize::new(0)) }; 1024];
static M_TOTAL: Padded = Padded(AtomicIsize::new(0));

thread_local! {
    static M_CURRENT: Cell<u16> = const { Cell::new(0) };
    static M_BATCH: Cell<isize> = const { Cell::new(0) };
}

struct Model<const TOTAL: u8>;

impl<const TOTAL: u8> Model<TOTAL> {
    #[inline]
    fn charge(account: u16, delta: isize) {
        if TOTAL == HEADER_ONLY {
            return;
        }
        M_ACCOUNTS[usize::from(account) & 1023]
            .0
            .fetch_add(delta, Relaxed);
        if TOTAL == GLOBAL {
            M_TOTAL.0.fetch_add(delta, Relaxed);
        } else if TOTAL == BATCHED {
            let _ = M_BATCH.try_with(|batch| {
                let pending = batch.get() + delta;
                if pending.abs() >= BATCH_LIMIT {
                    M_TOTAL.0.fetch_add(pending, Relaxed);
                    batch.set(0);
                } else {
                    batch.set(pending);
                }
            });
        }
    }

    fn offset(align: usize) -> usize {
        align.max(HEADER)
    }

    fn inner(layout: Layout, size: usize) -> Option<Layout> {
        let size = size.checked_add(Self::offset(layout.align()))?;
        Layout::from_size_align(size, layout.align()).ok()
    }

    /// # Safety
    /// `inner` is null or a block of at least `offset(align)` bytes.
    unsafe fn finish(inner: *mut u8, layout: Layout) -> *mut u8 {
        if inner.is_null() {
            return inner;
        }
        let account = M_CURRENT.try_with(Cell::get).unwrap_or(0);
        Self::charge(account, layout.size() as isize);
        // SAFETY: the block has `offset` bytes of header room before the data.
        unsafe {
            let ptr = inner.add(Self::offset(layout.align()));
            ptr.sub(HEADER).cast::<u16>().write_unaligned(account);
            ptr
        }
    }
}

// SAFETY: same scheme as TaggedAlloc: System blocks enlarged by `offset` at the front,
// same alignment, recomputed from the caller's layout on dealloc/realloc.
unsafe impl<const TOTAL: u8> GlobalAlloc for Model<TOTAL> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(inner) = Self::inner(layout, layout.size()) else {
            return std::ptr::null_mut();
        };
        // SAFETY: non-zero size; `finish` gets the block or null.
        unsafe { Self::finish(System.alloc(inner), layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let Some(inner) = Self::inner(layout, layout.size()) else {
            return std::ptr::null_mut();
        };
        // SAFETY: as in `alloc`.
        unsafe { Self::finish(System.alloc_zeroed(inner), layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let offset = Self::offset(layout.align());
        // SAFETY: `ptr` came from `alloc` with `layout`: header before it, System block
        // at `ptr - offset` with the inner layout (valid when it was allocated).
        unsafe {
            let account = ptr.sub(HEADER).cast::<u16>().read_unaligned();
            System.dealloc(
                ptr.sub(offset),
                Layout::from_size_align_unchecked(layout.size() + offset, layout.align()),
            );
            Self::charge(account, -(layout.size() as isize));
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let offset = Self::offset(layout.align());
        let Some(new_inner) = Self::inner(layout, new_size) else {
            return std::ptr::null_mut();
        };
        // SAFETY: as in `dealloc`; System.realloc moves header and data together.
        unsafe {
            let account = ptr.sub(HEADER).cast::<u16>().read_unaligned();
            let old_inner =
                Layout::from_size_align_unchecked(layout.size() + offset, layout.align());
            let inner = System.realloc(ptr.sub(offset), old_inner, new_inner.size());
            if inner.is_null() {
                return inner;
            }
            Self::charge(account, new_size as isize - layout.size() as isize);
            inner.add(offset)
        }
    }
}

// ---------------------------------------------------------------------------------------
// The parsing workload.

const ROWS: NonZeroU16 = NonZeroU16::new(50).expect("50 > 0");
const COLS: NonZeroU16 = NonZeroU16::new(200).expect("200 > 0");
const CHUNK: usize = 64 * 1024;
/// How much work a run does. `cargo bench` passes `--bench`; without it (as under
/// `cargo test --all-targets`, in a debug build) the binary only smoke-tests every path
/// with a tiny workload, and its figures mean nothing.
#[derive(Clone, Copy)]
struct Scale {
    input_bytes: usize,
    timed_parses: usize,
    pairs: usize,
    smoke: bool,
}

const FULL: Scale = Scale {
    input_bytes: 20 * 1000 * 1000,
    timed_parses: 5,
    pairs: 4_000_000,
    smoke: false,
};
const SMOKE: Scale = Scale {
    input_bytes: 200 * 1000,
    timed_parses: 1,
    pairs: 10_000,
    smoke: true,
};

/// ~20 MB of 200-column plain text lines, varied so rows differ.
fn input(scale: Scale) -> Vec<u8> {
    let mut out = Vec::with_capacity(scale.input_bytes + 256);
    let mut n = 0usize;
    while out.len() < scale.input_bytes {
        for col in 0..200 {
            out.push(b' ' + ((n + col) % 94) as u8 + 1);
        }
        out.extend_from_slice(b"\r\n");
        n += 1;
    }
    out
}

/// CPU time of one parse (the parse is single-threaded). CPU time rather than wall time:
/// the two cores are shared with other jobs, and a preempted parse would otherwise count
/// the other job's time.
fn parse_once(data: &[u8]) -> Duration {
    let start = thread_cpu();
    let mut parser = vt100::Parser::new(ROWS, COLS, 1000);
    for chunk in data.chunks(CHUNK) {
        parser.process(chunk);
    }
    black_box(parser.screen().cursor_position());
    drop(parser);
    thread_cpu() - start
}

/// Child: prints one parse time (ns) per line, then the allocations per parse in `count`
/// mode and whether TaggedAlloc is active.
fn child(m: u8) {
    let scale = if std::env::var_os("MEMMUX_BENCH_SMOKE").is_some() {
        SMOKE
    } else {
        FULL
    };
    let data = input(scale);
    // Real usage: a session's parser runs inside the session's account.
    let _guard = (m == TAGGED).then(|| enter(new_account()));
    parse_once(&data);
    let before = ALLOCS.load(Relaxed);
    for _ in 0..scale.timed_parses {
        println!("{}", parse_once(&data).as_nanos());
    }
    let allocs = (ALLOCS.load(Relaxed) - before) / scale.timed_parses;
    println!(
        "allocs {allocs} bytes {} active {}",
        data.len(),
        is_active()
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn run_child(name: &str, scale: Scale) -> Result<(Vec<f64>, String), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut command = Command::new(exe);
    command.env("MEMMUX_BENCH_ALLOC", name);
    if scale.smoke {
        command.env("MEMMUX_BENCH_SMOKE", "1");
    }
    let out = command.output().map_err(|e| format!("spawn {name}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{name} child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut times = Vec::new();
    let mut tail = String::new();
    for line in text.lines() {
        match line.parse::<f64>() {
            Ok(ns) => times.push(ns),
            Err(_) => tail = line.to_owned(),
        }
    }
    Ok((times, tail))
}

fn throughput(rounds: usize, scale: Scale) -> Result<(), String> {
    let names: Vec<&str> = MODES.iter().map(|(name, _)| *name).collect();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut tails: Vec<String> = vec![String::new(); names.len()];
    let bytes = input(scale).len() as f64;
    for round in 0..rounds {
        // Rotate the order each round so no mode always runs first (or last).
        for k in 0..names.len() {
            let i = (k + round) % names.len();
            let (times, tail) = run_child(names[i], scale)?;
            samples[i].extend(times.iter().map(|ns| bytes / (ns / 1e9) / 1e6));
            tails[i] = tail;
        }
    }
    println!(
        "\nvt100 parse: {:.1} MB of 200-column lines in 64 KiB chunks, Parser 50x200, \
         scrollback 1000; {rounds} rounds x {} parses per mode; MB/s of parse CPU time",
        bytes / 1e6,
        scale.timed_parses
    );
    println!(
        "{:<14}{:>12}{:>10}{:>10}{:>14}   child's last line",
        "mode", "median MB/s", "min", "max", "vs plain"
    );
    let plain = median(&mut samples[0].clone());
    for (i, name) in names.iter().enumerate() {
        let mut s = samples[i].clone();
        let med = median(&mut s);
        let (lo, hi) = (s.first().copied(), s.last().copied());
        println!(
            "{:<14}{:>12.1}{:>10.1}{:>10.1}{:>13.2}%   {}",
            name,
            med,
            lo.unwrap_or(f64::NAN),
            hi.unwrap_or(f64::NAN),
            (med / plain - 1.0) * 100.0,
            tails[i]
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Raw cost: alloc + free of 64 bytes, called directly on each allocator (not through the
// global one), on one thread and on two threads at once.

/// CPU time of the calling thread. Per-thread CPU time rather than wall time because the
/// two cores are shared with other jobs: a descheduled thread costs no CPU time, while
/// cache-line transfers between cores (the contention measured here) do.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Pins the calling thread to CPU `cpu` (modulo the CPUs there are), so that two bench
/// threads run on two cores whenever both run, instead of the scheduler stacking them on
/// the core the machine's other jobs leave free. Best effort: a failure only weakens the
/// contention figures, which the parallelism column reports anyway.
fn pin_to_cpu(cpu: usize) {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    // SAFETY: `set` is a zeroed, then filled, cpu_set_t owned by this frame; the call
    // only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu % cpus, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set);
    }
}

/// CPU ns per alloc+free pair, averaged over `threads` threads started together; with
/// `own_accounts` each thread charges its own account, else all charge one. Also returns
/// how many threads actually ran at once on average (CPU time / wall time): contention
/// only shows when that is near `threads`.
fn raw<A: GlobalAlloc + Sync>(
    a: &A,
    threads: usize,
    own_accounts: bool,
    pairs: usize,
) -> (f64, f64) {
    let layout = Layout::from_size_align(64, 8).expect("valid layout");
    let tagged_accounts: Vec<_> = (0..threads).map(|_| new_account()).collect();
    let barrier = Barrier::new(threads);
    let wall = Instant::now();
    let per_thread: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let account = tagged_accounts[if own_accounts { t } else { 0 }];
                let barrier = &barrier;
                s.spawn(move || {
                    if threads > 1 {
                        pin_to_cpu(t);
                    }
                    let _g = enter(account);
                    M_CURRENT.with(|c| c.set(account.index() as u16));
                    barrier.wait();
                    let start = thread_cpu();
                    for i in 0..pairs {
                        // SAFETY: non-zero size; freed right away with the same layout.
                        unsafe {
                            let p = black_box(a.alloc(layout));
                            if p.is_null() {
                                break;
                            }
                            p.write(i as u8);
                            a.dealloc(black_box(p), layout);
                        }
                    }
                    (thread_cpu() - start).as_nanos() as f64 / pairs as f64
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let wall = wall.elapsed().as_nanos() as f64 / pairs as f64;
    for account in tagged_accounts {
        close_account(account);
    }
    let cpu_sum: f64 = per_thread.iter().sum();
    (cpu_sum / per_thread.len().max(1) as f64, cpu_sum / wall)
}

fn raw_costs(repeats: usize, scale: Scale) {
    println!(
        "\nraw alloc+free of 64 B: CPU ns per pair, per thread, median of {repeats} runs; \
         in parentheses: threads running at once, on average (two-thread runs count only \
         at >= 1.5; * = none of {} attempts did)",
        4 * repeats
    );
    println!(
        "{:<30}{:>14}{:>20}{:>20}",
        "allocator", "1 thread", "2, same account", "2, own accounts"
    );
    type Bench = fn(usize, bool, usize) -> (f64, f64);
    let rows: [(&str, Bench); 6] = [
        ("System", |t, o, n| raw(&System, t, o, n)),
        ("header only, no counter", |t, o, n| {
            raw(&Model::<HEADER_ONLY>, t, o, n)
        }),
        ("per-account only", |t, o, n| {
            raw(&Model::<ACCOUNT_ONLY>, t, o, n)
        }),
        ("+ one global atomic", |t, o, n| {
            raw(&Model::<GLOBAL>, t, o, n)
        }),
        ("+ batched per thread, 64 KiB", |t, o, n| {
            raw(&Model::<BATCHED>, t, o, n)
        }),
        ("TaggedAlloc (+ sharded total)", |t, o, n| {
            raw(&TaggedAlloc, t, o, n)
        }),
    ];
    for (name, bench) in rows {
        let mut cells = Vec::new();
        for (threads, own) in [(1, true), (2, false), (2, true)] {
            // Two-thread runs count only when the threads really overlapped (other jobs
            // share the cores): run until `repeats` such runs, or 4x as many attempts;
            // if none overlapped, all runs are shown, marked with '*'.
            let mut runs = Vec::new();
            let mut overlapped = Vec::new();
            while overlapped.len() < repeats && runs.len() < 4 * repeats {
                let run = bench(threads, own, scale.pairs);
                runs.push(run);
                if threads == 1 || run.1 >= 1.5 {
                    overlapped.push(run);
                }
            }
            let (kept, mark) = if overlapped.is_empty() {
                (runs, '*')
            } else {
                (overlapped, ' ')
            };
            let (mut cost, mut parallel): (Vec<f64>, Vec<f64>) = kept.into_iter().unzip();
            cells.push(format!(
                "{:.1} ({:.1}){mark}",
                median(&mut cost),
                median(&mut parallel)
            ));
        }
        println!(
            "{:<30}{:>14}{:>20}{:>20}",
            name, cells[0], cells[1], cells[2]
        );
    }
}

fn main() {
    let m = mode();
    if m != PARENT {
        child(m);
        return;
    }
    // A filter argument limits the run to "parse" or "raw".
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scale = if args.iter().any(|a| a == "--bench") {
        FULL
    } else {
        println!("smoke run (no --bench): tiny workload, the figures are not measurements");
        SMOKE
    };
    let filter: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let wants = |part: &str| filter.is_empty() || filter.iter().any(|f| *f == part);
    let rounds = std::env::var("MEMMUX_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if scale.smoke { 1 } else { 5 });
    if wants("parse")
        && let Err(e) = throughput(rounds, scale)
    {
        eprintln!("{e}");
        std::process::exit(1);
    }
    if wants("raw") {
        raw_costs(rounds, scale);
    }
}
