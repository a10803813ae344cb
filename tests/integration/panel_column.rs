//! A sample that changes the memory panel and nothing else draws the panel's part that
//! changed, alone: a footer figure redraws the footer's rows, a chart column the tabs' part.
//! At 1,000 tabs a chart column's whole frame sized every tab's sessions, drew the tab bar
//! over every tab and compared the whole screen (`docs/performance.md`, idle6).

use memmux::app::driver::{Driver, Input};
use memmux::memory::history::Sample;
use memmux::memory::sampler::{Detail, Snapshot, System, TabFigures};
use memmux::ui::{Layout, memory};

const GIB: u64 = 1 << 30;

/// A snapshot at `unix_ms` with the machine's `avail`, and `tabs`' figures.
fn snapshot(unix_ms: u64, avail: u64, tabs: Vec<TabFigures>, quiet: bool) -> Snapshot {
    Snapshot {
        unix_ms,
        tabs,
        self_rss: Some(8 << 20),
        heap_total: 1 << 20,
        heap_memmux: 1 << 19,
        leaked: (0, 0),
        heap_known: true,
        cost: Default::default(),
        system: System {
            total: Some(16 * GIB),
            available: Some(avail),
            pressure: None,
        },
        left_behind: (0, 0),
        notices: Vec::new(),
        log_state: None,
        quiet,
    }
}

/// Tab `id`'s figure `tree` at `unix_ms`.
fn figure(id: u64, unix_ms: u64, tree: u64) -> TabFigures {
    TabFigures {
        id,
        sample: Sample {
            unix_ms,
            tree_bytes: tree,
            processes: 1,
            ..Sample::default()
        },
        biggest: None,
        detail: Detail::default(),
    }
}

/// The panel's tabs part and footer on `d`'s screen of `cols` x `rows`.
fn parts(d: &Driver, cols: u16, rows: u16) -> (ratatui::layout::Rect, ratatui::layout::Rect) {
    let area = ratatui::layout::Rect::new(0, 0, cols, rows);
    let panel = Layout::for_state(area, &d.app.state, &d.app.config)
        .panel
        .expect("the panel shows at 160 columns");
    let (tabs, footer) = memory::parts(&d.app.state, panel);
    (tabs, footer.expect("a footer fits in 40 rows"))
}

/// Column start of the panel's clock (5 s columns), well into some column.
const T0: u64 = 1_800_000_000_000;

/// The app on 160 x 40 (the panel shown), its tab's first figure taken at `T0`.
fn sampled() -> Driver {
    let mut d = Driver::new(160, 40);
    let id = d.app.state.tabs[0].id;
    let first = snapshot(T0, 10 * GIB, vec![figure(id, T0, 50 << 20)], false);
    d.run([Input::Sample(Box::new(first))]);
    d
}

#[test]
fn a_footer_figure_alone_redraws_the_footer_alone() {
    let mut d = sampled();
    assert!(d.text().contains("avail 10.0G"), "{}", d.text());
    let (_, footer) = parts(&d, 160, 40);
    // The same column, a quiet round: only the machine's available memory moved.
    d.run([Input::Sample(Box::new(snapshot(
        T0 + 1000,
        12 * GIB,
        Vec::new(),
        true,
    )))]);
    assert!(d.text().contains("avail 12.0G"), "{}", d.text());
    assert_eq!(
        d.compared(),
        usize::from(footer.width * footer.height),
        "the footer's cells alone were compared"
    );
    // The cursor is back in the pane, where the program's screen has it.
    assert_eq!(d.screen().cursor_position(), (1, 0));
}

#[test]
fn a_chart_column_redraws_the_tabs_part_alone_and_the_chart_gains_it() {
    let mut d = sampled();
    let (tabs, _) = parts(&d, 160, 40);
    let bars = |d: &Driver| d.text().matches('█').count();
    let before = bars(&d);
    // The next column, a quiet round: nothing moved but the clock.
    d.run([Input::Sample(Box::new(snapshot(
        T0 + 5000,
        10 * GIB,
        Vec::new(),
        true,
    )))]);
    assert!(
        bars(&d) > before,
        "the chart gained a column: {} bars, {before} before\n{}",
        bars(&d),
        d.text()
    );
    assert_eq!(
        d.compared(),
        usize::from(tabs.width * tabs.height),
        "the tabs' part alone was compared"
    );
    // The next key's frame keeps the panel as drawn.
    d.program(0, |p| p.print(b"$ "));
    assert!(d.compared() < usize::from(tabs.width * tabs.height));
}
