//! Snapshot tests of the UI's parts (tab bar, status line, memory panel, help overlay) and of
//! whole screens, drawn from a `State` built here: tabs without programs or ptys, memory
//! samples with fixed times and sizes. Nothing here depends on the machine, so no figure needs
//! masking except where a test says so.
//!
//! Review a changed snapshot with `cargo insta review` or by reading the `.snap.new` file next
//! to the `.snap` one; accept it by renaming (or `INSTA_UPDATE=always`).

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use memmux::config::Config;
use memmux::memory::history::Sample;
use memmux::session::{CommandSpec, Context, ExitStatus, Session, Start, Status};
use memmux::state::{Confirm, Mode, State, Tab};
use memmux::ui;

/// Wall clock of the newest sample: a fixed instant, so chart columns fall the same way.
const NOW_MS: u64 = 1_800_000_000_000;

fn context() -> Context {
    Context::new(Default::default(), 64 << 20)
}

/// A tab named `name`, its program in `status`, its screen showing `screen` (raw bytes).
fn tab(ctx: &Context, id: u64, name: &str, status: Status, screen: &[u8]) -> Tab {
    let spec = CommandSpec {
        argv: vec![name.to_string()],
        cwd: None,
        term: "xterm-256color".to_string(),
    };
    let session = Session::without_program(Start::unheard(id, spec, 22, 80), ctx, status);
    session.shared.lock_term().process(screen);
    let mut t = Tab::new(session, 3600);
    t.name = Some(name.to_string());
    t
}

/// Feeds a tab one sample a second for `secs` seconds ending at `NOW_MS`, its tree memory
/// given by `tree(age in seconds)`, and recomputes what the panel shows.
fn samples(t: &mut Tab, config: &Config, secs: u64, tree: impl Fn(u64) -> u64) {
    for age in (0..secs).rev() {
        t.mem.history.push(Sample {
            unix_ms: NOW_MS - age * 1000,
            tree_bytes: tree(age),
            heap_bytes: 200 << 10,
            pss_bytes: None,
            processes: 2,
            scrollback_rows: 120,
            scrollback_bytes: 9 << 10,
        });
    }
    let cols = ui::memory::chart_cols(config.panel_width);
    t.mem.view = ui::memory::refresh(&t.mem.history, cols, config);
}

/// Four tabs: a shell, an editor, a build whose memory grows 20 MiB a minute, an ended one.
fn four_tabs(ctx: &Context, config: &Config) -> State {
    let mut state = State::default();
    let mut shell = tab(
        ctx,
        1,
        "bash",
        Status::Running,
        b"$ ls\r\nCargo.toml  src\r\n$ ",
    );
    samples(&mut shell, config, 120, |_| 540 << 10);
    let mut editor = tab(ctx, 2, "vim", Status::Running, b"");
    samples(&mut editor, config, 120, |_| 12 << 20);
    let mut build = tab(ctx, 3, "build", Status::Running, b"compiling\r\n");
    samples(&mut build, config, 120, |age| {
        (1200 << 20) - age * ((20 << 20) / 60)
    });
    let ended = tab(
        ctx,
        4,
        "make",
        Status::Exited(ExitStatus::Code(2)),
        b"make: *** [all] Error 2\r\n",
    );
    state.tabs = vec![shell, editor, build, ended];
    state.totals = ui::memory::Totals {
        self_rss: Some(6 << 20),
        heap_total: 900 << 10,
        heap_memmux: 100 << 10,
        leaked: (0, 0),
        heap_known: true,
        system: memmux::memory::sampler::System {
            total: Some(16 << 30),
            available: Some(11 << 30),
            pressure: Some(0.0),
        },
        left_behind: (0, 0),
        tab_pressure: Vec::new(),
        unix_ms: 0,
    };
    state
}

