//! The figures the memory panel and the tab bar show, as plain data: what the state keeps
//! between samples (computed in `ui::memory`, once per sample rather than per frame).

use super::sampler::Snapshot;

/// What the panel knows about memmux itself, from the last sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub self_rss: Option<u64>,
    pub heap_total: usize,
    pub heap_memmux: isize,
    pub leaked: (isize, usize),
    pub heap_known: bool,
    pub system: super::sampler::System,
    /// Processes closed tabs left in their cgroups, and their memory.
    pub left_behind: (usize, u64),
    /// v2: the tabs whose own memory pressure (`memory.pressure` `some avg10`, percent) is
    /// above zero, as (tab number, percent), highest first. Filled from every tab's last
    /// sample, not only those of this snapshot.
    pub tab_pressure: Vec<(usize, f32)>,
}

impl From<&Snapshot> for Totals {
    fn from(s: &Snapshot) -> Totals {
        Totals {
            self_rss: s.self_rss,
            heap_total: s.heap_total,
            heap_memmux: s.heap_memmux,
            leaked: s.leaked,
            heap_known: s.heap_known,
            system: s.system,
            left_behind: s.left_behind,
            tab_pressure: Vec::new(),
        }
    }
}

/// The tab's memory mark for the tab bar and the panel: above the warning threshold, or a
/// leak suspect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alarm {
    Above,
    Growing,
}

/// What the panel and the tab bar show of a tab, computed once per sample rather than per
/// frame: decoding an hour of history and fitting a line for every tab on every keystroke's
/// frame would be the most expensive part of the frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemView {
    /// Chart columns, newest first, for a chart `cols` wide.
    pub cols: usize,
    pub tree: Vec<u64>,
    /// The heap figure as shown (the latest sample's): part of the view so a new value
    /// redraws the panel.
    pub heap: u64,
    pub peak: u64,
    /// Bytes per minute over the leak window.
    /// The growth as shown: ` +1.2M/min`, or empty when it is below what is worth showing.
    pub growth: String,
    pub alarm: Option<Alarm>,
}
