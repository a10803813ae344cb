use super::CaptureSink;
use super::*;
use std::num::NonZeroU16;
use vt100::Color;

fn budget() -> Arc<Budget> {
    Budget::new(Budget::DEFAULT_LIMIT)
}

/// An empty store that keeps at most `lines` rows and `bytes` bytes.
fn store(lines: usize, bytes: usize) -> Scrollback {
    Scrollback::new(Limits::new(lines, bytes), budget())
}

fn text(store: &Scrollback, i: usize) -> String {
    let mut s = String::new();
    store.row_text(i, &mut s);
    s
}

fn parser(rows: u16, cols: u16, limits: Limits) -> vt100::Parser<CaptureSink> {
    vt100::Parser::new_with_callbacks(
        NonZeroU16::new(rows).unwrap(),
        NonZeroU16::new(cols).unwrap(),
        0,
        CaptureSink {
            capture: RowCapture::new(),
            store: Scrollback::new(limits, budget()),
        },
    )
}

fn settled(p: &mut vt100::Parser<CaptureSink>) -> &Scrollback {
    let sink = p.callbacks_mut();
    sink.capture.settle(&mut sink.store);
    &p.callbacks().store
}

#[test]
fn new_allocates_nothing_and_clear_frees_everything() {
    let b = budget();
    let mut s = Scrollback::new(Limits::default(), b.clone());
    assert_eq!((s.bytes(), b.total(), s.len()), (0, 0, 0));
    for i in 0..3000 {
        s.push_row(&format!("line {i}"), &[], false);
    }
    assert!(s.bytes() > 0);
    assert_eq!(b.total(), s.bytes());
    s.clear();
    assert_eq!((s.bytes(), b.total(), s.len()), (0, 0, 0));
    assert_eq!(s.evicted(), 3000, "cleared rows count as evicted");
    s.push_row("again", &[], false);
    assert_eq!(text(&s, 0), "again");
}

#[test]
fn lines_bound_is_exact() {
    let limits = Limits::new(10, 1 << 20);
    let mut s = Scrollback::new(limits, budget());
    for i in 0..25 {
        s.push_row(&format!("row {i}"), &[], false);
        assert_eq!(s.len(), (i + 1).min(10));
    }
    assert_eq!(s.evicted(), 15);
    assert_eq!(text(&s, 0), "row 15");
    assert_eq!(text(&s, 9), "row 24");
    assert_eq!(text(&s, 10), "", "rows past the end decode to nothing");
    s.set_limits(Limits { lines: 3, ..limits });
    assert_eq!((s.len(), s.evicted()), (3, 22));
    assert_eq!(text(&s, 0), "row 22");
    s.set_limits(Limits { lines: 0, ..limits });
    assert_eq!((s.len(), s.bytes()), (0, 0));
    s.push_row("dropped", &[], false);
    assert_eq!((s.len(), s.evicted()), (0, 26));
}

#[test]
fn lines_bound_frees_hidden_chunks() {
    let mut s = store(100, 16 << 20);
    let row = "x".repeat(70);
    for _ in 0..100_000 {
        s.push_row(&row, &[], false);
    }
    // 100 rows of ~73 bytes live in at most two chunks (one partly hidden).
    assert!(s.bytes() <= 2 * 65_536 + 256, "{}", s.bytes());
    assert_eq!((s.len(), s.evicted()), (100, 99_900));
}

#[test]
fn bytes_bound_holds_at_every_push() {
    let b = budget();
    let limit = 16 << 10;
    let mut s = Scrollback::new(Limits::new(1_000_000, limit), b.clone());
    // max_chunk is limit / 8 = 2 KiB.
    let one_chunk = 2 << 10;
    for i in 0..5000 {
        s.push_row(&format!("{i:>70}"), &[], false);
        assert!(s.bytes() <= limit + one_chunk, "{} at row {i}", s.bytes());
        assert_eq!(b.total(), s.bytes());
    }
    // The kept rows are the newest, contiguous.
    let n = s.len();
    assert!(n > 100, "{n}");
    assert_eq!(s.evicted() + n as u64, 5000);
    assert_eq!(text(&s, n - 1).trim(), "4999");
    assert_eq!(text(&s, 0).trim(), (5000 - n).to_string());
    s.set_limits(Limits::new(1_000_000, 4 << 10));
    assert!(s.bytes() <= (4 << 10) + one_chunk, "{}", s.bytes());
    assert_eq!(text(&s, s.len() - 1).trim(), "4999");
}

#[test]
fn oversized_row_gets_its_own_chunk() {
    let mut s = Scrollback::new(Limits::default(), budget());
    s.push_row("small", &[], false);
    let big = "é".repeat(40_000);
    s.push_row(&big, &[], true);
    s.push_row("after", &[], false);
    assert_eq!(text(&s, 0), "small");
    assert_eq!(text(&s, 1), big);
    assert!(s.is_wrapped(1));
    assert_eq!(text(&s, 2), "after");
}

