//! The panes of one tab: a tree of binary splits, and the places on screen it gives each pane.
//! Pure geometry, no sessions: the tab maps pane ids to sessions.
//!
//! A split divides its area along one axis into two parts and a one-cell border between them.
//! Sizes are kept as a ratio of the split's area, so a resized window re-lays the panes
//! proportionally; a change by one cell sets the ratio from the new cell count.

use ratatui::layout::{Position, Rect};

/// Names a pane within its tab: the id of the session it runs (never reused).
pub type PaneId = u64;

/// Names a split by the way to it from the root: `false` the first part, `true` the second.
pub type SplitPath = Vec<bool>;

/// Smallest content a pane may be split down to: 2 columns, 1 row (tmux allows 1x1; one column
/// cannot show a wide character).
pub const MIN_COLS: u16 = 2;
pub const MIN_ROWS: u16 = 1;

/// How a split lays out its two parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// Side by side, left | right, a vertical border between (tmux's `%`).
    Columns,
    /// One above the other, a horizontal border between (tmux's `"`).
    Rows,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Left,
    Right,
    Up,
    Down,
}

impl Direction {
    fn axis(self) -> Axis {
        match self {
            Direction::Left | Direction::Right => Axis::Columns,
            Direction::Up | Direction::Down => Axis::Rows,
        }
    }

    /// -1 towards the left or the top, +1 towards the right or the bottom.
    fn sign(self) -> i32 {
        match self {
            Direction::Left | Direction::Up => -1,
            Direction::Right | Direction::Down => 1,
        }
    }
}

/// The layouts `C-b space` goes through, in tmux's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Even {
    Horizontal,
    Vertical,
    Tiled,
}

impl Even {
    pub fn name(self) -> &'static str {
        match self {
            Even::Horizontal => "even-horizontal",
            Even::Vertical => "even-vertical",
            Even::Tiled => "tiled",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Leaf(PaneId),
    Split {
        axis: Axis,
        /// The first part's share of the cells left after the border, 0..1.
        ratio: f64,
        first: Box<Node>,
        second: Box<Node>,
    },
}

/// A border line between two parts of a split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Border {
    pub rect: Rect,
    /// The split's axis: `Columns` draws a vertical line.
    pub axis: Axis,
}

/// Where everything of a tab goes in an area.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Geometry {
    /// Every pane with its place, in the tree's order. A pane that does not fit has an empty
    /// rectangle (it is hidden); a zoomed tab's other panes keep the place they would have.
    pub panes: Vec<(PaneId, Rect)>,
    /// Empty while zoomed.
    pub borders: Vec<Border>,
    pub zoomed: Option<PaneId>,
    /// The row above the panes of a split tab, for the titles of the panes along its top
    /// edge (every other pane has a border row right above it for its title). `None` with
    /// one pane, while zoomed, and when the area has no row to spare for it.
    pub title_row: Option<Rect>,
}

impl Geometry {
    pub fn rect_of(&self, id: PaneId) -> Option<Rect> {
        self.panes.iter().find(|(p, _)| *p == id).map(|(_, r)| *r)
    }

    /// The panes drawn: all of them that fit, or only the zoomed one.
    pub fn visible(&self) -> impl Iterator<Item = (PaneId, Rect)> + '_ {
        self.panes
            .iter()
            .copied()
            .filter(move |(p, r)| self.zoomed.is_none_or(|z| z == *p) && !r.is_empty())
    }
}

/// Why a pane was not split.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("pane too small to split: {have}, needs {need}")]
pub struct TooSmall {
    pub have: String,
    pub need: String,
}

/// A tab's panes and which one has the focus.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    root: Node,
    focus: PaneId,
    zoomed: bool,
    /// The even layout `C-b space` applies next.
    next_even: usize,
}

impl Layout {
    pub fn new(first: PaneId) -> Layout {
        Layout {
            root: Node::Leaf(first),
            focus: first,
            zoomed: false,
            next_even: 0,
        }
    }

    pub fn focus(&self) -> PaneId {
        self.focus
    }

    pub fn is_zoomed(&self) -> bool {
        self.zoomed
    }

    /// The panes in the tree's order: left to right, top to bottom within each split.
    pub fn panes(&self) -> Vec<PaneId> {
        let mut v = Vec::new();
        leaves(&self.root, &mut v);
        v
    }

