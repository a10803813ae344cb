use super::*;

const AREA: Rect = Rect {
    x: 0,
    y: 1,
    width: 80,
    height: 22,
};

/// Three panes in `area`: 1 on the left, 2 above 3 on the right, 3 focused.
fn three_panes(area: Rect) -> Layout {
    let mut l = Layout::new(1);
    l.split(Axis::Columns, 2, area).unwrap();
    l.split(Axis::Rows, 3, area).unwrap();
    l
}

fn rects(l: &Layout, area: Rect) -> Vec<(PaneId, (u16, u16, u16, u16))> {
    l.geometry(area)
        .panes
        .into_iter()
        .map(|(p, r)| (p, (r.x, r.y, r.width, r.height)))
        .collect()
}

#[test]
fn one_pane_fills_the_area() {
    let l = Layout::new(1);
    assert_eq!(rects(&l, AREA), vec![(1, (0, 1, 80, 22))]);
    assert!(l.geometry(AREA).borders.is_empty());
}

#[test]
fn splits_leave_a_one_cell_border_and_focus_the_new_pane() {
    let mut l = Layout::new(1);
    l.split(Axis::Columns, 2, AREA).unwrap();
    assert_eq!(l.focus(), 2);
    // 79 cells after the border, half rounded down: 39 | 40; below the title row.
    assert_eq!(
        rects(&l, AREA),
        vec![(1, (0, 2, 39, 21)), (2, (40, 2, 40, 21))]
    );
    let g = l.geometry(AREA);
    assert_eq!(
        g.borders,
        vec![Border {
            rect: Rect::new(39, 2, 1, 21),
            axis: Axis::Columns
        }]
    );
    l.split(Axis::Rows, 3, AREA).unwrap();
    assert_eq!(l.focus(), 3);
    // 20 rows after the border: 10 above, 10 below.
    assert_eq!(
        rects(&l, AREA),
        vec![
            (1, (0, 2, 39, 21)),
            (2, (40, 2, 40, 10)),
            (3, (40, 13, 40, 10))
        ]
    );
    assert_eq!(l.panes(), vec![1, 2, 3]);
}

#[test]
fn a_pane_too_small_is_not_split() {
    let mut l = Layout::new(1);
    // 5 columns: 2 + border + 2 fits; 4 does not.
    assert!(l.split(Axis::Columns, 2, Rect::new(0, 0, 5, 3)).is_ok());
    let before = l.clone();
    let err = l
        .split(Axis::Columns, 3, Rect::new(0, 0, 5, 3))
        .unwrap_err();
    assert!(err.to_string().contains("too small"), "{err}");
    assert_eq!(l, before);
    // 3 rows: 1 + border + 1.
    let mut l = Layout::new(1);
    assert!(l.split(Axis::Rows, 2, Rect::new(0, 0, 10, 2)).is_err());
    assert!(l.split(Axis::Rows, 2, Rect::new(0, 0, 10, 3)).is_ok());
}

#[test]
fn closing_gives_the_space_and_focus_to_the_neighbour() {
    let mut l = three_panes(AREA);
    // 3 was below 2: 2 takes its space and the focus.
    assert_eq!(l.remove(3), Some(2));
    assert_eq!(
        rects(&l, AREA),
        vec![(1, (0, 2, 39, 21)), (2, (40, 2, 40, 21))]
    );
    // Removing an unfocused pane keeps the focus.
    assert_eq!(l.remove(1), Some(2));
    assert_eq!(rects(&l, AREA), vec![(2, (0, 1, 80, 22))]);
    // The last pane is not removed: the tab closes instead.
    assert_eq!(l.remove(2), None);
    assert_eq!(l.remove(9), None);
}

#[test]
fn closing_the_first_part_focuses_the_nearest_pane_of_the_second() {
    let mut l = three_panes(AREA);
    l.set_focus(1);
    assert_eq!(l.remove(1), Some(2));
}

#[test]
fn neighbours_by_direction() {
    let area = Rect::new(0, 1, 80, 23);
    let mut l = three_panes(area);
    assert_eq!(l.neighbour(Direction::Left, area), Some(1));
    assert_eq!(l.neighbour(Direction::Up, area), Some(2));
    assert_eq!(l.neighbour(Direction::Down, area), None);
    assert_eq!(l.neighbour(Direction::Right, area), None);
    l.set_focus(1);
    // Both 2 and 3 touch 1's right edge; 2 shares 10 rows, 3 shares 11.
    assert_eq!(l.neighbour(Direction::Right, area), Some(3));
}

