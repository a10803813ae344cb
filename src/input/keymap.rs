//! Key chords and the bindings from chords to actions: a prefix key (Ctrl-b by default), then a
//! key, as in tmux; or a direct chord such as Alt-1.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::input::action::Action;

/// One key with its modifiers, normalised so that equal keys compare equal: a character carries its
/// own case (`Q`, not Shift+q), and only Ctrl, Alt and Shift count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Chord {
    pub code: ChordKey,
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
}

/// The key part of a chord. A separate type from crossterm's `KeyCode` so chords can be ordered
/// and printed the way the config file spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChordKey {
    Char(char),
    F(u8),
    Enter,
    Tab,
    Backspace,
    Esc,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    Insert,
    Delete,
}

const NAMED: &[(&str, ChordKey)] = &[
    ("Enter", ChordKey::Enter),
    ("Tab", ChordKey::Tab),
    ("Backspace", ChordKey::Backspace),
    ("Esc", ChordKey::Esc),
    ("Up", ChordKey::Up),
    ("Down", ChordKey::Down),
    ("Left", ChordKey::Left),
    ("Right", ChordKey::Right),
    ("Home", ChordKey::Home),
    ("End", ChordKey::End),
    ("PageUp", ChordKey::PageUp),
    ("PageDown", ChordKey::PageDown),
    ("Insert", ChordKey::Insert),
    ("Delete", ChordKey::Delete),
    ("Space", ChordKey::Char(' ')),
];

impl Chord {
    pub const fn plain(c: char) -> Chord {
        Chord {
            code: ChordKey::Char(c),
            ctrl: false,
            alt: false,
            shift: false,
        }
    }

    pub const fn ctrl(c: char) -> Chord {
        Chord {
            code: ChordKey::Char(c),
            ctrl: true,
            alt: false,
            shift: false,
        }
    }

    pub const fn alt(c: char) -> Chord {
        Chord {
            code: ChordKey::Char(c),
            ctrl: false,
            alt: true,
            shift: false,
        }
    }

    /// The chord a crossterm key event stands for, if memmux can bind it.
    pub fn from_event(ev: &KeyEvent) -> Option<Chord> {
        let m = ev.modifiers;
        let mut shift = m.contains(KeyModifiers::SHIFT);
        let code = match ev.code {
            KeyCode::Char(c) => {
                // The character already carries Shift (`Q`, `?`); Ctrl-letters are bound lower case.
                shift = false;
                if m.contains(KeyModifiers::CONTROL) {
                    ChordKey::Char(c.to_ascii_lowercase())
                } else {
                    ChordKey::Char(c)
                }
            }
            KeyCode::F(n) => ChordKey::F(n),
            KeyCode::Enter => ChordKey::Enter,
            KeyCode::Tab => ChordKey::Tab,
            KeyCode::BackTab => {
                shift = true;
                ChordKey::Tab
            }
            KeyCode::Backspace => ChordKey::Backspace,
            KeyCode::Esc => ChordKey::Esc,
            KeyCode::Up => ChordKey::Up,
            KeyCode::Down => ChordKey::Down,
            KeyCode::Left => ChordKey::Left,
            KeyCode::Right => ChordKey::Right,
            KeyCode::Home => ChordKey::Home,
            KeyCode::End => ChordKey::End,
            KeyCode::PageUp => ChordKey::PageUp,
            KeyCode::PageDown => ChordKey::PageDown,
            KeyCode::Insert => ChordKey::Insert,
            KeyCode::Delete => ChordKey::Delete,
            _ => return None,
        };
        Some(Chord {
            code,
            ctrl: m.contains(KeyModifiers::CONTROL),
            alt: m.contains(KeyModifiers::ALT),
            shift,
        })
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("C-")?;
        }
        if self.alt {
            f.write_str("M-")?;
        }
        if self.shift {
            f.write_str("S-")?;
        }
        match self.code {
            ChordKey::Char(' ') => f.write_str("Space"),
            ChordKey::Char(c) => write!(f, "{c}"),
            ChordKey::F(n) => write!(f, "F{n}"),
            other => {
                let name = NAMED.iter().find(|(_, k)| *k == other).map(|(n, _)| *n);
                f.write_str(name.unwrap_or("?"))
            }
        }
    }
}

/// A chord that could not be parsed, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse key `{text}`: {reason}")]
pub struct ChordError {
    pub text: String,
    pub reason: String,
}

impl FromStr for Chord {
    type Err = ChordError;

