//! The `[keys]` table: bindings as the file spells them, checked for conflicts.

use std::collections::BTreeMap;

use toml::de::{DeTable, DeValue};

use crate::input::action::Action;
use crate::input::keymap::{Binding, Chord, ChordKey, Keymap, default_bindings};

use super::reader::{Reader, Span, Value};

/// Reads a `[keys]` value's text: a binding as keymap.rs spells it, or `prefix prefix` for the
/// prefix pressed twice.
pub(super) fn parse_binding(text: &str, prefix: Chord) -> Result<Binding, String> {
    let t = text.trim();
    if let Some((first, rest)) = t.split_once(char::is_whitespace) {
        if first.eq_ignore_ascii_case("prefix") && rest.trim().eq_ignore_ascii_case("prefix") {
            return Ok(Binding {
                prefixed: true,
                chord: prefix,
            });
        }
    }
    t.parse::<Binding>().map_err(|e| e.reason)
}

/// A binding on a key programs need unmodified (a character, Enter, an arrow...), which would
/// then never reach them. Function keys are free enough to bind on their own.
pub(super) fn takes_typing(b: Binding) -> bool {
    let c = b.chord;
    !b.prefixed && !c.ctrl && !c.alt && !c.shift && !matches!(c.code, ChordKey::F(_))
}

/// The default keys of every action for a given prefix: keymap.rs's defaults, except that
/// `send-prefix` is the prefix pressed twice whatever the prefix is.
pub(super) fn default_keys(prefix: Chord) -> BTreeMap<Action, Vec<Binding>> {
    let mut out: BTreeMap<Action, Vec<Binding>> = BTreeMap::new();
    for (keys, action) in default_bindings() {
        let list = out.entry(action).or_default();
        if action == Action::SendPrefix {
            list.push(Binding {
                prefixed: true,
                chord: prefix,
            });
            continue;
        }
        list.extend(keys.iter().filter_map(|k| k.parse::<Binding>().ok()));
    }
    out
}

pub(super) const KEYS_EXPECTED: &str =
    "expected a key such as \"prefix c\" or \"M-1\", a list of keys, or \"none\"";

pub(super) fn read_keys(
    r: &mut Reader<'_>,
    table: Option<&DeTable<'_>>,
    prefix: Chord,
    prefix_span: Option<Span>,
) -> Keymap {
    // What the file lists, per action; an action listed replaces its default keys.
    let mut listed: BTreeMap<Action, Vec<(Binding, Span)>> = BTreeMap::new();
    for (k, v) in table.into_iter().flatten() {
        let action = match k.get_ref().parse::<Action>() {
            Ok(a) => a,
            Err(e) => {
                let mut message = format!("unknown action `{}` in [keys]", e.name);
                match e.suggestion {
                    Some(s) => message.push_str(&format!(" (did you mean `{s}`?)")),
                    None => message.push_str(&r.hint_for(Some("keys"), &e.name)),
                }
                r.error(k.span(), message);
                continue;
            }
        };
        let key = format!("keys.{action}");
        let items: Vec<&Value<'_>> = match v.get_ref() {
            DeValue::String(s) if s.trim().eq_ignore_ascii_case("none") => Vec::new(),
            DeValue::String(_) => vec![v],
            DeValue::Array(a) => a.iter().collect(),
            _ => {
                r.wrong_type(&key, v, KEYS_EXPECTED);
                continue;
            }
        };
        let mut bindings = Vec::new();
        for item in items {
            match item.get_ref().as_str() {
                Some(s) if s.trim().eq_ignore_ascii_case("none") => r.invalid(
                    &key,
                    item.span(),
                    "\"none\" unbinds an action on its own; write `[]` or \"none\", not a list with it",
                ),
                Some(s) => match parse_binding(s, prefix) {
                    Ok(b) if takes_typing(b) => {
                        let message = format!(
                            "key `{b}` without the prefix would take every `{b}` typed away from \
                             the program in the tab; did you mean \"prefix {b}\"? (keys bound \
                             on their own need C-, M- or S-, or are F1 to F24)",
                        );
                        r.error(item.span(), message);
                    }
                    Ok(b) => bindings.push((b, item.span())),
                    Err(reason) => r.invalid(&key, item.span(), &reason),
                },
                None => r.wrong_type(&key, item, KEYS_EXPECTED),
            }
        }
        listed.insert(action, bindings);
    }

    let defaults = default_keys(prefix);
    // Every binding, with where the file set it (`None`: a default).
    let mut map: BTreeMap<Binding, (Action, Option<Span>)> = BTreeMap::new();
    for action in Action::all() {
        let keys: Vec<(Binding, Option<Span>)> = match listed.get(&action) {
            Some(list) => list.iter().map(|(b, s)| (*b, Some(s.clone()))).collect(),
            None => defaults
                .get(&action)
                .map(|l| l.iter().map(|b| (*b, None)).collect())
                .unwrap_or_default(),
        };
        for (binding, span) in keys {
            if !binding.prefixed && binding.chord == prefix {
                prefix_alone(r, binding, action, span, prefix_span.clone());
                continue;
            }
            match map.get(&binding) {
                // Listed twice for the same action: harmless.
                Some((other, _)) if *other == action => {}
                Some((other, other_span)) => {
                    let other_span = other_span.clone();
                    let (a, b) = ((*other, other_span), (action, span));
                    conflict(r, binding, a, b, prefix_span.clone());
                }
                None => {
                    map.insert(binding, (action, span));
                }
            }
        }
    }
    Keymap::new(prefix, map.into_iter().map(|(b, (a, _))| (b, a)).collect())
}

