//! The reader of a parsed document: typed values out of toml's spanned tree, each problem
//! kept with its place, and the tables' known keys for "did you mean".

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use ratatui::style::Color;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::util::closest;

use super::Choice;

use super::values::{
    COLOR_EXPECTED, DURATION_EXPECTED, SIZE_EXPECTED, format_duration, format_size, parse_color,
    parse_duration, parse_size,
};

/// Keys of the top-level table, in the order the default file lists them.
pub(super) const ROOT_KEYS: &[&str] = &[
    "shell",
    "shell-args",
    "term",
    "prefix",
    "fps",
    "scrollback-lines",
    "scrollback-bytes",
    "memory-budget",
    "osc52-copy",
    "osc52-max-bytes",
    "exit-on-last-tab-close",
    "window-size",
    "memory-panel",
    "tab-memory",
    "colors",
    "keys",
];
pub(super) const TAB_MEMORY_KEYS: &[&str] = &[
    "cgroups",
    "cgroup-root",
    "tab-memory-limit",
    "high-fraction",
    "over-limit-action",
];
pub(super) const PANEL_KEYS: &[&str] = &[
    "show",
    "width",
    "sample-interval",
    "history",
    "leak-window",
    "warn-above",
];
pub(super) const COLOR_KEYS: &[&str] = &[
    "bar-fg",
    "bar-bg",
    "active-fg",
    "active-bg",
    "warn",
    "accent",
    "chart-tree",
    "chart-heap",
];
/// Tables with fixed keys, for "did you mean" across tables.
pub(super) const TABLES: [(Option<&str>, &[&str]); 4] = [
    (None, ROOT_KEYS),
    (Some("memory-panel"), PANEL_KEYS),
    (Some("tab-memory"), TAB_MEMORY_KEYS),
    (Some("colors"), COLOR_KEYS),
];

pub(super) type Span = Range<usize>;
pub(super) type Value<'i> = Spanned<DeValue<'i>>;
type Key<'i> = Spanned<std::borrow::Cow<'i, str>>;

/// One problem found in a file, before it is given a line and column.
pub(super) struct Problem {
    pub(super) span: Span,
    pub(super) message: String,
}

pub(super) struct Reader<'s> {
    pub(super) src: &'s str,
    pub(super) problems: Vec<Problem>,
    /// Where each setting the file sets is, by dotted name, for checks across settings.
    pub(super) set: BTreeMap<&'static str, Span>,
}

pub(super) fn article(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

pub(super) fn integer(v: &DeValue<'_>) -> Option<i128> {
    match v {
        DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix()).ok(),
        _ => None,
    }
}

impl<'s> Reader<'s> {
    pub(super) fn error(&mut self, span: Span, message: String) {
        self.problems.push(Problem { span, message });
    }

    /// The text at `span` as written, first line only and at most 40 characters.
    pub(super) fn raw(&self, span: &Span) -> String {
        let text = self.src.get(span.clone()).unwrap_or("");
        let first = text.lines().next().unwrap_or("");
        let mut s: String = first.chars().take(40).collect();
        if s.len() < text.len() {
            s.push('…');
        }
        s
    }

    /// "invalid value for `key`: problem, found `text`", with a parenthesised hint at the end
    /// of `problem` (a did-you-mean) moved after the offending text.
    pub(super) fn invalid(&mut self, key: &str, span: Span, problem: &str) {
        let raw = self.raw(&span);
        let (problem, hint) = match problem.find(" (did you mean") {
            Some(i) => problem.split_at(i),
            None => (problem, ""),
        };
        self.error(
            span,
            format!("invalid value for `{key}`: {problem}, found `{raw}`{hint}"),
        );
    }

    pub(super) fn wrong_type(&mut self, key: &str, v: &Value<'_>, expected: &str) {
        self.wrong_type_quoted(key, v, expected, false);
    }

