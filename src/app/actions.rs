//! Actions: what the bindings, the prompts and the command line ask for.

use super::*;
use crate::state::layout::{Axis, Direction};

impl App {
    pub(super) fn focus(&mut self, index: usize) {
        if index < self.state.tabs.len() && index != self.state.view.focus {
            self.state.set_focus(index);
            // Its output while hidden was not drawn: draw it now.
            if let Some(t) = self.state.focused() {
                for p in &t.panes {
                    p.session.shared.take_output();
                }
            }
            self.redraw_now();
        }
    }

    /// Does what an action asks.
    pub fn run_action(&mut self, action: Action) {
        self.redraw_now();
        let n = self.state.tabs.len();
        match action {
            Action::NewTab => {
                let cwd = self.state.focused().and_then(|t| t.session().cwd());
                self.open_tab(None, cwd);
            }
            Action::NextTab if n > 0 => self.focus((self.state.view.focus + 1) % n),
            Action::PrevTab if n > 0 => self.focus((self.state.view.focus + n - 1) % n),
            Action::LastTab => match self
                .state
                .view
                .last_focus
                .and_then(|id| self.state.index_of(id))
            {
                Some(i) => self.focus(i),
                None => self.state.say("no previous tab"),
            },
            Action::SelectTab(k) => self.select_tab(usize::from(k)),
            Action::GotoTab => {
                self.state.view.mode = Mode::Command(LineInput::with_text("select-tab "));
            }
            Action::MoveTabLeft if n > 0 => self.move_tab((self.state.view.focus + n - 1) % n),
            Action::MoveTabRight if n > 0 => self.move_tab((self.state.view.focus + 1) % n),
            Action::MoveTabLeft | Action::MoveTabRight => {}
            Action::RenameTab => {
                let current = self
                    .state
                    .focused()
                    .and_then(|t| t.name.clone())
                    .unwrap_or_default();
                self.state.view.mode = Mode::Rename(LineInput::with_text(&current));
            }
            Action::CloseTab => self.close_focused(),
            Action::RestartTab => {
                let Some(tab) = self.state.focused() else {
                    return;
                };
                if tab.session().is_running() {
                    self.state.view.mode = Mode::Confirm(Confirm::RestartTab(tab.id));
                } else {
                    self.restart_focused();
                }
            }
            Action::Quit => self.state.view.mode = Mode::Confirm(Confirm::Quit),
            Action::Help => self.state.view.mode = Mode::Help(0),
            Action::ShowMessages => self.state.view.mode = Mode::Messages(0),
            Action::SendPrefix => {
                let p = self.config.keymap.prefix;
                if let (Some(tab), Some(key)) = (self.state.focused(), chord_to_key(p)) {
                    let modes = self.input_modes(tab);
                    let mut out = Vec::new();
                    if keys::encode_key(&key, &modes, &mut out) {
                        self.send_focused(out);
                    }
                }
            }
            Action::NextTab | Action::PrevTab => {}
            Action::ScrollMode => self.enter_scroll(0),
            Action::ScrollPageUp => self.enter_scroll(-i64::from(self.pane.height.max(1))),
            Action::PasteBuffer => match self.paste_buffer.clone() {
                Some(text) => {
                    self.handle_paste(&text);
                }
                None => self
                    .state
                    .say("the paste buffer is empty: copy with y in the scroll view"),
            },
            Action::ClearHistory => {
                if let Some(tab) = self.state.focused() {
                    let account = tab.session().enter();
                    let shared = &tab.session().shared;
                    let mut term = shared.lock_term();
                    term.clear_history();
                    shared.note_history(&term);
                    drop(term);
                    drop(account);
                    self.state.say("history cleared");
                }
            }
            Action::ToggleMemoryPanel => {
                let width = self.body.width + self.panel_width();
                let shown = ui::panel_visible(width, &self.state, &self.config)
                    && ui::panel_fits(width, self.config.panel_width);
                self.state.view.panel_override = Some(!shown);
                if !shown && !ui::panel_fits(width, self.config.panel_width) {
                    // Turned on, but it cannot show: say why rather than do nothing visible.
                    self.state.warn(format!(
                        "panel needs {} columns, has {width}",
                        ui::panel_needs(self.config.panel_width)
                    ));
                }
            }
            Action::ExportMemory => self.export_memory(),
            Action::CommandPrompt => self.state.view.mode = Mode::Command(LineInput::default()),
            Action::ReloadConfig => self.reload_config(),
            Action::SetMemoryLimit => {
                self.state.view.mode = Mode::Command(LineInput::with_text("set-memory-limit "));
            }
            Action::FreezeTab => self.freeze_focused(true),
            Action::ThawTab => self.freeze_focused(false),
            Action::ToggleMemoryDetail => {
                self.state.view.mem_detail = !self.state.view.mem_detail;
                self.state.panel_seq += 1;
            }
            Action::Detach if !crate::server::child::detach(self.view_id) => self.state.warn(
                "nothing to detach from: memmux runs without a server here (MEMMUX_NO_SERVER)",
            ),
            Action::SuspendClient if !crate::server::child::suspend(self.view_id) => self
                .state
                .warn("no client to suspend: memmux runs without a server here (MEMMUX_NO_SERVER)"),
            Action::Detach | Action::SuspendClient => {}
            Action::SplitRight => self.split_pane(Axis::Columns),
            Action::SplitDown => self.split_pane(Axis::Rows),
            Action::FocusPaneLeft => self.focus_direction(Direction::Left),
            Action::FocusPaneRight => self.focus_direction(Direction::Right),
            Action::FocusPaneUp => self.focus_direction(Direction::Up),
            Action::FocusPaneDown => self.focus_direction(Direction::Down),
            Action::NextPane => self.cycle_pane(1),
            Action::ZoomPane => self.toggle_zoom(),
            Action::ResizePaneLeft => self.resize_pane(Direction::Left),
            Action::ResizePaneRight => self.resize_pane(Direction::Right),
            Action::ResizePaneUp => self.resize_pane(Direction::Up),
            Action::ResizePaneDown => self.resize_pane(Direction::Down),
            Action::EvenLayout => self.even_layout(),
            Action::SwapPanePrev => self.swap_pane(-1),
            Action::SwapPaneNext => self.swap_pane(1),
            Action::ChooseSession => match crate::server::child::sessions() {
                Ok(list) => {
                    let selected = list.iter().position(|s| s.current).unwrap_or(0);
                    self.state.view.mode = Mode::Sessions { list, selected };
                }
                Err(e) => self.state.warn(e),
            },
            Action::RenameSession => match crate::server::child::sessions() {
                Ok(list) => {
                    let name = list
                        .iter()
                        .find(|s| s.current)
                        .map_or("", |s| s.name.as_str());
                    self.state.view.mode =
                        Mode::Command(LineInput::with_text(&format!("rename-session {name}")));
                }
                Err(e) => self.state.warn(e),
            },
        }
    }