/// The prefix chord bound on its own: it could never be typed, as the prefix takes it first.
pub(super) fn prefix_alone(
    r: &mut Reader<'_>,
    binding: Binding,
    action: Action,
    span: Option<Span>,
    prefix_span: Option<Span>,
) {
    let chord = binding.chord;
    match (span, prefix_span) {
        (Some(span), _) => r.error(
            span,
            format!(
                "`{chord}` is the prefix key, so it cannot also be bound on its own \
                 (to `{action}`); did you mean \"prefix {chord}\"?"
            ),
        ),
        (None, Some(span)) => r.error(
            span,
            format!(
                "the prefix `{chord}` is also `{action}`'s default key; choose another \
                 prefix, or give `{action}` other keys in [keys]"
            ),
        ),
        // The default prefix is bound alone by no default.
        (None, None) => {}
    }
}

/// The same binding for two actions.
pub(super) fn conflict(
    r: &mut Reader<'_>,
    binding: Binding,
    first: (Action, Option<Span>),
    second: (Action, Option<Span>),
    prefix_span: Option<Span>,
) {
    let shown = format!("`{binding}`");
    match (first, second) {
        ((a, Some(sa)), (b, Some(sb))) => {
            // Point at the later of the two in the file; name the line of the earlier.
            let ((a, sa), (b, sb)) = if sa.start <= sb.start {
                ((a, sa), (b, sb))
            } else {
                ((b, sb), (a, sa))
            };
            let line = r.line_of(sa.start);
            r.error(
                sb,
                format!("key {shown} is bound to both `{a}` (line {line}) and `{b}`"),
            );
        }
        ((a, Some(span)), (b, None)) | ((b, None), (a, Some(span))) => r.error(
            span,
            format!(
                "key {shown} is bound to both `{a}` and `{b}` (its default); give `{b}` \
                 other keys or \"none\" in [keys]"
            ),
        ),
        ((a, None), (b, None)) => {
            if let Some(span) = prefix_span {
                r.error(
                    span,
                    format!(
                        "with this prefix, key {shown} is the default of both `{a}` and `{b}`; \
                         give one of them other keys in [keys]"
                    ),
                );
            }
        }
    }
}