/// Draws one part of the UI into a buffer `w` x 1 (bars) or `w` x `h` and returns its text.
fn part(w: u16, h: u16, draw: impl FnOnce(Rect, &mut Buffer)) -> String {
    let mut terminal = match Terminal::new(TestBackend::new(w, h)) {
        Ok(t) => t,
        Err(e) => panic!("test terminal: {e}"),
    };
    if let Err(e) = terminal.draw(|f| {
        let area = f.area();
        draw(area, f.buffer_mut());
    }) {
        panic!("draw: {e}");
    }
    terminal.backend().to_string()
}

/// The user's terminal, `w` x `h`, after memmux draws one frame of `state` through the
/// compositor.
fn one_frame(state: &State, config: &Config, w: u16, h: u16) -> vt100::Parser {
    let mut comp = ui::Compositor::new(Vec::new(), Rect::new(0, 0, w, h));
    if let Err(e) = comp.draw(|c| ui::draw(c, state, config)) {
        panic!("draw: {e}");
    }
    let mut parser = vt100::Parser::new(
        std::num::NonZeroU16::new(h).unwrap_or(std::num::NonZeroU16::MIN),
        std::num::NonZeroU16::new(w).unwrap_or(std::num::NonZeroU16::MIN),
        0,
    );
    parser.process(comp.writer_mut());
    parser
}

/// A pane `id` in `rect` of a tab, its program named `name`, its screen showing `screen`.
fn pane(ctx: &Context, id: u64, name: &str, rect: Rect, screen: &[u8]) -> memmux::state::Pane {
    let spec = CommandSpec {
        argv: vec![name.to_string()],
        cwd: None,
        term: "xterm-256color".to_string(),
    };
    let s = Session::without_program(
        Start::unheard(id, spec, rect.height, rect.width),
        ctx,
        Status::Running,
    );
    s.shared.lock_term().process(screen);
    memmux::state::Pane::new(s)
}