    /// Switches the client that chose (`C-b s`) to `to`; staying here closes the chooser.
    pub(super) fn switch_session(&mut self, to: &crate::server::protocol::SessionInfo) {
        if to.current {
            return;
        }
        if let Err(e) = crate::server::child::switch_to(self.view_id, &to.name) {
            self.state
                .warn(format!("cannot switch to session {}: {e}", to.name));
        }
    }

    /// `rename-session NAME`: the server refuses a name in use or not allowed, and says why.
    fn rename_session(&mut self, name: &str) {
        match crate::server::child::rename(name) {
            Ok(done) => self.state.say(done),
            Err(e) => self.state.warn(format!("rename-session: {e}")),
        }
    }

    /// Reads the config file again; a broken file leaves the running config as it is.
    pub(super) fn reload_config(&mut self) {
        let Some(source) = self.config_source.clone() else {
            self.state
                .say("no config file to reload (no home directory)");
            return;
        };
        match crate::config::load(&source) {
            Ok(loaded) => {
                self.apply_config(loaded.config);
                match loaded.file {
                    Some(path) => self
                        .state
                        .say(format!("config reloaded from {}", path.display())),
                    None => self.state.say("no config file: defaults in use"),
                }
            }
            Err(err) => self
                .state
                .warn(format!("config not reloaded: {}", err.summary())),
        }
    }

