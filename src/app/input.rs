//! Keys, mouse and paste: what each does in each mode.

use super::*;

impl App {
    pub(super) fn handle_input(&mut self, ev: Event) {
        match ev {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.handle_key(key),
            Event::Key(_) => {}
            Event::Paste(text) => self.handle_paste(&text),
            Event::Mouse(m) => self.handle_mouse(m),
            Event::FocusGained | Event::FocusLost => {
                let gained = matches!(ev, Event::FocusGained);
                if let Some(tab) = self.state.focused() {
                    let modes = self.input_modes(tab);
                    let mut out = Vec::new();
                    if keys::encode_focus(gained, &modes, &mut out) {
                        self.send_focused(out);
                    }
                }
            }
            // The frame is sized from the terminal itself at draw time.
            Event::Resize(..) => {
                self.resized = true;
                self.redraw_now();
            }
        }
    }

    pub(super) fn input_modes(&self, tab: &Tab) -> InputModes {
        let mut term = tab.session().shared.lock_term();
        let focus = term.events().focus_reporting;
        InputModes::from_screen(term.screen(), focus)
    }

    pub(super) fn send_focused(&mut self, bytes: Vec<u8>) {
        let Some(tab) = self.state.focused() else {
            return;
        };
        if let Err(err) = tab.session().send(bytes) {
            let n = self.state.view.focus + 1;
            self.state.warn(format!("tab {n}: input not sent: {err}"));
            self.redraw_now();
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) {
        let chord = Chord::from_event(&key);
        if self.state.view.message.take().is_some() {
            self.redraw_now();
        }
        match std::mem::take(&mut self.state.view.mode) {
            Mode::Normal => self.key_normal(key, chord),
            Mode::Prefix => {
                self.redraw_now();
                match chord.and_then(|c| self.config.keymap.lookup(true, c)) {
                    Some(action) => self.run_action(action),
                    None if key.code == KeyCode::Esc => {}
                    None => {
                        let k = chord
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "that key".into());
                        self.state.warn(format!(
                            "{} {k} is not bound ({} ? lists the keys)",
                            self.config.keymap.prefix, self.config.keymap.prefix
                        ));
                    }
                }
            }
            Mode::Rename(mut input) => {
                self.redraw_now();
                match key.code {
                    KeyCode::Enter => {
                        let name = input.text.trim().to_string();
                        if let Some(tab) = self.state.focused_mut() {
                            tab.name = (!name.is_empty()).then_some(name);
                        }
                        return;
                    }
                    KeyCode::Esc => return,
                    _ => edit_line(&mut input, &key),
                }
                self.state.view.mode = Mode::Rename(input);
            }
            Mode::Command(mut input) => {
                self.redraw_now();
                match key.code {
                    KeyCode::Enter => {
                        let line = input.text.clone();
                        self.run_command(&line);
                        return;
                    }
                    KeyCode::Esc => return,
                    KeyCode::Tab => {
                        let (completed, note) = complete_command(&input.text);
                        input = LineInput::with_text(&completed);
                        if let Some(n) = note {
                            self.state.say(n);
                        }
                    }
                    _ => edit_line(&mut input, &key),
                }
                self.state.view.mode = Mode::Command(input);
            }
            Mode::Confirm(what) => {
                self.redraw_now();
                match key.code {
                    KeyCode::Char('y' | 'Y') => self.confirmed(what),
                    KeyCode::Char('n' | 'N') | KeyCode::Esc => {}
                    _ => self.state.view.mode = Mode::Confirm(what),
                }
            }
            Mode::Scroll(mut view) => {
                self.redraw_now();
                if self.key_scroll(&mut view, &key) {
                    self.state.view.mode = Mode::Scroll(view);
                }
            }
            Mode::Help(scroll) => {
                self.redraw_now();
                let max = ui::help::max_scroll(&self.config.keymap, self.body.height);
                if let Some(scroll) = overlay_scroll(&key, scroll, max, self.body.height) {
                    self.state.view.mode = Mode::Help(scroll);
                }
            }
            Mode::Sessions { list, selected } => {
                self.redraw_now();
                match ui::sessions::key(&key, selected, list.len()) {
                    ui::sessions::Pick::Select(selected) => {
                        self.state.view.mode = Mode::Sessions { list, selected }
                    }
                    ui::sessions::Pick::Choose(i) => self.switch_session(&list[i]),
                    ui::sessions::Pick::Cancel => {}
                }
            }
            Mode::Messages(back) => {
                self.redraw_now();
                // Scrolled up from the newest line: the keys' directions are reversed.
                let (w, h) = (self.body.width + self.panel_width(), self.body.height + 2);
                let max = ui::messages::max_scroll(&self.state.view.log, w, h);
                let up = max.saturating_sub(back);
                if let Some(up) = overlay_scroll(&key, up, max, self.body.height) {
                    self.state.view.mode = Mode::Messages(max.saturating_sub(up));
                }
            }
        }
    }