#[test]
fn cycle_wraps_in_tree_order() {
    let l = three_panes(AREA);
    assert_eq!(l.cycle(1), 1);
    assert_eq!(l.cycle(-1), 2);
}

#[test]
fn resize_moves_the_nearest_border_on_that_axis_by_one_cell() {
    let mut l = three_panes(AREA);
    // From 3 (right, bottom): left moves the vertical border left, 2 and 3 grow.
    assert!(l.resize(Direction::Left, AREA));
    assert_eq!(
        rects(&l, AREA),
        vec![
            (1, (0, 2, 38, 21)),
            (2, (39, 2, 41, 10)),
            (3, (39, 13, 41, 10))
        ]
    );
    // Up moves the horizontal border between 2 and 3 up.
    assert!(l.resize(Direction::Up, AREA));
    assert_eq!(l.geometry(AREA).rect_of(3), Some(Rect::new(39, 12, 41, 11)));
    // A pane of one cell stops the border.
    for _ in 0..100 {
        l.resize(Direction::Up, AREA);
    }
    assert_eq!(l.geometry(AREA).rect_of(2), Some(Rect::new(39, 2, 41, 1)));
    assert!(!l.resize(Direction::Up, AREA));
    // No split along the axis: nothing to move.
    let mut one = Layout::new(1);
    assert!(!one.resize(Direction::Left, AREA));
}

#[test]
fn ratios_follow_a_window_resize() {
    let mut l = Layout::new(1);
    l.split(Axis::Columns, 2, AREA).unwrap();
    let wide = Rect::new(0, 0, 161, 10);
    assert_eq!(l.geometry(wide).rect_of(1), Some(Rect::new(0, 1, 80, 9)));
    assert_eq!(l.geometry(wide).rect_of(2), Some(Rect::new(81, 1, 80, 9)));
}

#[test]
fn a_window_too_small_hides_panes_and_brings_them_back() {
    let mut l = Layout::new(1);
    l.split(Axis::Columns, 2, AREA).unwrap();
    l.split(Axis::Columns, 3, AREA).unwrap();
    for w in 0..6 {
        let g = l.geometry(Rect::new(0, 0, w, 1));
        // Nothing outside the area, nothing overlapping.
        let mut used = 0;
        for (_, r) in g.visible() {
            assert!(r.right() <= w, "{w}: {r:?}");
            used += r.width;
        }
        used += g.borders.iter().map(|b| b.rect.width).sum::<u16>();
        assert!(used <= w, "{w}: {used}");
    }
    let g = l.geometry(Rect::new(0, 0, 2, 1));
    assert_eq!(g.visible().count(), 1);
    assert_eq!(l.geometry(AREA).visible().count(), 3);
}

#[test]
fn zoom_gives_the_focused_pane_the_area_and_hides_the_rest() {
    let mut l = Layout::new(1);
    assert!(!l.toggle_zoom());
    l.split(Axis::Columns, 2, AREA).unwrap();
    assert!(l.toggle_zoom());
    let g = l.geometry(AREA);
    assert_eq!(g.visible().collect::<Vec<_>>(), vec![(2, AREA)]);
    assert!(g.borders.is_empty());
    // The hidden pane keeps its size.
    assert_eq!(g.rect_of(1), Some(Rect::new(0, 2, 39, 21)));
    // No title row either: the zoomed pane has the whole area.
    assert_eq!(g.title_row, None);
    // Focusing another pane leaves zoom.
    l.set_focus(1);
    assert!(!l.is_zoomed());
    assert!(l.toggle_zoom());
    assert!(l.toggle_zoom());
    assert!(!l.is_zoomed());
}

#[test]
fn swap_moves_the_focused_pane_and_keeps_its_focus() {
    let mut l = Layout::new(1);
    l.split(Axis::Columns, 2, AREA).unwrap();
    assert!(l.swap(-1));
    assert_eq!(l.panes(), vec![2, 1]);
    assert_eq!(l.focus(), 2);
    assert_eq!(l.geometry(AREA).rect_of(2), Some(Rect::new(0, 2, 39, 21)));
    let mut one = Layout::new(1);
    assert!(!one.swap(1));
}