    /// Puts a new configuration into effect for every tab.
    pub fn apply_config(&mut self, config: Config) {
        let limits =
            crate::term::scrollback::Limits::new(config.scrollback_lines, config.scrollback_bytes);
        self.ctx.limits = limits;
        self.ctx.osc52_max = config.osc52_copy.then_some(config.osc52_max_bytes);
        self.ctx.budget.set_limit(config.memory_budget);
        for pane in self.state.tabs.iter().flat_map(|t| &t.panes) {
            let _account = pane.session.enter();
            let shared = &pane.session.shared;
            let mut term = shared.lock_term();
            term.history_mut().set_limits(limits);
            term.parser.callbacks_mut().osc52_max = self.ctx.osc52_max;
            shared.note_history(&term);
        }
        self.ctx.registry.enforce_budget();
        if let Some(s) = &self.sampler {
            s.set_interval(config.sample_interval);
        }
        // Cursor shape and mouse mode are resent with the next frame.
        self.cursor_style = None;
        self.config = config;
        self.keymap = Arc::new(self.config.keymap.clone());
        self.state.panel_seq += 1;
        self.redraw_now();
    }

    /// The `:` prompt: an action name and its argument, as the config file's `[keys]` names
    /// them (`new-tab`, `rename-tab build`, `select-tab-3`).
    pub(super) fn run_command(&mut self, line: &str) {
        let mut words = line.split_whitespace();
        let Some(name) = words.next() else { return };
        let rest: Vec<&str> = words.collect();
        match name.parse::<Action>() {
            Ok(Action::RenameTab) if !rest.is_empty() => {
                let name = rest.join(" ");
                if let Some(tab) = self.state.focused_mut() {
                    tab.name = Some(name);
                }
                self.redraw_now();
            }
            // `select-tab NAME`: a tab by (part of) its name, for when there are too many to
            // know their numbers.
            Err(_)
                if name == "select-tab"
                    && rest.first().is_some_and(|w| w.parse::<usize>().is_err()) =>
            {
                self.select_tab_named(&rest.join(" "));
            }
            Err(_) if name == "select-tab" || name == "move-tab" => {
                let n = self.state.tabs.len();
                match tab_number(&rest, n) {
                    Ok(k) if name == "select-tab" => self.select_tab(k),
                    Ok(k) => self.move_tab(k - 1),
                    Err(why) => self.state.warn(format!("{name}: {why}")),
                }
            }
            // `-p`: the focused pane's own limit, inside its tab's.
            Ok(Action::SetMemoryLimit) if rest.len() > usize::from(rest.first() == Some(&"-p")) => {
                let pane = rest.first() == Some(&"-p");
                match crate::config::parse_limit(&rest[usize::from(pane)..].join(" ")) {
                    Ok(limit) => self.ask_memory_limit(limit, pane),
                    Err(e) => self.state.warn(format!("set-memory-limit: {e}")),
                }
            }
            Ok(Action::RenameSession) if !rest.is_empty() => self.rename_session(&rest.join(" ")),
            Ok(Action::RenameSession) => self
                .state
                .warn("rename-session needs a name (a session name cannot be empty)"),
            Ok(Action::SetMemoryLimit) => self
                .state
                .warn("set-memory-limit needs a size (\"512 MiB\", \"2G\") or \"none\"; -p first for the focused pane's"),
            Ok(action) if rest.is_empty() => self.run_action(action),
            Ok(action) => self.state.warn(format!("{action} takes no argument")),
            Err(e) => self.state.warn(e.to_string()),
        }
    }

    /// Focuses tab `number` (counted from 1, as the bar shows it).
    pub(super) fn select_tab(&mut self, number: usize) {
        match number.checked_sub(1).filter(|i| *i < self.state.tabs.len()) {
            Some(i) => self.focus(i),
            None => self.state.warn(format!(
                "there is no tab {number} (tabs 1 to {})",
                self.state.tabs.len()
            )),
        }
    }

    /// Focuses the next tab after the focused one whose label contains `text`.
    pub(super) fn select_tab_named(&mut self, text: &str) {
        let labels: Vec<String> = self.state.tabs.iter().map(|t| t.label()).collect();
        match next_named(&labels, self.state.view.focus, text) {
            Some(i) => self.focus(i),
            None => self
                .state
                .warn(format!("select-tab: no tab named like `{text}`")),
        }
    }