    pub(super) fn key_normal(&mut self, key: KeyEvent, chord: Option<Chord>) {
        if chord == Some(self.config.keymap.prefix) {
            self.state.view.mode = Mode::Prefix;
            self.redraw_now();
            return;
        }
        if let Some(action) = chord.and_then(|c| self.config.keymap.lookup(false, c)) {
            self.run_action(action);
            return;
        }
        let Some(tab) = self.state.focused() else {
            return;
        };
        if !tab.session().is_running() {
            // The program has ended: keys have nowhere to go, except `r` to start it again and
            // `x` to close the tab (the pane's note says so).
            if chord == Some(Chord::plain('r')) {
                self.restart_focused();
            } else if chord == Some(Chord::plain('x')) {
                self.close_focused();
            }
            return;
        }
        let modes = self.input_modes(tab);
        let mut out = Vec::new();
        if keys::encode_key(&key, &modes, &mut out) {
            self.send_focused(out);
            self.schedule_title_check();
        }
    }

    pub(super) fn handle_paste(&mut self, text: &str) {
        match &mut self.state.view.mode {
            Mode::Rename(input) => {
                for c in text.chars().take_while(|c| *c != '\n' && *c != '\r') {
                    input.insert(c);
                }
                self.redraw_now();
            }
            Mode::Normal => {
                let Some(tab) = self.state.focused() else {
                    return;
                };
                let modes = self.input_modes(tab);
                let mut out = Vec::with_capacity(text.len() + 12);
                keys::encode_paste(text, &modes, &mut out);
                self.send_focused(out);
            }
            _ => {}
        }
    }

