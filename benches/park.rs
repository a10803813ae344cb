//! Parking and waking a hidden tab (`session::park`): a 200x50 screen of coloured shell
//! output with a 10,000-row history. Target: a wake under 1 ms (issue 18).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use memmux::term::Term;
use memmux::term::scrollback::{Budget, Limits};

fn shell_screen() -> Term {
    let mut t = Term::new(
        50,
        200,
        Limits::new(10_000, 16 << 20),
        Budget::new(64 << 20),
    );
    let mut out = Vec::new();
    for i in 0..300 {
        out.extend_from_slice(
            format!(
                "\x1b[1;32muser@host\x1b[m:\x1b[34m~/src\x1b[m$ ls -l {i}\r\n\
                 \x1b[38;5;208mfile-{i}.rs\x1b[m 日本語テキスト {i} and more words on the line\r\n",
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(b"\x1b[1;32muser@host\x1b[m$ ");
    t.process(&out);
    t
}

fn park_wake(c: &mut Criterion) {
    let mut t = shell_screen();
    c.bench_function("park_and_wake_200x50_shell", |b| {
        b.iter(|| {
            assert!(t.park());
            t.wake();
        })
    });
    c.bench_function("wake_200x50_shell", |b| {
        b.iter_batched_ref(
            || {
                let mut t = shell_screen();
                assert!(t.park());
                t
            },
            |t| {
                t.wake();
                black_box(t.screen().cursor_position());
            },
            criterion::BatchSize::LargeInput,
        )
    });
}

criterion_group!(benches, park_wake);
criterion_main!(benches);