    /// Focuses `id`, leaving zoom (as tmux does when another pane is selected). False when
    /// `id` is not a pane of this tab.
    pub fn set_focus(&mut self, id: PaneId) -> bool {
        if !self.panes().contains(&id) {
            return false;
        }
        if id != self.focus {
            self.zoomed = false;
            self.focus = id;
        }
        true
    }

    pub fn geometry(&self, area: Rect) -> Geometry {
        let mut g = self.geometry_unzoomed(area);
        if self.zoomed {
            g.borders.clear();
            g.title_row = None;
            g.zoomed = Some(self.focus);
            if let Some(r) = g.panes.iter_mut().find(|(p, _)| *p == self.focus) {
                r.1 = area;
            }
        }
        g
    }

    /// Splits the focused pane along `axis`; `new` takes the second part and the focus.
    /// Refused when either part would have less than the minimum content.
    pub fn split(&mut self, axis: Axis, new: PaneId, area: Rect) -> Result<(), TooSmall> {
        // Without the title row: it gives way when the split leaves it no room.
        let mut g = Geometry::default();
        place(&self.root, area, &mut g);
        let have = g.rect_of(self.focus).unwrap_or_default();
        let (size, min, what) = match axis {
            Axis::Columns => (have.width, MIN_COLS, "columns"),
            Axis::Rows => (have.height, MIN_ROWS, "rows"),
        };
        let need = 2 * min + 1;
        if size < need {
            return Err(TooSmall {
                have: format!("{size} {what}"),
                need: format!("{need} ({min} a pane and a border)"),
            });
        }
        let focus = self.focus;
        if let Some(leaf) = find_leaf(&mut self.root, focus) {
            *leaf = Node::Split {
                axis,
                ratio: 0.5,
                first: Box::new(Node::Leaf(focus)),
                second: Box::new(Node::Leaf(new)),
            };
        }
        self.focus = new;
        self.zoomed = false;
        Ok(())
    }

    /// Takes `id` out; its sibling takes its space. Returns the pane that gets the focus when
    /// `id` had it (the sibling's pane nearest to where `id` was), else the focus unchanged.
    /// `None` when `id` is the only pane (the tab closes instead) or not in the tab.
    pub fn remove(&mut self, id: PaneId) -> Option<PaneId> {
        if matches!(self.root, Node::Leaf(_)) {
            return None;
        }
        let heir = remove_leaf(&mut self.root, id)?;
        if self.focus == id {
            self.focus = heir;
            self.zoomed = false;
        }
        Some(self.focus)
    }

    /// The visible pane beside the focused one in `dir` (the one sharing the most of that edge).
    pub fn neighbour(&self, dir: Direction, area: Rect) -> Option<PaneId> {
        let g = self.geometry_unzoomed(area);
        let from = g.rect_of(self.focus)?;
        // Rows two panes side by side share, or columns of two panes one above the other.
        let rows = |r: Rect| {
            r.bottom()
                .min(from.bottom())
                .saturating_sub(r.y.max(from.y))
        };
        let cols = |r: Rect| r.right().min(from.right()).saturating_sub(r.x.max(from.x));
        g.panes
            .iter()
            .filter(|(p, r)| *p != self.focus && !r.is_empty())
            .filter_map(|&(p, r)| {
                // A border's width (one column or row) between the two.
                let (touches, shared) = match dir {
                    Direction::Left => (r.right() + 1 == from.x, rows(r)),
                    Direction::Right => (from.right() + 1 == r.x, rows(r)),
                    Direction::Up => (r.bottom() + 1 == from.y, cols(r)),
                    Direction::Down => (from.bottom() + 1 == r.y, cols(r)),
                };
                (touches && shared > 0).then_some((p, shared, r.x, r.y))
            })
            // Most shared edge; then the topmost, leftmost.
            .max_by(|a, b| {
                a.1.cmp(&b.1)
                    .then_with(|| b.3.cmp(&a.3))
                    .then_with(|| b.2.cmp(&a.2))
            })
            .map(|(p, ..)| p)
    }

    /// The pane `step` places after the focused one in the tree's order, wrapping around.
    pub fn cycle(&self, step: isize) -> PaneId {
        let v = self.panes();
        let n = v.len() as isize;
        let i = v.iter().position(|p| *p == self.focus).unwrap_or(0) as isize;
        v[(i + step).rem_euclid(n) as usize]
    }