    pub(super) fn handle_mouse(&mut self, m: MouseEvent) {
        let pos = Position::new(m.column, m.row);
        if let Some(bar) = self.tab_bar.filter(|b| b.contains(pos)) {
            if let MouseEventKind::Down(MouseButton::Left) = m.kind {
                if let Some(i) = ui::tabs::tab_at(&self.state, &self.config, bar, m.column) {
                    self.focus(i);
                }
            }
            return;
        }
        let wheel: i64 = match m.kind {
            MouseEventKind::ScrollUp => -3,
            MouseEventKind::ScrollDown => 3,
            _ => 0,
        };
        if matches!(self.state.view.mode, Mode::Normal) && self.drag_border(&m) {
            return;
        }
        // A press on another pane of the tab focuses it first (then goes to it as usual).
        if matches!(self.state.view.mode, Mode::Normal)
            && matches!(m.kind, MouseEventKind::Down(_))
            && self.click_focus(m.column, m.row)
        {
            self.redraw_now();
        }
        let pane = self.pane;
        // The pointer's pane cell, clamped to the pane as xterm clamps drags to the window.
        let cell = (
            m.column
                .saturating_sub(pane.x)
                .min(pane.width.saturating_sub(1)),
            m.row
                .saturating_sub(pane.y)
                .min(pane.height.saturating_sub(1)),
        );
        if let Mode::Scroll(view) = &mut self.state.view.mode {
            if let Some(copy) = scroll_drag(view, &m, cell, pane.contains(pos)) {
                let text = self.state.tabs.get(self.state.view.focus).and_then(|tab| {
                    let term = tab.session().shared.lock_term();
                    copy.then(|| view.selected_text(&term)).flatten()
                });
                if let Some(text) = text.filter(|t| !t.is_empty()) {
                    // Copied on release, leaving the view, as tmux does with the mouse on.
                    self.state.view.mode = Mode::Normal;
                    self.copy(text);
                }
                self.redraw_now();
                return;
            }
            if wheel != 0 {
                if let Some(tab) = self.state.tabs.get(self.state.view.focus) {
                    let term = tab.session().shared.lock_term();
                    view.scroll(&term, self.pane.height, wheel);
                    // Wheeling back to the bottom leaves the view, as in tmux.
                    if wheel > 0 && view.at_bottom(&term, self.pane.height) {
                        drop(term);
                        self.state.view.mode = Mode::Normal;
                    }
                }
                self.redraw_now();
            }
            return;
        }
        if !matches!(self.state.view.mode, Mode::Normal) {
            return;
        }
        let Some(tab) = self.state.focused() else {
            return;
        };
        let (col, row) = cell;
        let inside = pane.contains(pos);
        let modes = self.input_modes(tab);
        let mut out = Vec::new();
        let dragging = matches!(m.kind, MouseEventKind::Drag(_) | MouseEventKind::Up(_));
        if (inside || dragging) && keys::encode_mouse(&m, col, row, &modes, &mut out) {
            self.send_focused(out);
            return;
        }
        let alternate = tab.session().shared.lock_term().screen().alternate_screen();
        if self.mouse_select(&m, cell, inside) {
            return;
        }
        if inside && wheel != 0 {
            if alternate {
                // A full-screen program that takes no mouse (less, man): the wheel moves it by
                // arrow keys, as xterm's alternateScroll does.
                let code = if wheel < 0 {
                    KeyCode::Up
                } else {
                    KeyCode::Down
                };
                let mut out = Vec::new();
                for _ in 0..wheel.abs() {
                    keys::encode_key(&KeyEvent::new(code, KeyModifiers::NONE), &modes, &mut out);
                }
                self.send_focused(out);
            } else if wheel < 0 {
                self.enter_scroll(wheel);
            }
        }
    }