    /// As `wrong_type`, with a hint when the value is a string whose unquoted text would do.
    pub(super) fn wrong_type_quoted(
        &mut self,
        key: &str,
        v: &Value<'_>,
        expected: &str,
        unquote: bool,
    ) {
        let raw = self.raw(&v.span());
        let found = article(v.get_ref());
        let hint = if unquote {
            "; write it without quotes"
        } else {
            ""
        };
        self.error(
            v.span(),
            format!("invalid type for `{key}`: {expected}, found {found} `{raw}`{hint}"),
        );
    }

    fn note_set(&mut self, key: &'static str, v: &Value<'_>) {
        self.set.insert(key, v.span());
    }

    /// A duration the cross-checks weigh against others (`check_panel`): where it was set
    /// is noted, so that a check blames the setting the file wrote.
    pub(super) fn noted_duration(
        &mut self,
        key: &'static str,
        v: &Value<'_>,
        range: (Duration, Duration),
    ) -> Option<Duration> {
        let d = self.duration(key, v, range)?;
        self.note_set(key, v);
        Some(d)
    }

    pub(super) fn int(
        &mut self,
        key: &str,
        v: &Value<'_>,
        what: &str,
        (min, max): (i64, i64),
    ) -> Option<i64> {
        let expected = format!("expected {what} from {min} to {max}");
        match integer(v.get_ref()) {
            Some(n) if (i128::from(min)..=i128::from(max)).contains(&n) => i64::try_from(n).ok(),
            Some(_) => {
                self.invalid(key, v.span(), &expected);
                None
            }
            None => {
                let quoted_int = v
                    .get_ref()
                    .as_str()
                    .is_some_and(|s| s.trim().parse::<i64>().is_ok());
                self.wrong_type_quoted(key, v, &expected, quoted_int);
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, key: &str, v: &Value<'_>) -> Option<bool> {
        if let Some(b) = v.get_ref().as_bool() {
            return Some(b);
        }
        let quoted = v
            .get_ref()
            .as_str()
            .is_some_and(|s| matches!(s.trim(), "true" | "false"));
        self.wrong_type_quoted(key, v, "expected true or false", quoted);
        None
    }

    pub(super) fn string(&mut self, key: &str, v: &Value<'_>, expected: &str) -> Option<String> {
        match v.get_ref().as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.wrong_type(key, v, expected);
                None
            }
        }
    }

    pub(super) fn size(&mut self, key: &str, v: &Value<'_>, (min, max): (u64, u64)) -> Option<u64> {
        let bytes = match v.get_ref() {
            DeValue::Integer(_) => match integer(v.get_ref()) {
                Some(n) if n < 0 => Err("a size cannot be negative".to_string()),
                Some(n) => Ok(u64::try_from(n).unwrap_or(u64::MAX)),
                None => Err(SIZE_EXPECTED.to_string()),
            },
            DeValue::String(s) => parse_size(s),
            _ => {
                self.wrong_type(key, v, SIZE_EXPECTED);
                return None;
            }
        };
        self.within(key, v, bytes, (min, max), "a size", format_size)
    }

    pub(super) fn duration(
        &mut self,
        key: &str,
        v: &Value<'_>,
        (min, max): (Duration, Duration),
    ) -> Option<Duration> {
        let d = match v.get_ref() {
            DeValue::String(s) => parse_duration(s),
            // A bare number has no unit to read it in; parse_duration says so, or that it is
            // negative.
            DeValue::Integer(i) => parse_duration(i.as_str()),
            _ => {
                self.wrong_type(key, v, DURATION_EXPECTED);
                return None;
            }
        };
        self.within(key, v, d, (min, max), "a duration", format_duration)
    }

    /// A value read by a grammar (`parsed`) that must also lie from `min` to `max`: the
    /// grammar's complaint, or the range (`what`: "a size"; `show` spells the bounds).
    fn within<T: PartialOrd + Copy>(
        &mut self,
        key: &str,
        v: &Value<'_>,
        parsed: Result<T, String>,
        (min, max): (T, T),
        what: &str,
        show: fn(T) -> String,
    ) -> Option<T> {
        let problem = match parsed {
            Ok(n) if (min..=max).contains(&n) => return Some(n),
            Ok(_) => format!("expected {what} from {} to {}", show(min), show(max)),
            Err(problem) => problem,
        };
        self.invalid(key, v.span(), &problem);
        None
    }