    /// The pane at column `x`, row `y`, when one is drawn there.
    pub fn pane_at(&self, area: Rect, x: u16, y: u16) -> Option<PaneId> {
        let g = self.geometry(area);
        g.visible()
            .find(|(_, r)| r.contains(Position::new(x, y)))
            .map(|(p, _)| p)
    }

    /// Moves the border of the nearest split along `dir`'s axis that holds the focused pane by
    /// one cell in `dir`. False when there is no such split or the border cannot move (each
    /// side keeps at least one cell).
    pub fn resize(&mut self, dir: Direction, area: Rect) -> bool {
        let focus = self.focus;
        let area = self.panes_area(area);
        matches!(
            adjust(&mut self.root, area, focus, dir.axis(), dir.sign()),
            Found::Done(true)
        )
    }

    /// Zooms the focused pane to the whole tab, or back. False (nothing done) with one pane.
    pub fn toggle_zoom(&mut self) -> bool {
        if matches!(self.root, Node::Leaf(_)) {
            return false;
        }
        self.zoomed = !self.zoomed;
        true
    }

    /// Swaps the focused pane with the one `step` places away in the tree's order (wrapping);
    /// the focus stays with the pane that moved. False with one pane.
    pub fn swap(&mut self, step: isize) -> bool {
        let other = self.cycle(step);
        if other == self.focus {
            return false;
        }
        let focus = self.focus;
        swap_leaves(&mut self.root, focus, other);
        true
    }

    /// Lays every pane out again in the next of the even layouts, keeping their order.
    pub fn cycle_even(&mut self) -> Even {
        const ORDER: [Even; 3] = [Even::Horizontal, Even::Vertical, Even::Tiled];
        let which = ORDER[self.next_even % ORDER.len()];
        self.next_even = (self.next_even + 1) % ORDER.len();
        let panes = self.panes();
        self.root = match which {
            Even::Horizontal => chain(Axis::Columns, panes.into_iter().map(Node::Leaf).collect()),
            Even::Vertical => chain(Axis::Rows, panes.into_iter().map(Node::Leaf).collect()),
            Even::Tiled => tiled(&panes),
        };
        self.zoomed = false;
        which
    }

    /// The split whose border is at column `x`, row `y` (none while zoomed: no borders show).
    pub fn border_at(&self, area: Rect, x: u16, y: u16) -> Option<SplitPath> {
        if self.zoomed {
            return None;
        }
        let mut path = Vec::new();
        let area = self.panes_area(area);
        find_border(&self.root, area, Position::new(x, y), &mut path).then_some(path)
    }

    /// Moves the border of the split at `path` to column `x` (a split side by side) or row
    /// `y` (stacked), as far as each side keeps a cell. True when it moved.
    pub fn drag_border(&mut self, area: Rect, path: &[bool], x: u16, y: u16) -> bool {
        let mut area = self.panes_area(area);
        let mut node = &mut self.root;
        for &second in path {
            let Node::Split {
                axis,
                ratio,
                first,
                second: other,
            } = node
            else {
                return false;
            };
            let (a, _, b) = divide(area, *axis, *ratio);
            (node, area) = if second {
                (&mut **other, b)
            } else {
                (&mut **first, a)
            };
        }
        let Node::Split { axis, ratio, .. } = node else {
            return false;
        };
        let total = extent(area, *axis);
        let Some(now) = first_cells(total, *ratio) else {
            return false;
        };
        let want = match axis {
            Axis::Columns => x.saturating_sub(area.x),
            Axis::Rows => y.saturating_sub(area.y),
        };
        let avail = total - 1;
        let want = want.clamp(1, avail - 1);
        if want == now {
            return false;
        }
        *ratio = f64::from(want) / f64::from(avail);
        true
    }

    /// Pane `old` is now called `new` (its session was restarted), keeping its place and focus.
    pub fn rename(&mut self, old: PaneId, new: PaneId) {
        if let Some(leaf) = find_leaf(&mut self.root, old) {
            *leaf = Node::Leaf(new);
        }
        if self.focus == old {
            self.focus = new;
        }
    }