    /// A left-button press and drag in a pane whose program does not take the mouse: the
    /// drag opens the scroll view with a selection from the press to the pointer. True when
    /// the event was used.
    fn mouse_select(&mut self, m: &MouseEvent, cell: (u16, u16), inside: bool) -> bool {
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) if inside => {
                self.state.view.press = Some(cell);
                true
            }
            MouseEventKind::Drag(MouseButton::Left) => {
                let Some(from) = self.state.view.press.take() else {
                    return false;
                };
                self.enter_scroll(0);
                if let Mode::Scroll(view) = &mut self.state.view.mode {
                    let at = |(c, r): (u16, u16)| crate::state::copy_mode::Point {
                        row: view.top + u64::from(r),
                        col: c,
                    };
                    view.anchor = Some(at(from));
                    view.cursor = at(cell);
                    view.shape = crate::state::copy_mode::Shape::Chars;
                }
                self.redraw_now();
                true
            }
            MouseEventKind::Up(MouseButton::Left) => self.state.view.press.take().is_some(),
            _ => false,
        }
    }

    /// One key in the scroll view; false when the view closes.
    pub(super) fn key_scroll(
        &mut self,
        view: &mut crate::state::copy_mode::ScrollView,
        key: &KeyEvent,
    ) -> bool {
        let h = self.pane.height.max(1);
        let Some(tab) = self.state.focused() else {
            return false;
        };
        let shared = std::sync::Arc::clone(&tab.session().shared);
        let term = shared.lock_term();
        view.note = None;
        if let Some((backward, mut input)) = view.prompt.take() {
            match key.code {
                KeyCode::Enter => {
                    if !input.text.is_empty() {
                        view.search = Some(crate::state::copy_mode::Search {
                            query: input.text,
                            backward,
                        });
                        view.found = None;
                        view.search_next(&term, h, false);
                    }
                }
                KeyCode::Esc => {}
                _ => {
                    edit_line(&mut input, key);
                    view.prompt = Some((backward, input));
                }
            }
            return true;
        }
        if let Some(jump) = view.jump.take() {
            // The character after `f t F T`; anything else cancels the jump.
            if let KeyCode::Char(c) = key.code {
                view.jump_to(&term, jump, c);
            }
            return true;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let half = i64::from((h / 2).max(1));
        let page = i64::from(h);
        use crate::state::copy_mode::{Jump, Shape, WordMotion};
        match key.code {
            KeyCode::Char('q') => return false,
            KeyCode::Esc if view.anchor.is_some() => view.anchor = None,
            KeyCode::Esc => return false,
            KeyCode::Char('u') if ctrl => view.scroll(&term, h, -half),
            KeyCode::Char('d') if ctrl => view.scroll(&term, h, half),
            KeyCode::Char('b') if ctrl => view.scroll(&term, h, -page),
            KeyCode::Char('f') if ctrl => view.scroll(&term, h, page),
            KeyCode::Char('y') if ctrl => view.scroll(&term, h, -1),
            KeyCode::Char('e') if ctrl => view.scroll(&term, h, 1),
            KeyCode::Up | KeyCode::Char('k') => view.move_rows(&term, h, -1),
            KeyCode::Down | KeyCode::Char('j') => view.move_rows(&term, h, 1),
            KeyCode::Left | KeyCode::Char('h') => view.move_cols(&term, -1),
            KeyCode::Right | KeyCode::Char('l') => view.move_cols(&term, 1),
            KeyCode::PageUp => view.scroll(&term, h, -page),
            KeyCode::PageDown => view.scroll(&term, h, page),
            KeyCode::Home | KeyCode::Char('g') => view.to_top(&term, h),
            KeyCode::End | KeyCode::Char('G') => view.to_bottom(&term, h),
            KeyCode::Char('0' | '^') => view.line_start(),
            KeyCode::Char('$') => view.line_end(&term),
            KeyCode::Char('/') => view.prompt = Some((false, LineInput::default())),
            KeyCode::Char('?') => view.prompt = Some((true, LineInput::default())),
            KeyCode::Char('n') => view.search_next(&term, h, false),
            KeyCode::Char('N') => view.search_next(&term, h, true),
            KeyCode::Char('v') if ctrl => view.toggle_rect(),
            KeyCode::Char('r') => view.toggle_rect(),
            KeyCode::Char('v' | ' ') => view.select(Shape::Chars),
            KeyCode::Char('V') => view.select(Shape::Lines),
            KeyCode::Char('w') => view.word(&term, h, WordMotion::NextStart),
            KeyCode::Char('b') => view.word(&term, h, WordMotion::PrevStart),
            KeyCode::Char('e') => view.word(&term, h, WordMotion::End),
            KeyCode::Char('f') => view.jump = Some(Jump::To),
            KeyCode::Char('t') => view.jump = Some(Jump::Till),
            KeyCode::Char('F') => view.jump = Some(Jump::BackTo),
            KeyCode::Char('T') => view.jump = Some(Jump::BackTill),
            KeyCode::Char(';') => view.repeat_jump(&term, false),
            KeyCode::Char(',') => view.repeat_jump(&term, true),
            KeyCode::Char('y') | KeyCode::Enter => {
                let Some(text) = view.selected_text(&term) else {
                    view.note = Some("nothing selected: v starts a selection".to_string());
                    return true;
                };
                drop(term);
                self.copy(text);
                return false;
            }
            _ => {}
        }
        true
    }
}

/// The left button in the scroll view: a press puts the cursor there and ends any selection,
/// a drag selects from the press, a release ends the drag. `Some(true)`: copy the selection
/// now; `Some(false)`: used; `None`: not a left-button event.
fn scroll_drag(
    view: &mut crate::state::copy_mode::ScrollView,
    m: &MouseEvent,
    (col, row): (u16, u16),
    inside: bool,
) -> Option<bool> {
    let at = crate::state::copy_mode::Point {
        row: view.top + u64::from(row),
        col,
    };
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) if inside => {
            view.cursor = at;
            view.anchor = None;
            view.shape = crate::state::copy_mode::Shape::Chars;
            Some(false)
        }
        MouseEventKind::Drag(MouseButton::Left) => {
            if view.anchor.is_none() {
                view.anchor = Some(view.cursor);
            }
            view.cursor = at;
            Some(false)
        }
        MouseEventKind::Up(MouseButton::Left) => Some(view.anchor.is_some()),
        _ => None,
    }
}