    /// One of a few words, each standing for a value of `T`; otherwise says which words
    /// there are (`expected "warn", "stop" or "kill"`).
    pub(super) fn choice<T: Choice>(&mut self, key: &str, v: &Value<'_>) -> Option<T> {
        let words: Vec<String> = T::ALL.iter().map(|c| format!("\"{}\"", c.word())).collect();
        let expected = match words.split_last() {
            Some((last, [])) => format!("expected {last}"),
            Some((last, rest)) => format!("expected {} or {last}", rest.join(", ")),
            None => "expected nothing".to_string(),
        };
        let s = self.string(key, v, &expected)?;
        let found = T::ALL.iter().copied().find(|c| c.word() == s);
        if found.is_none() {
            self.invalid(key, v.span(), &expected);
        }
        found
    }

    pub(super) fn color(&mut self, key: &str, v: &Value<'_>) -> Option<Color> {
        let c = match v.get_ref() {
            DeValue::String(s) => parse_color(s),
            DeValue::Integer(_) => match integer(v.get_ref()).and_then(|n| u8::try_from(n).ok()) {
                Some(n) => Ok(Color::Indexed(n)),
                None => Err("256-colour indexes go from 0 to 255".to_string()),
            },
            _ => {
                self.wrong_type(key, v, COLOR_EXPECTED);
                return None;
            }
        };
        match c {
            Ok(c) => Some(c),
            Err(problem) => {
                self.invalid(key, v.span(), &problem);
                None
            }
        }
    }

    pub(super) fn table<'v, 'i>(&mut self, key: &str, v: &'v Value<'i>) -> Option<&'v DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                let expected = format!("expected a table (a `[{key}]` section)");
                self.wrong_type(key, v, &expected);
                None
            }
        }
    }

    /// An unknown key in `table` (`None`: the top level), with the likeliest intended key.
    pub(super) fn unknown_key(&mut self, table: Option<&str>, key: &Key<'_>) {
        let name: &str = key.get_ref();
        let mut message = match table {
            Some(t) => format!("unknown key `{name}` in [{t}]"),
            None => format!("unknown key `{name}`"),
        };
        message.push_str(&self.hint_for(table, name));
        self.error(key.span(), message);
    }

    /// Where a misplaced or misspelt key belongs, as a clause to append to a message.
    pub(super) fn hint_for(&self, table: Option<&str>, name: &str) -> String {
        // Exact matches elsewhere first: TOML puts every key after a `[table]` header into that
        // table, the usual way a top-level setting ends up in [keys] or [colors].
        for (other, keys) in TABLES {
            if other != table && keys.contains(&name) {
                return match other {
                    None => format!(
                        "; `{name}` is a top-level setting: move it above the first [table] header"
                    ),
                    Some(t) => format!("; `{name}` belongs in [{t}]"),
                };
            }
        }
        let own = TABLES
            .iter()
            .find(|(t, _)| *t == table)
            .map(|(_, keys)| *keys)
            .unwrap_or(&[]);
        if let Some(s) = closest(name, own.iter().copied()) {
            return format!(" (did you mean `{s}`?)");
        }
        for (other, keys) in TABLES {
            if other == table {
                continue;
            }
            if let Some(s) = closest(name, keys.iter().copied()) {
                return match other {
                    None => format!(" (did you mean the top-level setting `{s}`?)"),
                    Some(t) => format!(" (did you mean `{s}` in [{t}]?)"),
                };
            }
        }
        if own.is_empty() {
            String::new()
        } else {
            format!("; expected one of: {}", own.join(", "))
        }
    }

    pub(super) fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.src.len());
        self.src.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }
}