    /// Moves the focused tab to place `to` (0-based), the others shifting over; focus stays
    /// with the moved tab.
    pub(super) fn move_tab(&mut self, to: usize) {
        let from = self.state.view.focus;
        if to >= self.state.tabs.len() || from >= self.state.tabs.len() || to == from {
            return;
        }
        let tab = self.state.tabs.remove(from);
        self.state.tabs.insert(to, tab);
        self.state.view.focus = to;
        self.redraw_now();
        // The sampler's CSV log names tabs by number.
        self.sync_roster();
    }

    /// Opens the scroll view of the focused tab, scrolled by `delta` rows.
    pub(super) fn enter_scroll(&mut self, delta: i64) {
        let height = self.pane.height;
        let Some(tab) = self.state.focused() else {
            return;
        };
        // Only reads the session's state (settling a flag allocates nothing): no account; the
        // view itself is memmux's.
        let mut term = tab.session().shared.lock_term();
        term.settle_history();
        let mut view = crate::state::copy_mode::ScrollView::new(&term, height);
        if delta != 0 {
            view.scroll(&term, height, delta);
        }
        drop(term);
        self.state.view.mode = Mode::Scroll(Box::new(view));
        self.redraw_now();
    }

    /// Puts `text` in memmux's paste buffer and, through OSC 52, in the system clipboard.
    pub(super) fn copy(&mut self, text: String) {
        use base64::Engine;
        let lines = text.lines().count().max(1);
        let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
        self.outbox.extend_from_slice(b"\x1b]52;c;");
        self.outbox.extend_from_slice(encoded.as_bytes());
        self.outbox.push(0x07);
        self.state.say(format!(
            "copied {} in {lines} line(s): {} pastes it",
            crate::util::human_bytes(text.len() as u64),
            self.config
                .keymap
                .keys_for(Action::PasteBuffer)
                .first()
                .map(|b| self.config.keymap.spell(b))
                .unwrap_or_else(|| "paste-buffer".into())
        ));
        self.paste_buffer = Some(text);
    }

    pub(super) fn confirmed(&mut self, what: Confirm) {
        match what {
            Confirm::CloseTab(id) => self.close_tab(id),
            Confirm::ClosePane(id) => self.close_pane(id),
            Confirm::RestartTab(id) => {
                if let Some(i) = self.state.index_of(id) {
                    self.state.set_focus(i);
                    self.restart_focused();
                }
            }
            Confirm::Quit => self.quit = true,
            Confirm::MemoryLimit(id, limit, _) => {
                if let Some(i) = self.state.index_of(id) {
                    self.apply_memory_limit(i, Some(limit));
                }
            }
            Confirm::PaneMemoryLimit(id, limit, _) => self.apply_pane_memory_limit(id, Some(limit)),
        }
    }

    /// Closes a tab, hanging up its programs. Closing the last tab quits (or opens a fresh
    /// shell when `exit-on-last-tab-close` is off).
    pub fn close_tab(&mut self, id: SessionId) {
        let Some(i) = self.state.index_of(id) else {
            return;
        };
        let mut tab = self.state.tabs.remove(i);
        for mut pane in tab.panes.drain(..) {
            let account = pane.session.enter();
            pane.session.hang_up();
            drop(pane);
            drop(account);
        }
        drop(tab);
        if self.state.tabs.is_empty() {
            if self.config.exit_on_last_tab_close {
                self.quit = true;
            } else {
                self.open_tab(None, None);
            }
            return;
        }
        let focus = self.state.view.focus;
        let new_focus = if i < focus || focus >= self.state.tabs.len() {
            focus.saturating_sub(1)
        } else {
            focus
        };
        self.state.view.focus = usize::MAX;
        self.state
            .set_focus(new_focus.min(self.state.tabs.len() - 1));
        if let Some(t) = self.state.focused() {
            for p in &t.panes {
                p.session.shared.take_output();
            }
        }
        self.redraw_now();
        self.sync_roster();
    }