#[test]
fn even_layouts_share_the_area_equally() {
    let mut l = three_panes(AREA);
    l.split(Axis::Rows, 4, AREA).unwrap();
    // 44 rows: the title row and 43 for the panes.
    let area = Rect::new(0, 0, 83, 44);
    assert_eq!(l.cycle_even(), Even::Horizontal);
    let sizes = |l: &Layout| -> Vec<(u16, u16)> {
        let g = l.geometry(area);
        g.panes.iter().map(|(_, r)| (r.width, r.height)).collect()
    };
    // 83 columns, 3 borders: 80 in 4 of 20; the 43 rows each.
    assert_eq!(sizes(&l), vec![(20, 43); 4]);
    assert_eq!(l.cycle_even(), Even::Vertical);
    // 43 rows, 3 borders: 40 in 4 of 10; the 83 columns each.
    assert_eq!(sizes(&l), vec![(83, 10); 4]);
    assert_eq!(l.cycle_even(), Even::Tiled);
    let g = l.geometry(area);
    assert_eq!(g.rect_of(1), Some(Rect::new(0, 1, 41, 21)));
    assert_eq!(g.rect_of(4), Some(Rect::new(42, 23, 41, 21)));
    assert_eq!(l.panes(), vec![1, 2, 3, 4]);
    assert_eq!(l.cycle_even(), Even::Horizontal);
}

#[test]
fn a_border_is_found_and_dragged() {
    let mut l = three_panes(AREA);
    // The vertical border at column 39; the horizontal one at row 12 in the right part;
    // the title row (row 1) is no border to drag.
    let v = l.border_at(AREA, 39, 5).unwrap();
    assert_eq!(v, Vec::<bool>::new());
    let h = l.border_at(AREA, 60, 12).unwrap();
    assert_eq!(h, vec![true]);
    assert_eq!(l.border_at(AREA, 10, 5), None);
    assert_eq!(l.border_at(AREA, 10, 1), None);
    assert!(l.drag_border(AREA, &v, 30, 5));
    assert_eq!(l.geometry(AREA).rect_of(1), Some(Rect::new(0, 2, 30, 21)));
    // The right part's border, dragged within the right part (rows 2..23).
    let h = l.border_at(AREA, 60, 12).unwrap();
    assert!(l.drag_border(AREA, &h, 60, 5));
    assert_eq!(l.geometry(AREA).rect_of(2), Some(Rect::new(31, 2, 49, 3)));
    // Past the edge: each side keeps a cell.
    assert!(l.drag_border(AREA, &v, 0, 5));
    assert_eq!(l.geometry(AREA).rect_of(1), Some(Rect::new(0, 2, 1, 21)));
    assert!(!l.drag_border(AREA, &v, 0, 5));
    // Zoomed: no borders to drag.
    l.toggle_zoom();
    assert_eq!(l.border_at(AREA, 1, 5), None);
}

#[test]
fn a_split_tab_gives_its_top_row_to_titles_while_every_pane_keeps_a_row() {
    let mut l = Layout::new(1);
    assert_eq!(l.geometry(AREA).title_row, None, "one pane: no title row");
    l.split(Axis::Rows, 2, AREA).unwrap();
    assert_eq!(l.geometry(AREA).title_row, Some(Rect::new(0, 1, 80, 1)));
    // Every pane has a line right above it: the title row or a border.
    let g = l.geometry(AREA);
    let lines: Vec<Rect> = g.borders.iter().map(|b| b.rect).collect();
    for (_, r) in g.visible() {
        let above = Rect::new(r.x, r.y - 1, r.width, 1);
        assert!(
            lines
                .iter()
                .chain(&g.title_row)
                .any(|b| b.contains(above.as_position()) && b.right() >= above.right()),
            "{r:?}"
        );
    }
    // 3 rows hold 1 + border + 1 and no title row: the titles give way, not a pane.
    let small = Rect::new(0, 0, 10, 3);
    let g = l.geometry(small);
    assert_eq!(g.title_row, None);
    assert_eq!(g.visible().count(), 2);
    assert_eq!(
        l.geometry(Rect::new(0, 0, 10, 4)).title_row,
        Some(Rect::new(0, 0, 10, 1))
    );
}