    /// Accepts tmux and Emacs spellings: `C-b`, `ctrl-b`, `M-1`, `alt-1`, `S-PageUp`,
    /// `shift-pageup`, `F5`, `Space`, `?`, `Q`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| ChordError {
            text: s.to_string(),
            reason: reason.to_string(),
        };
        let mut rest = s.trim();
        if rest.is_empty() {
            return Err(err("empty key"));
        }
        let (mut ctrl, mut alt, mut shift) = (false, false, false);
        loop {
            let lower = rest.to_ascii_lowercase();
            let modifier = [
                ("c-", 0),
                ("ctrl-", 0),
                ("control-", 0),
                ("m-", 1),
                ("alt-", 1),
                ("meta-", 1),
                ("s-", 2),
                ("shift-", 2),
            ]
            .into_iter()
            .find(|(p, _)| lower.starts_with(p) && rest.len() > p.len());
            let Some((p, which)) = modifier else { break };
            match which {
                0 => ctrl = true,
                1 => alt = true,
                _ => shift = true,
            }
            rest = &rest[p.len()..];
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => {
                if ctrl && !c.is_ascii() {
                    return Err(err("Ctrl combines only with ASCII keys"));
                }
                if ctrl {
                    ChordKey::Char(c.to_ascii_lowercase())
                } else {
                    ChordKey::Char(c)
                }
            }
            _ => {
                let lower = rest.to_ascii_lowercase();
                if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    if !(1..=24).contains(&n) {
                        return Err(err("function keys are F1 to F24"));
                    }
                    ChordKey::F(n)
                } else if let Some((_, k)) =
                    NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(rest))
                {
                    *k
                } else if lower == "pgup" {
                    ChordKey::PageUp
                } else if lower == "pgdn" {
                    ChordKey::PageDown
                } else if lower == "escape" {
                    ChordKey::Esc
                } else if lower == "return" {
                    ChordKey::Enter
                } else {
                    return Err(err(
                        "expected one character or a key name (Enter, Tab, Esc, Space, Up, PageUp, F1, ...)",
                    ));
                }
            }
        };
        if shift && matches!(code, ChordKey::Char(c) if c != ' ') {
            return Err(err("write the shifted character itself (`Q`, `?`), not S-"));
        }
        Ok(Chord {
            code,
            ctrl,
            alt,
            shift,
        })
    }
}

/// What a binding asks for: the chord after the prefix, or the chord alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Binding {
    pub prefixed: bool,
    pub chord: Chord,
}

impl fmt::Display for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefixed {
            write!(f, "prefix {}", self.chord)
        } else {
            write!(f, "{}", self.chord)
        }
    }
}

impl FromStr for Binding {
    type Err = ChordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        match t.split_once(char::is_whitespace) {
            Some((p, rest)) if p.eq_ignore_ascii_case("prefix") => Ok(Binding {
                prefixed: true,
                chord: rest.trim().parse()?,
            }),
            _ => Ok(Binding {
                prefixed: false,
                chord: t.parse()?,
            }),
        }
    }
}

/// The prefix chord and every binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    pub prefix: Chord,
    bindings: BTreeMap<Binding, Action>,
}

impl Default for Keymap {
    fn default() -> Self {
        let mut k = Keymap {
            prefix: Chord::ctrl('b'),
            bindings: BTreeMap::new(),
        };
        for (keys, action) in default_bindings() {
            for key in keys {
                if let Ok(b) = key.parse::<Binding>() {
                    k.bindings.insert(b, action);
                }
            }
        }
        k
    }
}

/// The default bindings, as the config file spells them.
pub fn default_bindings() -> Vec<(Vec<&'static str>, Action)> {
    let mut v: Vec<(Vec<&'static str>, Action)> = vec![
        (vec!["prefix c"], Action::NewTab),
        (vec!["prefix n"], Action::NextTab),
        (vec!["prefix p"], Action::PrevTab),
        (vec!["prefix l"], Action::LastTab),
    ];
    const SELECT: [[&str; 2]; 9] = [
        ["prefix 1", "M-1"],
        ["prefix 2", "M-2"],
        ["prefix 3", "M-3"],
        ["prefix 4", "M-4"],
        ["prefix 5", "M-5"],
        ["prefix 6", "M-6"],
        ["prefix 7", "M-7"],
        ["prefix 8", "M-8"],
        ["prefix 9", "M-9"],
    ];
    for (i, keys) in SELECT.iter().enumerate() {
        v.push((keys.to_vec(), Action::SelectTab(i as u8 + 1)));
    }
    v.extend([
        (vec!["prefix '"], Action::GotoTab),
        (vec!["prefix <"], Action::MoveTabLeft),
        (vec!["prefix >"], Action::MoveTabRight),
        (vec!["prefix ,"], Action::RenameTab),
        (vec!["prefix x"], Action::CloseTab),
        (vec!["prefix r"], Action::RestartTab),
        (vec!["prefix Q"], Action::Quit),
        (vec!["prefix ?"], Action::Help),
        (vec!["prefix C-b"], Action::SendPrefix),
        (vec!["prefix ["], Action::ScrollMode),
        (vec!["S-PageUp"], Action::ScrollPageUp),
        (vec!["prefix ]"], Action::PasteBuffer),
        (vec!["prefix C"], Action::ClearHistory),
        (vec!["prefix m"], Action::ToggleMemoryPanel),
        (vec!["prefix M"], Action::ExportMemory),
        (vec!["prefix :"], Action::CommandPrompt),
        (vec!["prefix R"], Action::ReloadConfig),
        (vec!["prefix ~"], Action::ShowMessages),
        (vec!["prefix L"], Action::SetMemoryLimit),
        (vec!["prefix F"], Action::FreezeTab),
        (vec!["prefix T"], Action::ThawTab),
        (vec!["prefix D"], Action::ToggleMemoryDetail),
        (vec!["prefix d"], Action::Detach),
        (vec!["prefix C-z"], Action::SuspendClient),
        (vec!["prefix s"], Action::ChooseSession),
        (vec!["prefix $"], Action::RenameSession),
        (vec!["prefix %"], Action::SplitRight),
        (vec!["prefix \""], Action::SplitDown),
        (vec!["prefix Left"], Action::FocusPaneLeft),
        (vec!["prefix Right"], Action::FocusPaneRight),
        (vec!["prefix Up"], Action::FocusPaneUp),
        (vec!["prefix Down"], Action::FocusPaneDown),
        (vec!["prefix o"], Action::NextPane),
        (vec!["prefix z"], Action::ZoomPane),
        (vec!["prefix C-Left"], Action::ResizePaneLeft),
        (vec!["prefix C-Right"], Action::ResizePaneRight),
        (vec!["prefix C-Up"], Action::ResizePaneUp),
        (vec!["prefix C-Down"], Action::ResizePaneDown),
        (vec!["prefix Space"], Action::EvenLayout),
        (vec!["prefix {"], Action::SwapPanePrev),
        (vec!["prefix }"], Action::SwapPaneNext),
    ]);
    v
}