    fn geometry_unzoomed(&self, area: Rect) -> Geometry {
        let mut g = Geometry::default();
        let (title_row, panes) = self.title_row(area);
        g.title_row = title_row;
        place(&self.root, panes, &mut g);
        g
    }

    /// The title row of a split tab in `area` and the area left for its panes. The row is
    /// only taken while every pane still gets its minimum rows below it: the titles give way
    /// before any pane does.
    fn title_row(&self, area: Rect) -> (Option<Rect>, Rect) {
        let split = matches!(self.root, Node::Split { .. });
        if !split || area.height <= rows_needed(&self.root) {
            return (None, area);
        }
        let row = Rect::new(area.x, area.y, area.width, 1);
        let panes = Rect::new(area.x, area.y + 1, area.width, area.height - 1);
        (Some(row), panes)
    }

    /// The area the tree of splits divides: `area` without the title row.
    fn panes_area(&self, area: Rect) -> Rect {
        self.title_row(area).1
    }
}

/// Rows `node` needs for every pane to show with its minimum rows.
fn rows_needed(node: &Node) -> u16 {
    match node {
        Node::Leaf(_) => MIN_ROWS,
        Node::Split {
            axis: Axis::Rows,
            first,
            second,
            ..
        } => rows_needed(first)
            .saturating_add(1)
            .saturating_add(rows_needed(second)),
        Node::Split { first, second, .. } => rows_needed(first).max(rows_needed(second)),
    }
}

fn leaves(node: &Node, out: &mut Vec<PaneId>) {
    match node {
        Node::Leaf(p) => out.push(*p),
        Node::Split { first, second, .. } => {
            leaves(first, out);
            leaves(second, out);
        }
    }
}

/// Cells along `axis` of `area`.
fn extent(area: Rect, axis: Axis) -> u16 {
    match axis {
        Axis::Columns => area.width,
        Axis::Rows => area.height,
    }
}

/// How many cells of `total` the first part gets: its share of what is left after the border,
/// at least one cell each side. With fewer than 3 cells there is no room for both parts and a
/// border: the first part takes all and the second is hidden.
fn first_cells(total: u16, ratio: f64) -> Option<u16> {
    let avail = total.checked_sub(1)?;
    if avail < 2 {
        return None;
    }
    // Rounded down (the 1e-9 absorbs the error of a ratio set from a cell count): equal
    // shares of n panes come out equal, the remainder going to the last.
    let n = (f64::from(avail) * ratio + 1e-9).floor() as u16;
    Some(n.clamp(1, avail - 1))
}

/// The first part, the border and the second part of `area` split along `axis`.
fn divide(area: Rect, axis: Axis, ratio: f64) -> (Rect, Rect, Rect) {
    let total = extent(area, axis);
    let Some(n) = first_cells(total, ratio) else {
        let empty = match axis {
            Axis::Columns => Rect::new(area.right(), area.y, 0, area.height),
            Axis::Rows => Rect::new(area.x, area.bottom(), area.width, 0),
        };
        return (area, empty, empty);
    };
    match axis {
        Axis::Columns => (
            Rect::new(area.x, area.y, n, area.height),
            Rect::new(area.x + n, area.y, 1, area.height),
            Rect::new(area.x + n + 1, area.y, total - n - 1, area.height),
        ),
        Axis::Rows => (
            Rect::new(area.x, area.y, area.width, n),
            Rect::new(area.x, area.y + n, area.width, 1),
            Rect::new(area.x, area.y + n + 1, area.width, total - n - 1),
        ),
    }
}

fn place(node: &Node, area: Rect, g: &mut Geometry) {
    match node {
        Node::Leaf(p) => g.panes.push((*p, area)),
        Node::Split {
            axis,
            ratio,
            first,
            second,
        } => {
            let (a, border, b) = divide(area, *axis, *ratio);
            if !border.is_empty() {
                g.borders.push(Border {
                    rect: border,
                    axis: *axis,
                });
            }
            place(first, a, g);
            place(second, b, g);
        }
    }
}