/// Completes an action name at the `:` prompt: the longest common prefix of the names that
/// match, and, when several do, a note listing them.
pub fn complete_command(text: &str) -> (String, Option<String>) {
    if text.contains(char::is_whitespace) {
        return (text.to_string(), None);
    }
    let mut names: Vec<String> = Action::all().iter().map(|a| a.name()).collect();
    names.push("select-tab".to_string());
    names.push("move-tab".to_string());
    names.sort();
    names.dedup();
    let matches: Vec<&String> = names.iter().filter(|n| n.starts_with(text)).collect();
    match matches.as_slice() {
        [] => (
            text.to_string(),
            Some(format!("no action starts with `{text}`")),
        ),
        [one] => (format!("{one} "), None),
        many => {
            let first = many[0].as_str();
            let common = many.iter().fold(first.len(), |len, n| {
                first
                    .chars()
                    .zip(n.chars())
                    .take_while(|(a, b)| a == b)
                    .count()
                    .min(len)
            });
            let shown: Vec<&str> = many.iter().take(8).map(|s| s.as_str()).collect();
            let more = if many.len() > 8 { " …" } else { "" };
            (
                first[..common].to_string(),
                Some(format!("{}{more}", shown.join("  "))),
            )
        }
    }
}
/// A key in a scrolling overlay (help, messages): the new scroll, `None` when it closes.
fn overlay_scroll(key: &KeyEvent, scroll: u16, max: u16, height: u16) -> Option<u16> {
    let page = height.saturating_sub(2).max(1);
    Some(match key.code {
        KeyCode::Esc | KeyCode::Char('q' | '?' | '~') | KeyCode::Enter => return None,
        KeyCode::Down | KeyCode::Char('j') => scroll.saturating_add(1).min(max),
        KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
        KeyCode::PageDown | KeyCode::Char(' ') => scroll.saturating_add(page).min(max),
        KeyCode::PageUp => scroll.saturating_sub(page),
        KeyCode::Home | KeyCode::Char('g') => 0,
        KeyCode::End | KeyCode::Char('G') => max,
        _ => scroll,
    })
}

/// Editing keys shared by the single-line prompts.
pub fn edit_line(input: &mut LineInput, key: &KeyEvent) {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char('u') if ctrl => input.clear(),
        KeyCode::Char('a') if ctrl => input.home(),
        KeyCode::Char('e') if ctrl => input.end(),
        KeyCode::Char(c) if !ctrl => input.insert(c),
        KeyCode::Backspace => input.backspace(),
        KeyCode::Delete => input.delete(),
        KeyCode::Left => input.left(),
        KeyCode::Right => input.right(),
        KeyCode::Home => input.home(),
        KeyCode::End => input.end(),
        _ => {}
    }
}
/// The key event a chord stands for (to send the prefix itself to a program).
pub(super) fn chord_to_key(c: Chord) -> Option<KeyEvent> {
    use crate::input::keymap::ChordKey as K;
    let code = match c.code {
        K::Char(ch) => KeyCode::Char(ch),
        K::F(n) => KeyCode::F(n),
        K::Enter => KeyCode::Enter,
        K::Tab if c.shift => KeyCode::BackTab,
        K::Tab => KeyCode::Tab,
        K::Backspace => KeyCode::Backspace,
        K::Esc => KeyCode::Esc,
        K::Up => KeyCode::Up,
        K::Down => KeyCode::Down,
        K::Left => KeyCode::Left,
        K::Right => KeyCode::Right,
        K::Home => KeyCode::Home,
        K::End => KeyCode::End,
        K::PageUp => KeyCode::PageUp,
        K::PageDown => KeyCode::PageDown,
        K::Insert => KeyCode::Insert,
        K::Delete => KeyCode::Delete,
    };
    let mut m = KeyModifiers::empty();
    if c.ctrl {
        m |= KeyModifiers::CONTROL;
    }
    if c.alt {
        m |= KeyModifiers::ALT;
    }
    if c.shift {
        m |= KeyModifiers::SHIFT;
    }
    Some(KeyEvent::new(code, m))
}