#[test]
fn budget_accounting_across_stores() {
    let b = budget();
    let mut a = Scrollback::new(Limits::default(), b.clone());
    let mut c = Scrollback::new(Limits::default(), b.clone());
    for i in 0..2000 {
        a.push_row(&format!("a {i:>60}"), &[], false);
        c.push_row(&format!("c {i}"), &[], false);
    }
    assert_eq!(b.total(), a.bytes() + c.bytes());
    b.set_limit(a.bytes());
    assert!(b.is_exceeded());
    // The session layer evicts from the largest store until back under the limit.
    while b.is_exceeded() {
        let largest = if a.bytes() >= c.bytes() {
            &mut a
        } else {
            &mut c
        };
        assert!(largest.evict_oldest_chunk() > 0);
    }
    assert_eq!(b.total(), a.bytes() + c.bytes());
    a.clear();
    assert_eq!(b.total(), c.bytes());
    drop(c);
    assert_eq!(b.total(), 0);
    drop(a);
    assert_eq!(b.total(), 0);
}

#[test]
fn eviction_drops_oldest_first() {
    let mut s = Scrollback::new(Limits::default(), budget());
    for i in 0..5000 {
        s.push_row(&format!("{i:>40}"), &[], false);
    }
    let mut prev_evicted = s.evicted();
    while !s.is_empty() {
        let before = s.bytes();
        let freed = s.evict_oldest_chunk();
        assert_eq!(freed, before - s.bytes());
        assert!(s.evicted() > prev_evicted);
        prev_evicted = s.evicted();
        if !s.is_empty() {
            // Row 0 is always the oldest survivor, numbered by `evicted`.
            assert_eq!(text(&s, 0).trim(), s.evicted().to_string());
            assert_eq!(text(&s, s.len() - 1).trim(), "4999");
        }
    }
    assert_eq!((s.bytes(), s.evicted()), (0, 5000));
    assert_eq!(s.evict_oldest_chunk(), 0);
}

#[test]
fn wrapped_flags_from_vt100() {
    let mut p = parser(5, 80, Limits::default());
    p.process("a".repeat(300).as_bytes());
    p.process(b"\r\nend\r\n\r\n\r\n\r\n\r\n");
    let s = settled(&mut p);
    let flags: Vec<bool> = (0..s.len()).map(|i| s.is_wrapped(i)).collect();
    assert_eq!(&flags[..5], &[true, true, true, false, false]);
    assert_eq!(text(s, 0), "a".repeat(80));
    assert_eq!(text(s, 3), "a".repeat(60));
    assert_eq!(text(s, 4), "end");
}

#[test]
fn settle_resolves_the_newest_row() {
    let mut p = parser(2, 10, Limits::default());
    // 25 chars on a 10-column, 2-row screen: rows 0 and 1 scroll off, both wrapped.
    p.process(b"abcdefghijklmnopqrstuvwxy");
    assert_eq!(p.callbacks().store.len(), 1);
    assert!(
        !p.callbacks().store.is_wrapped(0),
        "pending until settled or next row"
    );
    assert!(settled(&mut p).is_wrapped(0));
    p.process(b"\r\nz\r\n");
    let s = settled(&mut p);
    assert_eq!(s.len(), 3);
    assert_eq!(
        (0..3).map(|i| s.is_wrapped(i)).collect::<Vec<_>>(),
        [true, true, false]
    );
    // reset: a fresh state must not claim the previous row wrapped.
    let sink = p.callbacks_mut();
    sink.capture.reset();
    sink.store.push_row("manual", &[], false);
    p.process(b"\r\n\r\n");
    let s = settled(&mut p);
    assert!(!s.is_wrapped(3));
}

#[test]
fn trailing_blanks_of_finished_lines_are_dropped() {
    let mut p = parser(2, 10, Limits::default());
    // Row 0: "ab" + default spaces, ends its line. Row 1: red spaces (kept).
    // Rows 2-3: a wrapped row ending in a space, then its continuation.
    p.process(b"ab   \r\n\x1b[31m x  \x1b[m\r\nabcdefghi wrap\r\n\r\n\r\n");
    let s = settled(&mut p);
    assert_eq!(text(s, 0), "ab");
    assert_eq!(text(s, 1), " x  ", "non-default spaces are content");
    assert!(s.is_wrapped(2));
    assert_eq!(
        text(s, 2),
        "abcdefghi ",
        "a wrapped row keeps its trailing space"
    );
    assert_eq!(
        s.text_between(Pos::new(2, 0), Pos::new(3, 4)),
        "abcdefghi wrap"
    );
}