/// Whether the border at `at` is in `node`; `path` is then the way to its split.
fn find_border(node: &Node, area: Rect, at: Position, path: &mut Vec<bool>) -> bool {
    let Node::Split {
        axis,
        ratio,
        first,
        second,
    } = node
    else {
        return false;
    };
    let (a, border, b) = divide(area, *axis, *ratio);
    if border.contains(at) {
        return true;
    }
    for (part, area, is_second) in [(first, a, false), (second, b, true)] {
        if area.contains(at) {
            path.push(is_second);
            if find_border(part, area, at, path) {
                return true;
            }
            path.pop();
        }
    }
    false
}

fn find_leaf(node: &mut Node, id: PaneId) -> Option<&mut Node> {
    match node {
        Node::Leaf(p) if *p == id => Some(node),
        Node::Leaf(_) => None,
        Node::Split { first, second, .. } => match find_leaf(first, id) {
            Some(n) => Some(n),
            None => find_leaf(second, id),
        },
    }
}

fn first_leaf(node: &Node) -> PaneId {
    match node {
        Node::Leaf(p) => *p,
        Node::Split { first, .. } => first_leaf(first),
    }
}

fn last_leaf(node: &Node) -> PaneId {
    match node {
        Node::Leaf(p) => *p,
        Node::Split { second, .. } => last_leaf(second),
    }
}

/// Replaces the split holding leaf `id` with its other part; returns the pane of that part
/// nearest to where `id` was.
fn remove_leaf(node: &mut Node, id: PaneId) -> Option<PaneId> {
    let Node::Split { first, second, .. } = node else {
        return None;
    };
    let (keep, heir) = if matches!(**first, Node::Leaf(p) if p == id) {
        (second.as_ref().clone(), first_leaf(second))
    } else if matches!(**second, Node::Leaf(p) if p == id) {
        (first.as_ref().clone(), last_leaf(first))
    } else {
        return remove_leaf(first, id).or_else(|| remove_leaf(second, id));
    };
    *node = keep;
    Some(heir)
}

fn swap_leaves(node: &mut Node, a: PaneId, b: PaneId) {
    match node {
        Node::Leaf(p) if *p == a => *p = b,
        Node::Leaf(p) if *p == b => *p = a,
        Node::Leaf(_) => {}
        Node::Split { first, second, .. } => {
            swap_leaves(first, a, b);
            swap_leaves(second, a, b);
        }
    }
}

enum Found {
    No,
    /// The pane is in this part, and no split along the axis above it has been met yet.
    Pending,
    /// Handled: whether the border moved.
    Done(bool),
}

fn adjust(node: &mut Node, area: Rect, target: PaneId, axis: Axis, delta: i32) -> Found {
    match node {
        Node::Leaf(p) if *p == target => Found::Pending,
        Node::Leaf(_) => Found::No,
        Node::Split {
            axis: a,
            ratio,
            first,
            second,
        } => {
            let (fa, _, sa) = divide(area, *a, *ratio);
            let inner = match adjust(first, fa, target, axis, delta) {
                Found::No => adjust(second, sa, target, axis, delta),
                found => found,
            };
            if !matches!(inner, Found::Pending) || *a != axis {
                return inner;
            }
            let total = extent(area, axis);
            let Some(n) = first_cells(total, *ratio) else {
                return Found::Done(false);
            };
            let avail = i32::from(total) - 1;
            let moved = (i32::from(n) + delta).clamp(1, avail - 1);
            if moved == i32::from(n) {
                return Found::Done(false);
            }
            *ratio = f64::from(moved) / f64::from(avail);
            Found::Done(true)
        }
    }
}

/// `parts` side by side (or stacked) in equal shares.
fn chain(axis: Axis, mut parts: Vec<Node>) -> Node {
    let n = parts.len();
    if n <= 1 {
        return parts.pop().unwrap_or(Node::Leaf(0));
    }
    let rest = parts.split_off(1);
    let first = parts.pop().unwrap_or(Node::Leaf(0));
    Node::Split {
        axis,
        ratio: 1.0 / n as f64,
        first: Box::new(first),
        second: Box::new(chain(axis, rest)),
    }
}

/// A grid as square as can be: as many columns as the square root rounded up, rows of them.
fn tiled(panes: &[PaneId]) -> Node {
    let n = panes.len().max(1);
    let cols = (n as f64).sqrt().ceil() as usize;
    let rows = panes
        .chunks(cols)
        .map(|row| chain(Axis::Columns, row.iter().copied().map(Node::Leaf).collect()))
        .collect();
    chain(Axis::Rows, rows)
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
