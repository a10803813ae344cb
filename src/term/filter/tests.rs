use super::csi::{acts_on, sgr_notable};
use super::scan::{BLOCK, find_ground, find_string_end, plain_prefix, skip_params};
use super::*;

/// Output of one filter over `chunks`, fed in order.
fn feed_chunks(f: &mut Filter, chunks: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    for c in chunks {
        f.feed(c, &mut |s| v.extend_from_slice(s));
    }
    v
}

fn filter_with(setup: &impl Fn(&mut Filter)) -> Filter {
    let mut f = Filter::new();
    setup(&mut f);
    f
}

fn show(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

/// Filters `input` whole, split in two at every position, and one byte at a time; all
/// must give exactly `expected`.
fn check_with(setup: impl Fn(&mut Filter), input: &[u8], expected: &[u8]) {
    let whole = feed_chunks(&mut filter_with(&setup), &[input]);
    assert_eq!(show(&whole), show(expected), "input {}", show(input));
    for i in 0..=input.len() {
        let split = feed_chunks(&mut filter_with(&setup), &[&input[..i], &input[i..]]);
        assert_eq!(show(&split), show(&whole), "split at {i}: {}", show(input));
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    let one = feed_chunks(&mut filter_with(&setup), &bytes);
    assert_eq!(show(&one), show(&whole), "byte at a time: {}", show(input));
}

fn check(input: &[u8], expected: &[u8]) {
    check_with(|_| {}, input, expected);
}

fn cap8(f: &mut Filter) {
    f.test_cap = 8;
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const HLINE: &[u8] = "\u{2500}".as_bytes();

// --- pass-through -------------------------------------------------------------------

#[test]
fn plain_text_and_sgr_pass_as_one_borrowed_slice() {
    let input = b"hello \x1b[38;5;196mworld\x1b[0m\r\n\t\x07caf\xc3\xa9 \x9b\x90\x9c\x18\x1a end";
    let mut f = Filter::new();
    let mut calls = Vec::new();
    f.feed(input, &mut |s| calls.push((s.as_ptr(), s.len())));
    assert_eq!(calls, vec![(input.as_ptr(), input.len())]);
    check(input, input);
}

#[test]
fn large_input_is_handed_on_in_consecutive_borrowed_windows() {
    let input: Vec<u8> = b"\x1b[1mab cd\r\n"
        .iter()
        .copied()
        .cycle()
        .take(100_000)
        .collect();
    let mut f = Filter::new();
    let mut next = input.as_ptr();
    let mut total = 0;
    f.feed(&input, &mut |s| {
        assert_eq!(s.as_ptr(), next);
        assert!(s.len() <= WINDOW);
        next = s.as_ptr_range().end;
        total += s.len();
    });
    assert_eq!(total, input.len());
}

#[test]
fn strings_under_the_cap_pass_unchanged() {
    let input = b"\x1b]0;title\x07\x1b]2;t\x1b\\\x1bPq#0;1\x9c\x1b_apc\x1b\\\x1b^pm\x1b\\x";
    check(input, input);
    // Exactly the cap: still intact.
    let input = b"\x1b]0;abcdef\x07x";
    check_with(cap8, input, input);
}

// --- strings capped -------------------------------------------------------------------

#[test]
fn osc_over_cap_is_cut_with_two_semicolons_and_can_then_dropped_to_bel() {
    check_with(
        cap8,
        b"\x1b]0;abcdefghijk\x07hello",
        b"\x1b]0;abcdef;;\x18hello",
    );
}

#[test]
fn osc_over_cap_dropped_to_esc_backslash() {
    check_with(
        cap8,
        b"\x1b]0;abcdefghijk\x1b\\hello",
        b"\x1b]0;abcdef;;\x18hello",
    );
}

#[test]
fn osc_over_cap_ended_by_another_sequence_keeps_that_sequence() {
    // vte ends an OSC at any ESC; the ESC [ 1 m that follows must reach the parser.
    check_with(
        cap8,
        b"\x1b]0;abcdefghijk\x1b[1mhello",
        b"\x1b]0;abcdef;;\x18\x1b[1mhello",
    );
    // ESC ESC: the second ESC is just another ESC in the escape state.
    check_with(
        cap8,
        b"\x1b]0;abcdefghijk\x1b\x1b\\x",
        b"\x1b]0;abcdef;;\x18\x1b\x1b\\x",
    );
}

#[test]
fn osc_drop_ignores_c1_st_and_counts_c0_as_body() {
    // vte does not end an OSC at 0x9c, and ignores C0 controls other than BEL/CAN/SUB/ESC.
    check_with(
        cap8,
        b"\x1b]0;ab\r\ncdef\x9cghi\x07x",
        b"\x1b]0;ab\r\ncd;;\x18x",
    );
}

#[test]
fn can_or_sub_end_a_capped_string_and_are_dropped() {
    check_with(cap8, b"\x1b]0;abcdefgh\x18x", b"\x1b]0;abcdef;;\x18x");
    check_with(cap8, b"\x1b_abcdefghij\x1ax", b"\x1b_abcdefgh\x18x");
    // Under the cap, CAN passes: vte aborts the string itself.
    check_with(cap8, b"\x1b_abc\x18x", b"\x1b_abc\x18x");
}

#[test]
fn dcs_capped_in_passthrough_ends_at_c1_st() {
    check_with(cap8, b"\x1bPq#0;1;2;3\x9chello", b"\x1bPq#0;1;2;\x18hello");
    check_with(
        cap8,
        b"\x1bPq#0;1;2;3\x1b\\hello",
        b"\x1bPq#0;1;2;\x18hello",
    );
}

#[test]
fn dcs_capped_in_its_parameters_follows_vte_into_passthrough() {
    // Cut while still collecting parameters; the final `q` then starts passthrough
    // (silently), where 0x9c ends it.
    check_with(cap8, b"\x1bP1;2;3;4;5;6q\xaa\x9cok", b"\x1bP1;2;3;4;\x18ok");
}

#[test]
fn dcs_ignore_does_not_end_at_c1_st() {
    // `1 <` sends vte to DCS ignore, which only CAN/SUB/ESC leave.
    check_with(
        cap8,
        b"\x1bP1<abcdefgh\x9cijk\x1b\\ok",
        b"\x1bP1<abcdef\x18ok",
    );
    // Same bytes under the cap pass unchanged (no special handling of 0x9c).
    check(b"\x1bP1<ab\x9ccd\x1b\\ok", b"\x1bP1<ab\x9ccd\x1b\\ok");
}

#[test]
fn sos_pm_apc_capped_ignore_bel() {
    // BEL ends only OSC; in SOS/PM/APC it is body.
    check_with(
        cap8,
        b"\x1b_abc\x07defghij\x1b\\ok",
        b"\x1b_abc\x07defg\x18ok",
    );
    check_with(cap8, b"\x1b^abcdefghij\x1b\\ok", b"\x1b^abcdefgh\x18ok");
    check_with(cap8, b"\x1bXabcdefghij\x1b\\ok", b"\x1bXabcdefgh\x18ok");
}

#[test]
fn real_cap_is_one_mib() {
    let mut input = b"\x1b]52;c;".to_vec();
    input.resize(2 + MAX_STRING + 100, b'A');
    input.extend_from_slice(b"\x07ok");
    let mut expected = input[..2 + MAX_STRING].to_vec();
    expected.extend_from_slice(b";;\x18ok");
    let mut f = Filter::new();
    let out = feed_chunks(&mut f, &input.chunks(65536).collect::<Vec<_>>());
    assert!(out == expected, "len {} vs {}", out.len(), expected.len());
}

// --- CSI clamps -----------------------------------------------------------------------

#[test]
fn rep_clamped_to_width() {
    check(b"x\x1b[65535b", b"x\x1b[65535\x1b[80b");
    check_with(|f| f.set_width(10), b"x\x1b[11b", b"x\x1b[11\x1b[10b");
    check_with(|f| f.set_width(10), b"x\x1b[10b", b"x\x1b[10b");
    // vte saturates at 65535, and vt100 only reads the first value of the first group.
    check(b"\x1b[999999999999b", b"\x1b[999999999999\x1b[80b");
    check(b"\x1b[81;1b", b"\x1b[81;1\x1b[80b");
    check(b"\x1b[81:2b", b"\x1b[81:2\x1b[80b");
    check(b"\x1b[0000081b", b"\x1b[0000081\x1b[80b");
    // C0 controls inside the sequence are executed by vte and pass through.
    check(b"\x1b[8\r1b", b"\x1b[8\r1\x1b[80b");
}

#[test]
fn rep_not_dispatched_as_rep_is_left_alone() {
    for input in [
        &b"\x1b[0b"[..],
        b"\x1b[b",
        b"\x1b[1;99b",
        b"\x1b[?999b",
        b"\x1b[999 b",
        b"\x1b[99?9b",
        b"\x1b[9 9b",
        b"\x1b[999\x18b",
        b"\x1b[999\x1b[b",
    ] {
        check(input, input);
    }
}

#[test]
fn rep_with_32_params_still_uses_the_first() {
    let mut input = b"\x1b[500".to_vec();
    for _ in 0..40 {
        input.extend_from_slice(b";1");
    }
    input.push(b'b');
    let mut expected = input[..input.len() - 1].to_vec();
    expected.extend_from_slice(b"\x1b[80b");
    check(&input, &expected);
}

#[test]
fn resize_request_clamped() {
    let setup = |f: &mut Filter| {
        f.set_width(100);
        f.set_height(30);
    };
    check_with(setup, b"\x1b[8;0;5000t", b"\x1b[8;0;5000\x1b[8;30;1000t");
    check_with(setup, b"\x1b[8;2000t", b"\x1b[8;2000\x1b[8;1000t");
    check_with(setup, b"\x1b[8;;t", b"\x1b[8;;\x1b[8;30;100t");
    for ok in [
        &b"\x1b[8;24;80t"[..],
        b"\x1b[8t",
        b"\x1b[14;0;0t",
        b"\x1b[8;50;60;0t",
    ] {
        check_with(setup, ok, ok);
    }
}

// --- charsets -------------------------------------------------------------------------

#[test]
fn dec_graphics_box() {
    check(
        b"\x1b(0lqqk\x1b(B lqk",
        &cat(&[
            b"\x1b(0",
            "\u{250c}\u{2500}\u{2500}\u{2510}".as_bytes(),
            b"\x1b(B lqk",
        ]),
    );
}

#[test]
fn dec_graphics_full_table() {
    let mut input = b"\x1b(0".to_vec();
    input.extend(0x5f..=0x7e);
    input.extend_from_slice(b"\x1b(B");
    let table = "\u{a0}\u{25c6}\u{2592}\u{2409}\u{240c}\u{240d}\u{240a}\u{b0}\u{b1}\u{2424}\
                 \u{240b}\u{2518}\u{2510}\u{250c}\u{2514}\u{253c}\u{23ba}\u{23bb}\u{2500}\
                 \u{23bc}\u{23bd}\u{251c}\u{2524}\u{2534}\u{252c}\u{2502}\u{2264}\u{2265}\
                 \u{3c0}\u{2260}\u{a3}\u{b7}";
    check(&input, &cat(&[b"\x1b(0", table.as_bytes(), b"\x1b(B"]));
    // Below 0x5f nothing changes, and UTF-8 passes.
    check(b"\x1b(0AZ09 #^\xc3\xa9", b"\x1b(0AZ09 #^\xc3\xa9");
}

#[test]
fn long_dec_runs_are_bounded_by_the_buffer() {
    let mut input = b"\x1b(0".to_vec();
    input.extend(std::iter::repeat_n(b'q', 100));
    let mut f = Filter::new();
    let mut sizes = Vec::new();
    f.feed(&input, &mut |s| sizes.push(s.len()));
    assert_eq!(sizes, vec![3, 63, 63, 63, 63, 300 - 4 * 63]);
    let expected = cat(&[b"\x1b(0", &HLINE.repeat(100)]);
    check(&input, &expected);
}

#[test]
fn so_si_select_g1_g0() {
    check(
        b"\x1b)0q\x0eq\x0fq",
        &cat(&[b"\x1b)0q\x0e", HLINE, b"\x0fq"]),
    );
    // SO/SI executed inside escape and CSI sequences still shift (as in xterm).
    check(
        b"\x1b)0\x1b[1\x0em q\x1b\x0f7q\x1b(\x0eBq",
        &cat(&[b"\x1b)0\x1b[1\x0em ", HLINE, b"\x1b\x0f7q\x1b(\x0eB", HLINE]),
    );
    // ... but not inside strings, where vte ignores C0 controls.
    check(b"\x1b)0\x1b]0;\x0e\x07q", b"\x1b)0\x1b]0;\x0e\x07q");
}

#[test]
fn uk_set_maps_only_hash() {
    check(b"\x1b(A#q\x1b(B#", "\x1b(A\u{a3}q\x1b(B#".as_bytes());
}

#[test]
fn other_designations_are_ascii() {
    check(b"\x1b(0\x1b(Kq", b"\x1b(0\x1b(Kq");
    // A second intermediate names another set even with final 0.
    check(b"\x1b(%0q", b"\x1b(%0q");
    // G2/G3 designations leave G0 alone.
    check(
        b"\x1b*0q\x1b(0\x1b+Bq",
        &cat(&[b"\x1b*0q\x1b(0\x1b+B", HLINE]),
    );
}

#[test]
fn nothing_inside_sequences_or_strings_is_translated() {
    let input = b"\x1b(0\x1b[38;5;1m\x1b]0;lqk\x07\x1bPqlqk\x1b\\\x1b_lqk\x1b\\\x1b7";
    check(input, input);
}

#[test]
fn bytes_above_0x7f_are_ignored_in_escape_and_csi() {
    // ESC 0x9b q: vte ignores 0x9b in the escape state, so `q` is ESC q.
    check(b"\x1b(0\x1b\x9bqq", &cat(&[b"\x1b(0\x1b\x9bq", HLINE]));
    // ... and inside a CSI; DEL too.
    check(
        b"\x1b(0\x1b[1\xff\x7fmq",
        &cat(&[b"\x1b(0\x1b[1\xff\x7fm", HLINE]),
    );
}

#[test]
fn decsc_decrc_save_charsets() {
    check(
        b"\x1b(0\x1b7\x1b(Bq\x1b8q",
        &cat(&[b"\x1b(0\x1b7\x1b(Bq\x1b8", HLINE]),
    );
    // Nothing saved: restore gives the defaults.
    check(b"\x1b(0\x1b8q", b"\x1b(0\x1b8q");
}

#[test]
fn alt_screen_1049_saves_and_restores() {
    check(
        b"\x1b(0\x1b[?1049h\x1b(Bq\x1b7\x1b[?1049lq",
        &cat(&[b"\x1b(0\x1b[?1049h\x1b(Bq\x1b7\x1b[?1049l", HLINE]),
    );
    // ESC 7 on the alternate screen uses its own slot.
    check(
        b"\x1b[?1049h\x1b(0\x1b7\x1b[?1049l\x1b8q",
        b"\x1b[?1049h\x1b(0\x1b7\x1b[?1049l\x1b8q",
    );
    // 1049 among other modes; 1049 as a sub-parameter is not the mode.
    check(
        b"\x1b(0\x1b[?25;1049h\x1b(B\x1b[?1049;25lq\x1b(B\x1b[?1049:1h\x1b(0\x1b[?1049lq",
        &cat(&[
            b"\x1b(0\x1b[?25;1049h\x1b(B\x1b[?1049;25l",
            HLINE,
            b"\x1b(B\x1b[?1049:1h\x1b(0\x1b[?1049l",
            HLINE,
        ]),
    );
}

#[test]
fn ris_and_decstr_reset_charsets() {
    check(b"\x1b)0\x0e\x1bcq", b"\x1b)0\x0e\x1bcq");
    check(b"\x1b(0\x1b[!pq", b"\x1b(0\x1b[!pq");
    check(b"\x1b(0\x1b7\x1bc\x1b8q", b"\x1b(0\x1b7\x1bc\x1b8q");
}

#[test]
fn can_sub_abort_escape_and_csi() {
    check(b"\x1b(0\x1b(\x18Bq", &cat(&[b"\x1b(0\x1b(\x18B", HLINE]));
    check(b"\x1b(0\x1b[\x1aq", &cat(&[b"\x1b(0\x1b[\x1a", HLINE]));
}

#[test]
fn reset_returns_to_ground_and_ascii() {
    let mut f = Filter::new();
    feed_chunks(&mut f, &[b"\x1b(0\x1b]0;abc"]);
    f.reset();
    assert_eq!(feed_chunks(&mut f, &[b"q\x1b[5b"]), b"q\x1b[5b");
}

// --- bounds ---------------------------------------------------------------------------

#[test]
fn memory_is_the_struct_itself() {
    // No heap fields: everything the filter holds is in the struct (the raw SGR
    // parameters for rewriting one are 64 of these bytes).
    assert!(
        std::mem::size_of::<Filter>() <= 288,
        "{}",
        std::mem::size_of::<Filter>()
    );
    let mut f = Filter::new();
    let mut input = Vec::new();
    for i in 0..200u32 {
        input.extend_from_slice(b"\x1b(0lqk\x1b[65535b\x1b[8;0;0t\x1b(B \x1b]0;");
        input.extend(std::iter::repeat_n(b'a', (i * 7919 % 3000) as usize));
        input.extend_from_slice(b"\x07");
    }
    let range = input.as_ptr_range();
    for chunk in input.chunks(777) {
        let cr = chunk.as_ptr_range();
        f.feed(chunk, &mut |s| {
            let p = s.as_ptr_range();
            let borrowed = p.start >= cr.start && p.end <= cr.end;
            assert!(
                borrowed || s.len() <= BUF_CAP,
                "{} bytes not from input",
                s.len()
            );
            assert!(p.start >= range.start || s.len() <= BUF_CAP);
        });
        assert!(f.buf.len <= BUF_CAP);
    }
}

// --- randomized -----------------------------------------------------------------------

fn pick<T: Copy>(rng: &mut fastrand::Rng, xs: &[T]) -> T {
    xs[rng.usize(..xs.len())]
}

/// Filter output for `input` fed in pieces cut at random places.
fn feed_random_splits(
    setup: &impl Fn(&mut Filter),
    input: &[u8],
    rng: &mut fastrand::Rng,
) -> Vec<u8> {
    let mut f = filter_with(setup);
    let mut v = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let n = 1 + rng.usize(..rest.len().min(40));
        f.feed(&rest[..n], &mut |s| v.extend_from_slice(s));
        rest = &rest[n..];
    }
    v
}

/// Text, C0 controls, and CSI/OSC/DCS/SOS/PM/APC/ESC sequences that the filter must not
/// change: no over-long strings, REP and resize requests within bounds, no charset
/// switching (SO, SI, `ESC (`, `ESC )`).
fn gen_benign(rng: &mut fastrand::Rng, out: &mut Vec<u8>) {
    let body = |rng: &mut fastrand::Rng, out: &mut Vec<u8>, avoid: &[u8]| {
        for _ in 0..rng.usize(..60) {
            let b = (rng.u64(..) & 0xff) as u8;
            if !avoid.contains(&b) {
                out.push(b);
            }
        }
    };
    let params = |rng: &mut fastrand::Rng, out: &mut Vec<u8>| {
        for k in 0..rng.usize(..40) {
            if k > 0 {
                out.push(pick(rng, b";;;:"));
            }
            for _ in 0..rng.usize(..8) {
                out.push(b'0' + rng.usize(..10) as u8);
            }
        }
    };
    match rng.usize(..12) {
        0..=2 => {
            for _ in 0..rng.usize(..30) {
                out.push(pick(
                    rng,
                    b"abcdefghijklmnopqrstuvwxyz    #_`~{|}0123456789",
                ));
            }
        }
        3 => out.extend_from_slice(
            pick(
                rng,
                &["\u{e9}", "\u{2500}", "\u{1f600}", "\u{a0}", "\u{9c}"],
            )
            .as_bytes(),
        ),
        4 => {
            let b = (0x80 + rng.usize(..0x80)) as u8;
            out.push(b);
        }
        5 => {
            let b = rng.usize(..0x20) as u8;
            if !matches!(b, ESC | SO | SI) {
                out.push(b);
            }
        }
        6 => {
            out.extend_from_slice(b"\x1b[");
            if rng.usize(..3) == 0 {
                out.push(pick(rng, b"<=>?"));
            }
            params(rng, out);
            if rng.usize(..4) == 0 {
                out.push(pick(rng, b"\x00\x07\x08\r\n\x7f\x85\xff"));
                params(rng, out);
            }
            for _ in 0..rng.usize(..3) {
                out.push(pick(rng, b" !\"#$%&'*+,-./"));
            }
            let fin = pick(rng, b"@ABCDEFGHJKLMPSTXZ`acdefghlmnpqrsuvwxyz{|}~");
            out.push(fin);
        }
        7 => {
            let seq = format!(
                "\x1b[{}b\x1b[8;{};{}t",
                rng.usize(..81),
                1 + rng.usize(..1000),
                1 + rng.usize(..1000)
            );
            out.extend_from_slice(seq.as_bytes());
        }
        8 => {
            out.extend_from_slice(b"\x1b]");
            params(rng, out);
            out.push(b';');
            body(rng, out, &[BEL, CAN, SUB, ESC]);
            out.extend_from_slice(pick(rng, &[&b"\x07"[..], b"\x1b\\"]));
        }
        9 => {
            out.extend_from_slice(b"\x1bP");
            params(rng, out);
            out.push(pick(rng, b"pqz|{"));
            body(rng, out, &[CAN, SUB, ESC, ST_C1]);
            out.extend_from_slice(pick(rng, &[&b"\x9c"[..], b"\x1b\\"]));
        }
        10 => {
            out.push(ESC);
            out.push(pick(rng, b"X^_"));
            body(rng, out, &[CAN, SUB, ESC]);
            out.extend_from_slice(b"\x1b\\");
        }
        _ => {
            out.push(ESC);
            if rng.usize(..2) == 0 {
                out.push(pick(rng, b" #%*+-./"));
            }
            out.push(pick(rng, b"0789=>ABDEFHMNOZ\\cgnoz~"));
        }
    }
}

#[test]
fn differential_benign_input_passes_byte_for_byte() {
    let mut rng = fastrand::Rng::with_seed(0x9e37_79b9_7f4a_7c15);
    for round in 0..3000 {
        let mut input = Vec::new();
        for _ in 0..rng.usize(..40) {
            gen_benign(&mut rng, &mut input);
        }
        let whole = feed_chunks(&mut Filter::new(), &[&input]);
        assert!(
            whole == input,
            "round {round}: {} -> {}",
            show(&input),
            show(&whole)
        );
        let split = feed_random_splits(&|_| {}, &input, &mut rng);
        assert!(split == input, "round {round} split: {}", show(&input));
    }
}

/// Arbitrary byte soup: one representative of every byte range vte 0.15's tables
/// distinguish, plus the introducers, so that any path through the state machine is
/// likely within a few bytes.
fn gen_junk(rng: &mut fastrand::Rng, len: usize) -> Vec<u8> {
    const BYTES: &[u8] = b"\x00\x07\x0e\x0f\x18\x1a\x1b\x1b\x1b /0159:;<=?@ABPX[\\]^_`bchlpqt~\
                           \x7f\x80\x90\x9b\x9c\x9c\x9d\xc3\xa9\xe2\xff78!()%#\n";
    const INTRO: &[&[u8]] = &[b"\x1b[", b"\x1b]", b"\x1bP", b"\x1b_", b"\x1b(", b"\x1b)"];
    let mut v = Vec::new();
    while v.len() < len {
        if rng.usize(..5) == 0 {
            v.extend_from_slice(pick(rng, INTRO));
        } else {
            v.push(pick(rng, BYTES));
        }
    }
    v
}

fn cell(p: &vt100::Parser, row: u16, col: u16) -> String {
    p.screen()
        .cell(row, col)
        .map(|c| c.contents().to_string())
        .unwrap_or_default()
}

/// Feeds `input` through a fresh filter into a fresh 6x12 parser, then probes: returns
/// whether the filter said it was in ground, whether vt100 then printed `☃` (vte prints it
/// only in ground; every other state swallows it), the charset the filter had in GL, and
/// the cells showing `q#` after CAN (ground from anywhere), home and erase line.
fn probe(setup: &impl Fn(&mut Filter), input: &[u8]) -> (bool, bool, Charset, String) {
    let rows = std::num::NonZeroU16::new(6).unwrap();
    let cols = std::num::NonZeroU16::new(12).unwrap();
    let mut f = filter_with(setup);
    let mut parser = vt100::Parser::new(rows, cols, 0);
    f.feed(input, &mut |s| parser.process(s));
    let ground = f.state == State::Ground;
    f.feed("\u{2603}".as_bytes(), &mut |s| parser.process(s));
    let printed = parser.screen().contents().contains('\u{2603}');
    let gl = f.gl;
    f.feed(b"\x18\x1b[H\x1b[2Kq#", &mut |s| parser.process(s));
    let row = parser.screen().cursor_position().0;
    let shown = cell(&parser, row, 0) + &cell(&parser, row, 1);
    (ground, printed, gl, shown)
}

/// The filter's idea of where vte is must match vte's, after every prefix of arbitrary
/// input (string cap at 8 bytes, so capping and dropping happen often), and the charset
/// it believes is in GL must be what shows. Outputs must not depend on splits.
#[test]
fn filter_state_tracks_vte_on_random_input() {
    let mut rng = fastrand::Rng::with_seed(0x0123_4567_89ab_cdef);
    let setup = |f: &mut Filter| {
        cap8(f);
        f.set_width(12);
        f.set_height(6);
    };
    let (mut probes, mut grounds) = (0, 0);
    for round in 0..3000 {
        let len = rng.usize(..48);
        let input = gen_junk(&mut rng, len);
        for k in 0..=input.len() {
            let (ground, printed, gl, shown) = probe(&setup, &input[..k]);
            let prefix = show(&input[..k]);
            assert_eq!(printed, ground, "round {round}: {prefix}");
            let expected = match gl {
                Charset::Ascii => "q#",
                Charset::DecGraphics => "\u{2500}#",
                Charset::Uk => "q\u{a3}",
            };
            assert_eq!(shown, expected, "round {round}: {prefix}");
            probes += 1;
            grounds += usize::from(ground);
        }
        let whole = feed_chunks(&mut filter_with(&setup), &[&input]);
        let split = feed_random_splits(&setup, &input, &mut rng);
        assert!(split == whole, "round {round} split: {}", show(&input));
    }
    // The generator must reach both outcomes often.
    assert!(
        grounds > probes / 5 && grounds < probes * 4 / 5,
        "{grounds} of {probes}"
    );
}

/// Exhaustive version of the check above for short inputs: every introducer, then every
/// three bytes drawn from one representative of each byte class vte 0.15 distinguishes,
/// then suffixes that tell the string and DCS states apart.
#[test]
fn filter_state_tracks_vte_exhaustively_on_short_sequences() {
    const INTRO: &[&[u8]] = &[
        b"", b"\x1b", b"\x1b[", b"\x1b]", b"\x1bP", b"\x1b_", b"\x1b(", b"\x1b ",
    ];
    const CLASSES: &[u8] = b"\x00\x07\x0e\x18\x1b /09:;<?@P[\\q\x7f\x9b\x9c\xa9";
    const SUFFIX: &[&[u8]] = &[b"", b"\x07", b"\x9c", b"q\x9c", b"\\"];
    let setup = |f: &mut Filter| {
        cap8(f);
        f.set_width(12);
        f.set_height(6);
    };
    let mut input = Vec::new();
    for intro in INTRO {
        for &a in CLASSES {
            for &b in CLASSES {
                for &c in CLASSES {
                    for suffix in SUFFIX {
                        input.clear();
                        input.extend_from_slice(intro);
                        input.extend_from_slice(&[a, b, c]);
                        input.extend_from_slice(suffix);
                        let (ground, printed, _, _) = probe(&setup, &input);
                        assert_eq!(printed, ground, "{}", show(&input));
                    }
                }
            }
        }
    }
}

// --- scanners -------------------------------------------------------------------------

/// The reference for `plain_prefix`: walk the block a sequence at a time.
fn plain_prefix_naive(b: &[u8], fid: bool) -> usize {
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            ESC => {
                if b.get(i + 1) != Some(&b'[') {
                    return i;
                }
                let mut k = i + 2;
                while k < b.len() && b[k] & 0xf0 == 0x30 {
                    k += 1;
                }
                match b.get(k) {
                    Some(&b'm') if fid && sgr_notable(&b[i + 2..k]) => return i,
                    Some(&f) if (0x40..=0x7e).contains(&f) && !acts_on(f) => i = k + 1,
                    _ => return i,
                }
            }
            SO | SI | HT => return i,
            _ => i += 1,
        }
    }
    b.len()
}