#[test]
fn styles_decode() {
    let mut p = parser(2, 20, Limits::default());
    p.process(b"a\x1b[1;31mbc\x1b[0m d\x1b[44m\xe4\xb8\xad\x1b[m\r\n\r\n\r\n");
    let s = settled(&mut p);
    let mut cells = Vec::new();
    s.row_cells(0, |col, sym, w, st| {
        cells.push((col, sym.to_string(), w, st))
    });
    let d = Style::default();
    let red = Style {
        fg: Color::Idx(1),
        bold: true,
        ..d
    };
    let blue_bg = Style {
        bg: Color::Idx(4),
        ..d
    };
    let want = vec![
        (0, "a".to_string(), 1, d),
        (1, "b".to_string(), 1, red),
        (2, "c".to_string(), 1, red),
        (3, " ".to_string(), 1, d),
        (4, "d".to_string(), 1, d),
        (5, "中".to_string(), 2, blue_bg),
    ];
    assert_eq!(cells, want);
}

fn store_of(rows: &[(&str, bool)]) -> Scrollback {
    let mut s = Scrollback::new(Limits::default(), budget());
    for (t, w) in rows {
        s.push_row(t, &[], *w);
    }
    s
}

#[test]
fn search() {
    let s = store_of(&[
        ("hello World", false),
        ("first half of a wra", true),
        ("pped line, world", false),
        ("中文 world ÉCOLE Wörld", false),
        ("nothing", false),
    ]);
    let p = Pos::new;
    let m = |r0, c0, r1, c1| {
        Some(Match {
            start: p(r0, c0),
            end: p(r1, c1),
        })
    };
    // Lower-case query: case-insensitive.
    assert_eq!(s.find("world", p(0, 0), false), m(0, 6, 0, 11));
    // Upper-case letter: case-sensitive, so row 0's "World" only.
    assert_eq!(s.find("World", p(0, 6), false), None);
    assert_eq!(s.find("World", p(0, 0), false), m(0, 6, 0, 11));
    // A match starting exactly at `from` is skipped.
    assert_eq!(s.find("world", p(0, 6), false), m(2, 11, 2, 16));
    // Across a wrap.
    assert_eq!(s.find("WRAPPED", p(0, 0), false), None);
    assert_eq!(s.find("wrapped", p(0, 0), false), m(1, 16, 2, 4));
    assert_eq!(s.find("a wrapped line", p(4, 0), true), m(1, 14, 2, 9));
    // A match starting on the last cell of a wrapped row.
    let w = store_of(&[("abc w", true), ("ord", false)]);
    assert_eq!(w.find("word", p(0, 0), false), m(0, 4, 1, 3));
    assert_eq!(w.find("Word", p(0, 0), false), None);
    assert_eq!(w.find("wo", p(1, 2), true), m(0, 4, 1, 1));
    // Backward: nearest before `from`; from past the end = from the bottom.
    assert_eq!(s.find("world", p(usize::MAX, 0), true), m(3, 5, 3, 10));
    assert_eq!(s.find("world", p(3, 5), true), m(2, 11, 2, 16));
    assert_eq!(s.find("world", p(0, 6), true), None);
    // Non-ASCII: columns count wide cells; lower-case non-ASCII query folds.
    assert_eq!(s.find("école", p(0, 0), false), m(3, 11, 3, 16));
    assert_eq!(s.find("文", p(0, 0), false), m(3, 2, 3, 4));
    assert_eq!(s.find("wörld", p(0, 0), false), m(3, 17, 3, 22));
    assert_eq!(s.find("WÖRLD", p(0, 0), false), None);
    // Not found.
    assert_eq!(s.find("absent", p(0, 0), false), None);
    assert_eq!(s.find("absent", p(4, 0), true), None);
    assert_eq!(s.find("", p(0, 0), false), None);
}

#[test]
fn text_between_joins_wraps_and_trims() {
    let s = store_of(&[
        ("zero   ", false),
        ("one is long and ", true),
        ("wrapped   ", false),
        ("", false),
        ("中文 end", false),
    ]);
    let p = Pos::new;
    assert_eq!(
        s.text_between(p(0, 2), p(4, 3)),
        "ro\none is long and wrapped\n\n中文"
    );
    // Trailing blanks of a selection that ends mid-row are trimmed too.
    assert_eq!(s.text_between(p(0, 0), p(0, 6)), "zero");
    // The wrapped row's trailing space is content, not a blank.
    assert_eq!(s.text_between(p(1, 12), p(2, 2)), "and wr");
    // Starting on the second half of a wide cell includes it.
    assert_eq!(s.text_between(p(4, 1), p(4, 4)), "中文");
    assert_eq!(s.text_between(p(4, 0), p(2, 0)), "");
}

#[test]
fn decode_is_chunk_local() {
    // Rows far apart decode the same whichever chunk they sit in.
    let mut s = store(100_000, 64 << 20);
    for i in 0..100_000 {
        s.push_row(&format!("{i}"), &[], false);
    }
    for i in [0, 1, 777, 50_000, 99_999] {
        assert_eq!(text(&s, i), i.to_string());
    }
}
