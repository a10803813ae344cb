//! A session's output path as its reader runs it, per read: `reader::ingest` = the terminal's
//! lock, `Term::process`, the history's figures, alerts and replies, and telling the app
//! (`session::events`). Two shapes: an echo (16 bytes, then the app takes the output, so each
//! read tells the app once: the listener's send is in the figure) and a flood (4 KiB and
//! 64 KiB reads the app has not looked at yet: the coalescing flag only). The listener sends
//! into a tokio channel, as the app's does; the echo case drains it after each read.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use memmux::session::{CommandSpec, Context, Event, Listener, Session, SessionId, Start, Status};
use memmux::term::scrollback::Limits;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

struct ToChannel(UnboundedSender<(SessionId, Event)>);

impl Listener for ToChannel {
    fn send(&self, session: SessionId, event: Event) {
        let _ = self.0.send((session, event));
    }
}

fn bench(c: &mut Criterion) {
    let ctx = Context::new(Limits::new(10_000, 16 << 20), 1 << 30);
    let (tx, mut rx) = unbounded_channel();
    let spec = CommandSpec {
        argv: vec!["sh".into()],
        cwd: None,
        term: "xterm-256color".into(),
    };
    let start = Start {
        id: 1,
        spec,
        rows: 50,
        cols: 200,
        listener: Arc::new(ToChannel(tx)),
    };
    let session = Session::without_program(start, &ctx, Status::Running);
    let shared = &session.shared;
    let line: Vec<u8> = b"output of the program, a line of plain text 0123456789\r\n"
        .iter()
        .copied()
        .cycle()
        .take(64 << 10)
        .collect();
    let mut group = c.benchmark_group("session_ingest");
    group.throughput(Throughput::Bytes(16));
    group.bench_function("echo_16b_told", |b| {
        b.iter(|| {
            memmux::session::reader::ingest(shared, black_box(b"abcdefghijklmnop"));
            black_box(shared.take_output());
            while rx.try_recv().is_ok() {}
        })
    });
    for size in [4 << 10, 64 << 10] {
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("flood_{}k_coalesced", size >> 10), |b| {
            b.iter(|| memmux::session::reader::ingest(shared, black_box(&line[..size])))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