/// Random bytes built from the pieces that matter to the scanners. `plain` in 16 pieces
/// are text or CSIs that `plain_prefix` passes, so blocks often get to their last bytes.
fn gen_scan_input(rng: &mut fastrand::Rng, len: usize, plain: usize) -> Vec<u8> {
    const PLAIN: &[&[u8]] = &[
        b"\x1b[38;5;1m",
        b"\x1b[0m",
        b"\x1b[1;2H",
        b"\x1b[m",
        b"m",
        b"b",
        b"1",
        b";",
        b"?",
        b" ",
        b"\x07",
        b"\x18",
        b"\x9c",
        b"\x1f",
        b"\x7f",
        b"\xff",
        b"abc",
        b"[",
    ];
    const OTHER: &[&[u8]] = &[
        b"\x1b[",
        b"\x1b[38;5;",
        b"\x1b[?25h",
        b"\x1b[5b",
        b"\x1b",
        b"\x1b(0",
        b"\x0e",
        b"\x0f",
        b"\x1b[1\x1b[m",
        b"\x1b[1 q",
        b"\x1b[\x80m",
        b"\x1b[44m",
        b"\x1b[4:3m",
        b"\t",
    ];
    let mut v = Vec::new();
    while v.len() < len {
        let pieces = if rng.usize(..16) < plain {
            PLAIN
        } else {
            OTHER
        };
        v.extend_from_slice(pick(rng, pieces));
    }
    v.truncate(len);
    v
}

