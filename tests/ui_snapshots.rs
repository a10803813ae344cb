//! Snapshot tests of the UI's parts (tab bar, status line, memory panel, help overlay) and of
//! whole screens, drawn from a `State` built here: tabs without programs or ptys, memory
//! samples with fixed times and sizes. Nothing here depends on the machine, so no figure needs
//! masking except where a test says so.
//!
//! Review a changed snapshot with `cargo insta review` or by reading the `.snap.new` file next
//! to the `.snap` one; accept it by renaming (or `INSTA_UPDATE=always`).

use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use memmux::config::Config;
use memmux::memory::history::Sample;
use memmux::session::{CommandSpec, Context, ExitStatus, Session, Status};
use memmux::state::{Confirm, Mode, State, Tab};
use memmux::ui;

/// Wall clock of the newest sample: a fixed instant, so chart columns fall the same way.
const NOW_MS: u64 = 1_800_000_000_000;

fn context() -> Context {
    Context::new(Arc::new(|| {}), Default::default(), 64 << 20)
}

/// A tab named `name`, its program in `status`, its screen showing `screen` (raw bytes).
fn tab(ctx: &Context, id: u64, name: &str, status: Status, screen: &[u8]) -> Tab {
    let spec = CommandSpec {
        argv: vec![name.to_string()],
        cwd: None,
        term: "xterm-256color".to_string(),
    };
    let session = Session::without_program(id, spec, 22, 80, ctx, status);
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

/// The whole screen as the user's terminal shows it: memmux's frame sent through the
/// compositor and read back by a terminal emulator.
fn screen(state: &State, config: &Config, w: u16, h: u16) -> String {
    let area = Rect::new(0, 0, w, h);
    let mut comp = ui::Compositor::new(Vec::new(), area);
    if let Err(e) = comp.draw(|c| ui::draw(c, state, config)) {
        panic!("draw: {e}");
    }
    let mut parser = vt100::Parser::new(
        std::num::NonZeroU16::new(h).unwrap_or(std::num::NonZeroU16::MIN),
        std::num::NonZeroU16::new(w).unwrap_or(std::num::NonZeroU16::MIN),
        0,
    );
    parser.process(comp.writer_mut());
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

#[test]
fn tab_bar_80() {
    let ctx = context();
    let config = Config::default();
    let mut state = four_tabs(&ctx, &config);
    state.view.focus = 1;
    insta::assert_snapshot!(part(80, 1, |a, b| ui::tabs::render(&state, &config, a, b)));
}

#[test]
fn tab_bar_narrow_keeps_marks() {
    let ctx = context();
    let config = Config::default();
    let mut state = four_tabs(&ctx, &config);
    state.view.focus = 2;
    insta::assert_snapshot!(part(30, 1, |a, b| ui::tabs::render(&state, &config, a, b)));
}

#[test]
fn tab_bar_hidden_tab_mark_beside_arrow() {
    let ctx = context();
    let config = Config::default();
    let state = four_tabs(&ctx, &config);
    // Tab 3 (1.2G, above the threshold) is past the right edge: its mark shows by `>`.
    insta::assert_snapshot!(part(20, 1, |a, b| ui::tabs::render(&state, &config, a, b)));
}

#[test]
fn tab_bar_hidden_oom_and_frozen_marks_beside_arrow() {
    let ctx = context();
    let config = Config::default();
    let mut state = four_tabs(&ctx, &config);
    // A hidden tab whose program the kernel killed outranks the threshold mark.
    state.tabs[3].mem.detail.oom_kills = 1;
    let bar = part(20, 1, |a, b| ui::tabs::render(&state, &config, a, b));
    assert!(bar.contains('☠'), "{bar}");
    // A frozen tab alone shows as frozen.
    let mut state = four_tabs(&ctx, &config);
    for t in &mut state.tabs {
        t.mem.history = memmux::memory::history::History::default();
        t.mem.view = Default::default();
    }
    state.tabs[3].mem.detail.frozen = true;
    let bar = part(20, 1, |a, b| ui::tabs::render(&state, &config, a, b));
    assert!(bar.contains('❄'), "{bar}");
}

#[test]
fn tab_bar_long_title_keeps_number_and_mark() {
    let ctx = context();
    let config = Config::default();
    let mut state = four_tabs(&ctx, &config);
    state.tabs[2].name = Some("a-very-long-build-name-indeed".to_string());
    state.view.focus = 2;
    insta::assert_snapshot!(part(16, 1, |a, b| ui::tabs::render(&state, &config, a, b)));
}

#[test]
fn status_line_40_keeps_memory() {
    let ctx = context();
    let config = Config::default();
    let state = four_tabs(&ctx, &config);
    insta::assert_snapshot!(part(40, 1, |a, b| {
        ui::status::render(&state, &config, a, b);
    }));
}

#[test]
fn status_line_80() {
    let ctx = context();
    let config = Config::default();
    let state = four_tabs(&ctx, &config);
    insta::assert_snapshot!(part(80, 1, |a, b| {
        ui::status::render(&state, &config, a, b);
    }));
}

#[test]
fn status_line_prefix() {
    let ctx = context();
    let config = Config::default();
    let mut state = four_tabs(&ctx, &config);
    state.view.mode = Mode::Prefix;
    insta::assert_snapshot!(part(80, 1, |a, b| {
        ui::status::render(&state, &config, a, b);
    }));
}

#[test]
fn memory_panel() {
    let ctx = context();
    let config = Config::default();
    let mut state = four_tabs(&ctx, &config);
    state.view.focus = 2;
    insta::assert_snapshot!(part(config.panel_width, 40, |a, b| {
        ui::memory::render(&state, &config, a, b)
    }));
}

/// cgroup v2: the tabs that wait for memory themselves are named in the footer, highest
/// first; a tab at 0.0% is not.
#[test]
fn memory_panel_footer_names_tabs_under_pressure() {
    use memmux::memory::cgroup::stat::CgroupFigures;
    let ctx = context();
    let config = Config::default();
    let mut state = four_tabs(&ctx, &config);
    for (i, p) in [(0, 0.0), (1, 1.25), (2, 23.5)] {
        state.tabs[i].mem.detail.source = "cgroup-v2";
        state.tabs[i].mem.detail.cgroup = Some(CgroupFigures {
            pressure: Some(p),
            ..CgroupFigures::default()
        });
    }
    state.totals.tab_pressure = ui::memory::tab_pressures(&state);
    assert_eq!(state.totals.tab_pressure, vec![(3, 23.5), (2, 1.25)]);
    let panel = part(config.panel_width, 40, |a, b| {
        ui::memory::render(&state, &config, a, b)
    });
    assert!(
        panel.contains("tab psi 3:23.5% 2:1.2%") || panel.contains("tab psi 3:23.5% 2:1.3%"),
        "{panel}"
    );
}

/// A tab whose program the kernel killed for its limit: `☠1` in its header, the program and
/// pid in its block, used / limit with a bar.
#[test]
fn memory_panel_names_the_program_an_oom_kill_took() {
    let ctx = context();
    let config = Config::default();
    let mut state = four_tabs(&ctx, &config);
    let d = &mut state.tabs[1].mem.detail;
    d.source = "cgroup-v1";
    d.oom_kills = 1;
    d.oom_victim = Some((4321, "memhog".to_string()));
    d.limit = Some(128 << 20);
    let panel = part(config.panel_width, 40, |a, b| {
        ui::memory::render(&state, &config, a, b)
    });
    assert!(panel.contains("☠1 12.0M"), "{panel}");
    assert!(panel.contains("☠ memhog (4321) · "), "{panel}");
    assert!(panel.contains("12.0M/128M"), "{panel}");
}

#[test]
fn help_overlay() {
    let config = Config::default();
    insta::assert_snapshot!(part(80, 24, |a, b| {
        ui::help::render(&config.keymap, 0, a, b)
    }));
}

#[test]
fn screen_80x24() {
    let ctx = context();
    let config = Config::default();
    let state = four_tabs(&ctx, &config);
    insta::assert_snapshot!(screen(&state, &config, 80, 24));
}

#[test]
fn screen_160x45() {
    let ctx = context();
    let config = Config::default();
    let state = four_tabs(&ctx, &config);
    insta::assert_snapshot!(screen(&state, &config, 160, 45));
}

#[test]
fn confirmation_keeps_y_n_at_any_width() {
    let ctx = context();
    let config = Config::default();
    let mut state = four_tabs(&ctx, &config);
    state.view.mode = Mode::Confirm(Confirm::CloseTab(3));
    let wide = part(80, 1, |a, b| {
        ui::status::render(&state, &config, a, b);
    });
    let narrow = part(30, 1, |a, b| {
        ui::status::render(&state, &config, a, b);
    });
    assert!(narrow.contains("(y/n)"), "{narrow}");
    insta::assert_snapshot!(format!("{wide}\n{narrow}"));
}

#[test]
fn long_message_says_where_to_read_it_whole() {
    let ctx = context();
    let config = Config::default();
    let mut state = four_tabs(&ctx, &config);
    state.warn(
        "config ignored, defaults in use: /home/someone/.config/memmux/config.toml:12:9: \
         unknown key `sample-intervall` (did you mean `sample-interval`?)",
    );
    insta::assert_snapshot!(part(80, 1, |a, b| {
        ui::status::render(&state, &config, a, b);
    }));
}

#[test]
fn message_log_overlay() {
    let ctx = context();
    let config = Config::default();
    let mut state = four_tabs(&ctx, &config);
    state.say("history cleared");
    state.warn(
        "config not reloaded: /home/someone/.config/memmux/config.toml:12:9: unknown key \
         `sample-intervall` (did you mean `sample-interval`?)",
    );
    state.view.mode = Mode::Messages(0);
    insta::assert_snapshot!(mask_ages(&screen(&state, &config, 80, 24)));
}

#[test]
fn ended_tab_says_how_to_restart_or_close() {
    let ctx = context();
    let config = Config::default();
    let mut state = four_tabs(&ctx, &config);
    state.view.focus = 3;
    insta::assert_snapshot!(screen(&state, &config, 80, 24));
}

#[test]
fn help_overlay_160x45() {
    let config = Config::default();
    insta::assert_snapshot!(part(160, 45, |a, b| {
        ui::help::render(&config.keymap, 0, a, b)
    }));
}

#[test]
fn help_overlay_scrolled_to_the_legend() {
    let config = Config::default();
    let max = ui::help::max_scroll(&config.keymap, 24);
    insta::assert_snapshot!(part(80, 24, |a, b| {
        ui::help::render(&config.keymap, max, a, b)
    }));
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
    let text = part(config.panel_width, 43, |a, b| {
        ui::memory::render(&state, &config, a, b)
    });
    assert!(text.contains("+20.0M/min"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn memory_panel_many_tabs_one_line_each_still_shows_levels() {
    let ctx = context();
    let config = Config::default();
    let state = many_tabs(&ctx, &config, 20);
    let text = part(config.panel_width, 30, |a, b| {
        ui::memory::render(&state, &config, a, b)
    });
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

/// A tab of three panes at 80x24 (no panel): 1 on the left, 2 above 3 on the right, 3 focused.
/// Returns the state and the terminal's screen after one frame.
fn three_panes(ctx: &Context, config: &Config) -> (State, vt100::Parser) {
    use memmux::state::Pane;
    use memmux::state::layout::Axis;
    let body = Rect::new(0, 1, 80, 22);
    let mut t = tab(ctx, 1, "panes", Status::Running, b"$ left\r\n$ ");
    t.layout.split(Axis::Columns, 2, body).unwrap();
    t.layout.split(Axis::Rows, 3, body).unwrap();
    let g = t.layout.geometry(body);
    for (id, text) in [(2, &b"$ top"[..]), (3, &b"$ bottom"[..])] {
        let r = g.rect_of(id).unwrap();
        let spec = CommandSpec {
            argv: vec!["bash".to_string()],
            cwd: None,
            term: "xterm-256color".to_string(),
        };
        let s = Session::without_program(id, spec, r.height, r.width, ctx, Status::Running);
        s.shared.lock_term().process(text);
        t.panes.push(Pane::new(s));
    }
    t.panes[0].session.resize(22, 39);
    let mut state = State::default();
    state.tabs.push(t);
    let area = Rect::new(0, 0, 80, 24);
    let mut comp = ui::Compositor::new(Vec::new(), area);
    if let Err(e) = comp.draw(|c| ui::draw(c, &state, config)) {
        panic!("draw: {e}");
    }
    let mut parser = vt100::Parser::new(
        std::num::NonZeroU16::new(24).unwrap_or(std::num::NonZeroU16::MIN),
        std::num::NonZeroU16::new(80).unwrap_or(std::num::NonZeroU16::MIN),
        0,
    );
    parser.process(comp.writer_mut());
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
    // Pane 1 is 39 columns, the border at column 39; 2 has rows 1-10, the border row 11.
    assert_eq!(s.cell(1, 39).map(|c| c.contents()), Some("│"));
    assert_eq!(s.cell(11, 39).map(|c| c.contents()), Some("├"));
    assert_eq!(s.cell(11, 60).map(|c| c.contents()), Some("─"));
    // The focused pane's edges (3: the horizontal border, the vertical one beside it) in the
    // accent colour; the border beside pane 2 alone is not.
    let accent = vt100::Color::Idx(220);
    assert_eq!(s.cell(11, 60).map(|c| c.fgcolor()), Some(accent));
    assert_eq!(s.cell(15, 39).map(|c| c.fgcolor()), Some(accent));
    assert_ne!(s.cell(3, 39).map(|c| c.fgcolor()), Some(accent));
    // The cursor after `$ bottom` in pane 3 (row 12, column 40).
    assert_eq!(s.cursor_position(), (12, 40 + 8));
    // Every pane's text, in its place.
    assert!(s.contents_between(1, 0, 1, 39).starts_with("$ left"));
    assert!(s.contents_between(1, 40, 1, 80).starts_with("$ top"));
    assert!(s.contents_between(12, 40, 12, 80).starts_with("$ bottom"));
}

#[test]
fn a_zoomed_pane_has_the_whole_tab_and_the_bar_says_so() {
    let ctx = context();
    let config = Config::default();
    let (mut state, _) = three_panes(&ctx, &config);
    assert!(state.tabs[0].layout.toggle_zoom());
    let text = screen(&state, &config, 80, 24);
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