    /// Starts the focused tab's command again, in a fresh terminal.
    pub(super) fn restart_focused(&mut self) {
        let Some(tab) = self.state.focused() else {
            return;
        };
        let spec = tab.session().spec.clone();
        let group = tab.mem.limit.group.clone();
        let id = self.next_id;
        self.next_id += 1;
        let session = self.start_spec(id, spec, group);
        if let Some(tab) = self.state.focused_mut() {
            // The new session takes the pane's place in the layout under its own id.
            tab.layout.rename(tab.layout.focus(), id);
            let pane = tab.pane_mut();
            let mut old = std::mem::replace(&mut pane.session, session);
            old.hang_up();
            pane.title = None;
            pane.fg_name = None;
        }
        self.schedule_title_check();
        self.redraw_now();
        self.sync_roster();
    }

    /// Writes every tab's in-memory history to a timestamped CSV in the data directory, on a
    /// thread of its own.
    pub(super) fn export_memory(&mut self) {
        let Some(dir) = crate::config::data_dir() else {
            self.state
                .warn("no data directory (HOME is not set): nothing exported");
            return;
        };
        let mut csv = String::from(crate::memory::history::CSV_HEADER);
        csv.push('\n');
        for (i, t) in self.state.tabs.iter().enumerate() {
            t.mem.history.to_csv_rows(i + 1, &t.label(), &mut csv);
        }
        let stamp = crate::util::timestamp();
        let events = self.events.clone();
        let spawned = std::thread::Builder::new()
            .name("export".into())
            .spawn(move || {
                let path = dir.join(format!("memory-{stamp}.csv"));
                let result = std::fs::create_dir_all(&dir)
                    .and_then(|_| std::fs::write(&path, csv))
                    .map(|_| path.clone())
                    .map_err(|e| format!("cannot write {}: {e}", path.display()));
                let _ = events.send(AppEvent::Exported(result));
            });
        if let Err(e) = spawned {
            self.state.warn(format!("cannot start the export: {e}"));
        }
    }
}

/// The tab number in a prompt's arguments: one whole number from 1 to `tabs`.
pub fn tab_number(args: &[&str], tabs: usize) -> Result<usize, String> {
    match args {
        [one] => match one.parse::<usize>() {
            Ok(k) if (1..=tabs).contains(&k) => Ok(k),
            Ok(k) => Err(format!("there is no tab {k} (tabs 1 to {tabs})")),
            Err(_) => Err(format!("`{one}` is not a tab number (1 to {tabs})")),
        },
        [] => Err(format!("needs a tab number, 1 to {tabs}")),
        _ => Err("takes one tab number".to_string()),
    }
}

/// The first tab after `from` (going round) whose label contains `text`, case ignored;
/// `from` itself last, so that repeating the command steps through every match.
pub fn next_named(labels: &[String], from: usize, text: &str) -> Option<usize> {
    let text = text.to_lowercase();
    let n = labels.len();
    (1..=n)
        .map(|k| (from + k) % n)
        .find(|&i| labels[i].to_lowercase().contains(&text))
}

#[cfg(test)]
mod tests {
    use super::{next_named, tab_number};

    #[test]
    fn a_tab_by_part_of_its_name_the_next_match_first() {
        let labels: Vec<String> = ["bash", "Build-server", "vim", "build-client"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(next_named(&labels, 0, "build"), Some(1));
        assert_eq!(next_named(&labels, 1, "build"), Some(3));
        assert_eq!(next_named(&labels, 3, "BUILD"), Some(1));
        assert_eq!(next_named(&labels, 2, "vim"), Some(2));
        assert_eq!(next_named(&labels, 0, "emacs"), None);
        assert_eq!(next_named(&[], 0, "x"), None);
    }

    #[test]
    fn tab_numbers_past_nine() {
        assert_eq!(tab_number(&["12"], 100), Ok(12));
        assert_eq!(tab_number(&["1"], 1), Ok(1));
        assert!(tab_number(&["0"], 5).unwrap_err().contains("no tab 0"));
        assert!(tab_number(&["6"], 5).unwrap_err().contains("tabs 1 to 5"));
        assert!(
            tab_number(&["x"], 5)
                .unwrap_err()
                .contains("not a tab number")
        );
        assert!(
            tab_number(&[], 5)
                .unwrap_err()
                .contains("needs a tab number")
        );
        assert!(tab_number(&["1", "2"], 5).is_err());
    }
}