#[test]
fn plain_prefix_matches_reference() {
    let mut rng = fastrand::Rng::with_seed(42);
    for round in 0..200_000 {
        let plain = rng.usize(..17);
        let block = gen_scan_input(&mut rng, BLOCK, plain);
        for fid in [false, true] {
            assert_eq!(
                plain_prefix(&block, fid, false),
                plain_prefix_naive(&block, fid),
                "round {round}, fidelity {fid}: {}",
                show(&block)
            );
        }
    }
}

#[test]
fn scanners_match_reference() {
    let mut rng = fastrand::Rng::with_seed(7);
    for round in 0..20_000 {
        let len = rng.usize(..80);
        let v = gen_scan_input(&mut rng, len, 8);
        let first = |p: &dyn Fn(u8) -> bool| v.iter().position(|&b| p(b)).unwrap_or(v.len());
        let ctx = || format!("round {round}: {}", show(&v));
        assert_eq!(
            find_ground(&v),
            first(&|b| b == ESC || b == SO || b == SI || b == HT),
            "{}",
            ctx()
        );
        assert_eq!(
            find_string_end(&v, false),
            first(&|b| b < 0x20),
            "{}",
            ctx()
        );
        assert_eq!(
            find_string_end(&v, true),
            first(&|b| b < 0x20 || b == ST_C1),
            "{}",
            ctx()
        );
        assert_eq!(
            skip_params(&v),
            first(&|b| !(0x30..=0x3f).contains(&b)),
            "{}",
            ctx()
        );
    }
}

#[test]
fn long_inputs_pass_byte_for_byte_at_every_offset() {
    // The block path sees sequences at every position relative to its 64-byte blocks.
    let mut rng = fastrand::Rng::with_seed(99);
    for round in 0..2000 {
        let mut input = Vec::new();
        while input.len() < 300 {
            gen_benign(&mut rng, &mut input);
        }
        for skew in [0, 1, 7, 31, 63] {
            let mut skewed = vec![b'a'; skew];
            skewed.extend_from_slice(&input);
            let whole = feed_chunks(&mut Filter::new(), &[&skewed]);
            assert!(
                whole == skewed,
                "round {round} skew {skew}: {}",
                show(&skewed)
            );
        }
    }
}