impl Keymap {
    /// A keymap with the given prefix and bindings (validated by the caller).
    pub fn new(prefix: Chord, bindings: BTreeMap<Binding, Action>) -> Keymap {
        Keymap { prefix, bindings }
    }

    pub fn lookup(&self, prefixed: bool, chord: Chord) -> Option<Action> {
        self.bindings.get(&Binding { prefixed, chord }).copied()
    }

    /// Every binding of `action`, prefixed ones first.
    pub fn keys_for(&self, action: Action) -> Vec<Binding> {
        let mut v: Vec<Binding> = self
            .bindings
            .iter()
            .filter(|(_, a)| **a == action)
            .map(|(b, _)| *b)
            .collect();
        v.sort_by_key(|b| !b.prefixed);
        v
    }

    pub fn bindings(&self) -> impl Iterator<Item = (&Binding, &Action)> {
        self.bindings.iter()
    }

    /// How the help overlay and status line spell a binding: `C-b c` rather than `prefix c`.
    pub fn spell(&self, b: &Binding) -> String {
        if b.prefixed {
            format!("{} {}", self.prefix, b.chord)
        } else {
            b.chord.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_round_trip() {
        for s in [
            "C-b", "M-1", "S-PageUp", "F5", "Space", "?", "Q", "C-M-x", "Enter", ",",
        ] {
            let c: Chord = s.parse().unwrap();
            assert_eq!(c.to_string(), s, "round trip of {s}");
            assert_eq!(c.to_string().parse::<Chord>().unwrap(), c);
        }
    }

    #[test]
    fn chord_spellings() {
        assert_eq!("ctrl-B".parse::<Chord>().unwrap(), Chord::ctrl('b'));
        assert_eq!("alt-1".parse::<Chord>().unwrap(), Chord::alt('1'));
        assert_eq!(
            "shift-pgup".parse::<Chord>().unwrap().to_string(),
            "S-PageUp"
        );
        assert_eq!("C--".parse::<Chord>().unwrap(), Chord::ctrl('-'));
        assert!("C-".parse::<Chord>().is_err());
        assert!("S-q".parse::<Chord>().is_err());
        assert!("F99".parse::<Chord>().is_err());
        assert!("Foo".parse::<Chord>().is_err());
        assert!("".parse::<Chord>().is_err());
    }

    #[test]
    fn bindings_parse() {
        let b: Binding = "prefix c".parse().unwrap();
        assert!(b.prefixed);
        assert_eq!(b.chord, Chord::plain('c'));
        assert_eq!(b.to_string(), "prefix c");
        let b: Binding = "M-3".parse().unwrap();
        assert!(!b.prefixed);
    }

    #[test]
    fn events_map_to_chords() {
        let ev = KeyEvent::new(KeyCode::Char('b'), KeyModifiers::CONTROL);
        assert_eq!(Chord::from_event(&ev), Some(Chord::ctrl('b')));
        let ev = KeyEvent::new(KeyCode::Char('Q'), KeyModifiers::SHIFT);
        assert_eq!(Chord::from_event(&ev), Some(Chord::plain('Q')));
        let ev = KeyEvent::new(KeyCode::PageUp, KeyModifiers::SHIFT);
        assert_eq!(
            Chord::from_event(&ev).map(|c| c.to_string()).as_deref(),
            Some("S-PageUp")
        );
    }

    #[test]
    fn default_keymap_has_every_action() {
        let k = Keymap::default();
        for a in Action::all() {
            assert!(!k.keys_for(a).is_empty(), "{a} has no default key");
        }
        assert_eq!(k.lookup(true, Chord::plain('c')), Some(Action::NewTab));
        assert_eq!(k.lookup(false, Chord::alt('3')), Some(Action::SelectTab(3)));
        assert_eq!(k.lookup(false, Chord::plain('c')), None);
    }
}