/// The whole screen as the user's terminal shows it: memmux's frame sent through the
/// compositor and read back by a terminal emulator.
fn screen(state: &State, config: &Config, w: u16, h: u16) -> String {
    let parser = one_frame(state, config, w, h);
    let s = parser.screen();
    (0..h)
        .map(|r| format!("{}|", s.contents_between(r, 0, r, w)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The log's `   0s ago` stamps with the number masked: on a loaded machine a second may
/// pass between posting a message and drawing it.
fn mask_ages(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("s ago") {
            Some(i) => {
                let head: String = l[..i]
                    .chars()
                    .map(|c| if c.is_ascii_digit() { '#' } else { c })
                    .collect();
                format!("{head}{}", &l[i..])
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The default config and `four_tabs` under it (with their context): where most tests start.
fn fixture() -> (Context, Config, State) {
    let ctx = context();
    let config = Config::default();
    let state = four_tabs(&ctx, &config);
    (ctx, config, state)
}

/// A change to `four_tabs`'s state before a snapshot: one case of a table.
type Setup = fn(&mut State);

/// The tab bar at `w` columns.
fn tab_bar(state: &State, config: &Config, w: u16) -> String {
    part(w, 1, |a, b| ui::tabs::render(state, config, a, b))
}

/// The status line at `w` columns.
fn status_line(state: &State, config: &Config, w: u16) -> String {
    part(w, 1, |a, b| {
        ui::status::render(state, config, a, b);
    })
}

/// The memory panel, `h` rows tall at its configured width.
fn panel(state: &State, config: &Config, h: u16) -> String {
    part(config.panel_width, h, |a, b| {
        ui::memory::render(state, config, a, b)
    })
}

/// Draws `four_tabs` changed by each case's setup at the case's width and height: one
/// snapshot per case, named as the case (`ui_snapshots__NAME.snap`).
fn snapshot_cases(
    cases: &[(&str, u16, u16, Setup)],
    draw: fn(&State, &Config, u16, u16) -> String,
) {
    for &(name, w, h, setup) in cases {
        let (_ctx, config, mut state) = fixture();
        setup(&mut state);
        insta::assert_snapshot!(name, draw(&state, &config, w, h));
    }
}

#[test]
fn tab_bar_snapshots() {
    let cases: [(&str, u16, u16, Setup); 4] = [
        ("tab_bar_80", 80, 1, |s| s.view.focus = 1),
        ("tab_bar_narrow_keeps_marks", 30, 1, |s| s.view.focus = 2),
        // Tab 3 (1.2G, above the threshold) is past the right edge: its mark shows by `>`.
        ("tab_bar_hidden_tab_mark_beside_arrow", 20, 1, |_| {}),
        ("tab_bar_long_title_keeps_number_and_mark", 16, 1, |s| {
            s.tabs[2].name = Some("a-very-long-build-name-indeed".to_string());
            s.view.focus = 2;
        }),
    ];
    snapshot_cases(&cases, |s, c, w, _| tab_bar(s, c, w));
}

#[test]
fn tab_bar_hidden_oom_and_frozen_marks_beside_arrow() {
    let (ctx, config, mut state) = fixture();
    // A hidden tab whose program the kernel killed outranks the threshold mark.
    state.tabs[3].mem.detail.oom_kills = 1;
    let bar = tab_bar(&state, &config, 20);
    assert!(bar.contains('☠'), "{bar}");
    // A frozen tab alone shows as frozen.
    let mut state = four_tabs(&ctx, &config);
    for t in &mut state.tabs {
        t.mem.history = memmux::memory::history::History::default();
        t.mem.view = Default::default();
    }
    state.tabs[3].mem.detail.frozen = true;
    let bar = tab_bar(&state, &config, 20);
    assert!(bar.contains('❄'), "{bar}");
}

#[test]
fn status_line_snapshots() {
    let cases: [(&str, u16, u16, Setup); 4] = [
        ("status_line_40_keeps_memory", 40, 1, |_| {}),
        ("status_line_80", 80, 1, |_| {}),
        ("status_line_prefix", 80, 1, |s| s.view.mode = Mode::Prefix),
        ("long_message_says_where_to_read_it_whole", 80, 1, |s| {
            s.warn(
                "config ignored, defaults in use: /home/someone/.config/memmux/config.toml:12:9: \
                 unknown key `sample-intervall` (did you mean `sample-interval`?)",
            )
        }),
    ];
    snapshot_cases(&cases, |s, c, w, _| status_line(s, c, w));
}

#[test]
fn memory_panel() {
    let (_ctx, config, mut state) = fixture();
    state.view.focus = 2;
    insta::assert_snapshot!(panel(&state, &config, 40));
}

/// cgroup v2: the tabs that wait for memory themselves are named in the footer, highest
/// first; a tab at 0.0% is not.
#[test]
fn memory_panel_footer_names_tabs_under_pressure() {
    use memmux::memory::cgroup::stat::CgroupFigures;
    let (_ctx, config, mut state) = fixture();
    for (i, p) in [(0, 0.0), (1, 1.25), (2, 23.5)] {
        state.tabs[i].mem.detail.source = "cgroup-v2";
        state.tabs[i].mem.detail.cgroup = Some(CgroupFigures {
            pressure: Some(p),
            ..CgroupFigures::default()
        });
    }
    state.totals.tab_pressure = ui::memory::tab_pressures(&state);
    assert_eq!(state.totals.tab_pressure, vec![(3, 23.5), (2, 1.25)]);
    let text = panel(&state, &config, 40);
    assert!(
        text.contains("tab psi 3:23.5% 2:1.2%") || text.contains("tab psi 3:23.5% 2:1.3%"),
        "{text}"
    );
}

/// A tab whose program the kernel killed for its limit: `☠1` in its header, the program and
/// pid in its block, used / limit with a bar.
#[test]
fn memory_panel_names_the_program_an_oom_kill_took() {
    let (_ctx, config, mut state) = fixture();
    let d = &mut state.tabs[1].mem.detail;
    d.source = "cgroup-v1";
    d.oom_kills = 1;
    d.oom_victim = Some((4321, "memhog".to_string()));
    d.limit = Some(128 << 20);
    let text = panel(&state, &config, 40);
    assert!(text.contains("☠1 12.0M"), "{text}");
    assert!(text.contains("☠ memhog (4321) · "), "{text}");
    assert!(text.contains("12.0M/128M"), "{text}");
}

/// Each case is a snapshot of its own, named as the case (`ui_snapshots__NAME.snap`).
#[test]
fn help_overlay_snapshots() {
    let config = Config::default();
    let legend = ui::help::max_scroll(&config.keymap, 24);
    for (name, w, h, scroll) in [
        ("help_overlay", 80, 24, 0),
        ("help_overlay_160x45", 160, 45, 0),
        ("help_overlay_scrolled_to_the_legend", 80, 24, legend),
    ] {
        let text = part(w, h, |a, b| ui::help::render(&config.keymap, scroll, a, b));
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn screen_snapshots() {
    let cases: [(&str, u16, u16, Setup); 3] = [
        ("screen_80x24", 80, 24, |_| {}),
        ("screen_160x45", 160, 45, |_| {}),
        ("ended_tab_says_how_to_restart_or_close", 80, 24, |s| {
            s.view.focus = 3
        }),
    ];
    snapshot_cases(&cases, screen);
}

#[test]
fn confirmation_keeps_y_n_at_any_width() {
    let (_ctx, config, mut state) = fixture();
    state.view.mode = Mode::Confirm(Confirm::CloseTab(3));
    let wide = status_line(&state, &config, 80);
    let narrow = status_line(&state, &config, 30);
    assert!(narrow.contains("(y/n)"), "{narrow}");
    insta::assert_snapshot!(format!("{wide}\n{narrow}"));
}

#[test]
fn message_log_overlay() {
    let (_ctx, config, mut state) = fixture();
    state.say("history cleared");
    state.warn(
        "config not reloaded: /home/someone/.config/memmux/config.toml:12:9: unknown key \
         `sample-intervall` (did you mean `sample-interval`?)",
    );
    state.view.mode = Mode::Messages(0);
    insta::assert_snapshot!(mask_ages(&screen(&state, &config, 80, 24)));
}

/// `n` tabs, tab K using K MiB except the last, which uses 1.2 GiB: the smallest must still
/// draw a bar beside the biggest.
fn many_tabs(ctx: &Context, config: &Config, n: u64) -> State {
    let mut state = State::default();
    for k in 1..=n {
        let mut t = tab(ctx, k, &format!("t{k}"), Status::Running, b"");
        let bytes = if k == n { 1200 << 20 } else { k << 20 };
        samples(&mut t, config, 120, |_| bytes);
        state.tabs.push(t);
    }
    state
}

#[test]
fn memory_panel_six_tabs_keeps_peak_and_rate() {
    let ctx = context();
    let config = Config::default();
    let mut state = many_tabs(&ctx, &config, 6);
    // Tab 1 grows 20 MiB a minute, steadily: its rate shows.
    samples(&mut state.tabs[0], &config, 0, |_| 0);
    let mut grow = tab(&ctx, 100, "grow", Status::Running, b"");
    samples(&mut grow, &config, 120, |age| {
        (300 << 20) - age * ((20 << 20) / 60)
    });
    state.tabs[0] = grow;
    let text = panel(&state, &config, 43);
    assert!(text.contains("+20.0M/min"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn memory_panel_many_tabs_one_line_each_still_shows_levels() {
    let ctx = context();
    let config = Config::default();
    let state = many_tabs(&ctx, &config, 20);
    let text = panel(&state, &config, 30);
    insta::assert_snapshot!(text);
}

#[test]
fn a_flat_tab_with_one_jump_shows_no_rate() {
    let ctx = context();
    let config = Config::default();
    let mut t = tab(&ctx, 1, "jump", Status::Running, b"");
    // Flat, then a 200 MiB step 20 s ago: not a growth rate.
    samples(&mut t, &config, 120, |age| {
        if age < 20 { 300 << 20 } else { 100 << 20 }
    });
    assert_eq!(t.mem.view.growth, "");
}

/// A tab of three panes at 80x24 (no panel): 1 on the left, 2 above 3 on the right, 3 focused;
/// 2's program set a title. Returns the state and the terminal's screen after one frame.
fn three_panes(ctx: &Context, config: &Config) -> (State, vt100::Parser) {
    use memmux::state::layout::Axis;
    let body = Rect::new(0, 1, 80, 22);
    let mut t = tab(ctx, 1, "panes", Status::Running, b"$ left\r\n$ ");
    t.layout.split(Axis::Columns, 2, body).unwrap();
    t.layout.split(Axis::Rows, 3, body).unwrap();
    let g = t.layout.geometry(body);
    for (id, text) in [(2, &b"$ top"[..]), (3, &b"$ bottom"[..])] {
        t.panes
            .push(pane(ctx, id, "bash", g.rect_of(id).unwrap(), text));
    }
    t.panes[1].title = Some("vim notes.txt".to_string());
    let r = g.rect_of(1).unwrap();
    t.panes[0].session.resize(r.height, r.width);
    let mut state = State::default();
    state.tabs.push(t);
    let parser = one_frame(&state, config, 80, 24);
    (state, parser)
}

#[test]
fn panes_borders_cursor_and_focus() {
    let ctx = context();
    let config = Config::default();
    let (_, parser) = three_panes(&ctx, &config);
    let s = parser.screen();
    let text: String = (0..24)
        .map(|r| format!("{}|\n", s.contents_between(r, 0, r, 80)))
        .collect();
    insta::assert_snapshot!(text);
    // Row 1 is the title row, joined to the vertical border at column 39 (pane 1 is 39
    // columns); 2 has rows 2-11, the border row 12.
    assert_eq!(s.cell(1, 39).map(|c| c.contents()), Some("┬"));
    assert_eq!(s.cell(2, 39).map(|c| c.contents()), Some("│"));
    assert_eq!(s.cell(12, 39).map(|c| c.contents()), Some("├"));
    assert_eq!(s.cell(12, 70).map(|c| c.contents()), Some("─"));
    // The focused pane's edges (3: the horizontal border, the vertical one beside it) in the
    // accent colour; the border beside pane 2 alone is not.
    let accent = vt100::Color::Idx(220);
    assert_eq!(s.cell(12, 70).map(|c| c.fgcolor()), Some(accent));
    assert_eq!(s.cell(15, 39).map(|c| c.fgcolor()), Some(accent));
    assert_ne!(s.cell(3, 39).map(|c| c.fgcolor()), Some(accent));
    // Each pane's title on the line above it: the program's name, or the title it set; the
    // focused pane's in the accent colour, bold.
    assert!(s.contents_between(1, 0, 1, 39).starts_with("─ panes ─"));
    assert!(
        s.contents_between(1, 40, 1, 80)
            .starts_with("─ vim notes.txt ─")
    );
    assert!(s.contents_between(12, 40, 12, 80).starts_with("─ bash ─"));
    let title = s.cell(12, 42);
    assert_eq!(title.map(|c| (c.fgcolor(), c.bold())), Some((accent, true)));
    assert_ne!(s.cell(1, 42).map(|c| c.fgcolor()), Some(accent));
    // The cursor after `$ bottom` in pane 3 (row 13, column 40).
    assert_eq!(s.cursor_position(), (13, 40 + 8));
    // Every pane's text, in its place.
    assert!(s.contents_between(2, 0, 2, 39).starts_with("$ left"));
    assert!(s.contents_between(2, 40, 2, 80).starts_with("$ top"));
    assert!(s.contents_between(13, 40, 13, 80).starts_with("$ bottom"));
}

#[test]
fn a_zoomed_pane_has_the_whole_tab_and_the_bar_says_so() {
    let ctx = context();
    let config = Config::default();
    let (mut state, _) = three_panes(&ctx, &config);
    assert!(state.tabs[0].layout.toggle_zoom());
    let text = screen(&state, &config, 80, 24);
    insta::assert_snapshot!(text);
    // No borders, no title row: the tab bar's `Z` says the others are there.
    assert!(!text.contains('│') && !text.contains('─'), "{text}");
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("$ bottom")),
        "{text}"
    );
    assert!(
        text.lines().next().is_some_and(|l| l.contains("1:panesZ")),
        "{text}"
    );
}

/// Feeds every pane of `state`'s tabs one sample a second for `secs` seconds ending at
/// `NOW_MS` through the app's path (`pane_memory::tab_figures`: the tab's figure is the sum
/// of its panes'), pane `id` using `bytes(id)` with its biggest process, then recomputes
/// the views the panel draws.
fn pane_samples(state: &mut State, config: &Config, secs: u64, bytes: impl Fn(u64) -> u64) {
    use memmux::memory::procs::ProcessInfo;
    use memmux::memory::sampler::TabFigures;
    let cols = ui::memory::chart_cols(config.panel_width);
    let ids: Vec<u64> = state
        .tabs
        .iter()
        .flat_map(|t| t.panes.iter().map(|p| p.session.id))
        .collect();
    for age in (0..secs).rev() {
        let figs: Vec<TabFigures> = ids
            .iter()
            .map(|&id| {
                let mut f = TabFigures {
                    id,
                    sample: Sample {
                        unix_ms: NOW_MS - age * 1000,
                        tree_bytes: bytes(id),
                        heap_bytes: 100 << 10,
                        pss_bytes: None,
                        processes: 2,
                        scrollback_rows: 10,
                        scrollback_bytes: 1 << 10,
                    },
                    biggest: Some(ProcessInfo {
                        pid: 4000 + id as u32,
                        name: if bytes(id) > 8 << 20 {
                            "memhog"
                        } else {
                            "bash"
                        }
                        .to_string(),
                        rss_minus_shared: bytes(id) - (300 << 10),
                        pss: None,
                    }),
                    detail: Default::default(),
                };
                f.detail.source = "cgroup-v1";
                // Pane 3's own ceiling (`set-memory-limit -p 64M`).
                f.detail.limit = (id == 3).then_some(64 << 20);
                f
            })
            .collect();
        for f in memmux::state::pane_memory::tab_figures(state, &figs) {
            if let Some(t) = state.tabs.iter_mut().find(|t| t.id == f.id) {
                t.mem.history.push_with(f.sample, f.detail.parts());
                t.mem.detail = f.detail.clone();
                t.mem.biggest = f.biggest.clone();
            }
        }
    }
    for t in &mut state.tabs {
        t.mem.view = ui::memory::refresh(&t.mem.history, cols, config);
        for m in &mut t.mem.panes {
            m.view = ui::memory::refresh(&m.history, cols, config);
        }
    }
}

/// A tab of three panes in the panel: the tab's figure is the sum, and beneath it each pane
/// in the layout's order with its chart line, figure (pane 3's own limit beside it) and
/// biggest process; a tab of one pane has no pane rows. On a short panel each pane keeps
/// one line (chart and figure).
#[test]
fn memory_panel_shows_each_pane_beneath_its_tab() {
    let ctx = context();
    let config = Config::default();
    let (mut state, _) = three_panes(&ctx, &config);
    state.tabs.push(tab(&ctx, 9, "vim", Status::Running, b""));
    let mib = |id: u64| match id {
        1 => 40 << 20,
        2 => 300 << 10,
        3 => 12 << 20,
        _ => 5 << 20,
    };
    pane_samples(&mut state, &config, 90, mib);
    assert_eq!(
        state.tabs[0].mem.history.latest().map(|s| s.tree_bytes),
        Some((52 << 20) + (300 << 10))
    );
    assert!(state.tabs[1].mem.panes.is_empty());
    let tall = panel(&state, &config, 40);
    insta::assert_snapshot!(tall);
    for want in [
        "52.3M",
        "├1 panes",
        "top memhog (4001) 39.7M",
        "├2 vim note",
        "└3 bash",
        "12.0M/64.0M",
        "top memhog (4003) 11.7M",
    ] {
        assert!(tall.contains(want), "no {want:?}:\n{tall}");
    }
    assert_eq!(tall.matches("top bash (4009)").count(), 1, "{tall}");
    // 80x24: the panel is 22 rows; the tabs' blocks shrink before the panes' rows.
    let p80 = panel(&state, &config, 22);
    assert!(p80.contains("top memhog (4003)"), "{p80}");
    assert!(p80.contains("2 vim"), "{p80}");
    // Shorter: one line per pane (chart and figure), both tabs still shown.
    let short = panel(&state, &config, 16);
    assert!(short.contains("└3 bash"), "{short}");
    assert!(short.contains("12.0M/64.0M"), "{short}");
    assert!(!short.contains("top memhog (4003)"), "{short}");
    assert!(short.contains("2 vim"), "{short}");
}

/// A tab of 5 panes in nested splits at `w` x 24 (no panel): 1 | (2 / (3 | 4 | 5)), 4
/// focused; the panes are named after their place, 3's program set a long title, and 5 is
/// squeezed to 3 columns by dragging borders.
fn nested_panes(ctx: &Context, config: &Config, w: u16) -> vt100::Parser {
    use memmux::state::layout::Axis;
    let body = Rect::new(0, 1, w, 22);
    let mut t = tab(ctx, 1, "left", Status::Running, b"$ ");
    t.layout.split(Axis::Columns, 2, body).unwrap();
    t.layout.split(Axis::Rows, 3, body).unwrap();
    t.layout.split(Axis::Columns, 4, body).unwrap();
    t.layout.split(Axis::Columns, 5, body).unwrap();
    // 5 shrinks to 3 columns: its left border dragged to 4 columns from the edge.
    let g = t.layout.geometry(body);
    let b5 = g.rect_of(5).unwrap().x - 1;
    let path = t.layout.border_at(body, b5, 15).unwrap();
    assert!(t.layout.drag_border(body, &path, w - 4, 15));
    t.layout.set_focus(4);
    let g = t.layout.geometry(body);
    let names = [(2, "top"), (3, "htop"), (4, "focused"), (5, "five")];
    for (id, name) in names {
        t.panes
            .push(pane(ctx, id, name, g.rect_of(id).unwrap(), b"$ "));
    }
    t.panes[2].title = Some("a title far too long for its pane".to_string());
    let r = g.rect_of(1).unwrap();
    t.panes[0].session.resize(r.height, r.width);
    let mut state = State::default();
    state.tabs.push(t);
    one_frame(&state, config, w, 24)
}

#[test]
fn pane_titles_in_a_nested_layout_are_cut_to_fit_or_left_out() {
    let ctx = context();
    let config = Config::default();
    let parser = nested_panes(&ctx, &config, 80);
    let s = parser.screen();
    let text: String = (0..24)
        .map(|r| format!("{}|\n", s.contents_between(r, 0, r, 80)))
        .collect();
    insta::assert_snapshot!(text);
    // Pane 3's long title is cut with `…` and leaves a cell of line at its end.
    let row = text
        .lines()
        .find(|l| l.contains("a title"))
        .unwrap_or_default();
    assert!(row.contains('…'), "{text}");
    assert!(!row.contains("far too long for its pane"), "{text}");
    // Pane 5 (3 columns) has no room for a title: its line is drawn, no text.
    assert!(!text.contains("five"), "{text}");
    // The focused pane's title in the accent colour.
    let (r, c) = (0..24)
        .find_map(|r| {
            let line = s.contents_between(r, 0, r, 80);
            line.find(" focused ")
                .map(|i| (r, line[..i].chars().count() as u16 + 1))
        })
        .unwrap_or_default();
    assert_eq!(
        s.cell(r, c).map(|c| c.fgcolor()),
        Some(vt100::Color::Idx(220))
    );
}
