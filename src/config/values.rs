//! Sizes, durations, colours and limits as the file (and `set-memory-limit`) spells them.

use std::time::Duration;

use ratatui::style::Color;

use crate::util::closest;

/// `text` trimmed, unless it is negative, which a `what` ("a size") cannot be.
fn not_negative<'a>(text: &'a str, what: &str) -> Result<&'a str, String> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err(format!("{what} cannot be negative"));
    }
    Ok(t)
}

pub(super) const SIZE_EXPECTED: &str =
    "expected a size such as \"16 MiB\", \"512 KiB\", \"1 GiB\" or a number of bytes";

/// Reads a size: `"16 MiB"`, `"64MiB"`, `"1.5 GiB"`, `"512 K"`, `"4096"`. KiB, MiB, GiB, TiB
/// (and K, M, G, T, as `dd` reads them) are powers of 1024; kB, MB, GB, TB powers of 1000.
/// Units are case-insensitive. Fractions are rounded down to whole bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = not_negative(text, "a size")?;
    let t = t.strip_prefix('+').unwrap_or(t);
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(end);
    if number.is_empty() || !number.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(SIZE_EXPECTED.to_string());
    }
    let unit = unit.trim();
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "unknown size unit `{unit}`; expected B, KiB, MiB, GiB, TiB (powers of 1024) \
                 or kB, MB, GB, TB (powers of 1000)"
            ));
        }
    };
    let value = scaled_decimal(number, u128::from(multiplier)).ok_or(SIZE_EXPECTED)?;
    u64::try_from(value).map_err(|_| "too large".to_string())
}

/// `number` (digits, optional `_` separators, optional fraction) times `scale`, rounded down;
/// `None` if it is not a number. Saturates rather than overflowing: the callers' range checks
/// then reject it.
pub(super) fn scaled_decimal(number: &str, scale: u128) -> Option<u128> {
    let number = number.replace('_', "");
    let (whole, fraction) = number.split_once('.').unwrap_or((&number, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u128 = whole.parse().unwrap_or(u128::MAX);
    // With scales below 10^18 (the largest, a day in nanoseconds, is 8.64 × 10^13), digits
    // past the 18th change the result by less than one unit; dropping them keeps 10^k and
    // the products within u128.
    let fraction = &fraction[..fraction.len().min(18)];
    let mut frac_value: u128 = 0;
    let mut denominator: u128 = 1;
    for b in fraction.bytes() {
        frac_value = frac_value * 10 + u128::from(b - b'0');
        denominator *= 10;
    }
    Some(
        whole
            .saturating_mul(scale)
            .saturating_add(frac_value.saturating_mul(scale) / denominator),
    )
}

/// A size as the file spells it: the largest binary unit that divides it exactly (`"16 MiB"`),
/// else bytes (`"1000 B"`). [`parse_size`] reads it back exactly.
pub fn format_size(bytes: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        let one = 1u64 << shift;
        if bytes >= one && bytes % one == 0 {
            return format!("{} {unit}", bytes / one);
        }
    }
    format!("{bytes} B")
}

pub(super) const DURATION_EXPECTED: &str =
    "expected a duration such as \"500ms\", \"1s\", \"90 s\", \"5m\" or \"1h\"";

/// Reads a duration: a number and a unit (`ms`, `s`, `m` or `min`, `h`, `d`), optionally
/// repeated (`"1m30s"`), with optional spaces (`"90 s"`) and fractions (`"1.5s"`). The result
/// must be whole milliseconds: nothing memmux times is finer.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = not_negative(text, "a duration")?;
    if t.is_empty() {
        return Err(DURATION_EXPECTED.to_string());
    }
    let mut rest = t;
    let mut nanos: u128 = 0;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(end);
        let after = after.trim_start();
        let unit_end = after
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        if number.is_empty() {
            return Err(DURATION_EXPECTED.to_string());
        }
        let scale: u128 = match unit.to_lowercase().as_str() {
            "" => {
                return Err(format!(
                    "a duration needs a unit (ms, s, m, h), as in \"{number}s\" or \"{number}ms\""
                ));
            }
            "ms" => 1_000_000,
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000_000_000,
            "h" | "hr" | "hour" | "hours" => 3_600_000_000_000,
            "d" | "day" | "days" => 86_400_000_000_000,
            _ => {
                return Err(format!(
                    "unknown duration unit `{unit}`; expected ms, s, m (minutes), h or d"
                ));
            }
        };
        let part = scaled_decimal(number, scale).ok_or(DURATION_EXPECTED)?;
        nanos = nanos.saturating_add(part);
        rest = after.trim_start();
    }
    if nanos % 1_000_000 != 0 {
        return Err("durations are counted in whole milliseconds".to_string());
    }
    let millis = u64::try_from(nanos / 1_000_000).map_err(|_| "too long".to_string())?;
    Ok(Duration::from_millis(millis))
}

/// A duration as the file spells it, in the largest unit that divides it exactly: `"1h"`,
/// `"90s"`, `"500ms"`. Sub-millisecond parts (never read from a file) are dropped.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0ms".to_string();
    }
    for (unit_ms, unit) in [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ] {
        if ms % unit_ms == 0 {
            return format!("{}{unit}", ms / unit_ms);
        }
    }
    format!("{ms}ms")
}

/// Colour names as the file spells them. The first sixteen are the terminal's own palette
/// (ANSI 0-15, so they follow its theme): `gray` is ANSI 7 and `white` ANSI 15.
pub(super) const COLOR_NAMES: [(&str, Color); 17] = [
    ("default", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("dark-gray", Color::DarkGray),
    ("light-red", Color::LightRed),
    ("light-green", Color::LightGreen),
    ("light-yellow", Color::LightYellow),
    ("light-blue", Color::LightBlue),
    ("light-magenta", Color::LightMagenta),
    ("light-cyan", Color::LightCyan),
    ("white", Color::White),
];

pub(super) const COLOR_EXPECTED: &str = "expected a colour name (red, light-blue, dark-gray, default, ...), \
     a 256-colour index (\"color236\" or 236), or \"#rrggbb\"";

/// Reads a colour: a name (`"red"`, `"dark-gray"`; also `dark_grey`, `darkgray`,
/// `bright-red`), a 256-colour index (`"color236"`), or `"#rrggbb"`.
pub fn parse_color(text: &str) -> Result<Color, String> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix('#') {
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("expected \"#rrggbb\" with six hex digits".to_string());
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
        return Ok(Color::Rgb(channel(0), channel(2), channel(4)));
    }
    let lower = t.to_ascii_lowercase();
    let index = lower
        .strip_prefix("colour")
        .or_else(|| lower.strip_prefix("color"));
    if let Some(n) = index {
        return match n.parse::<u8>() {
            Ok(n) => Ok(Color::Indexed(n)),
            Err(_) => Err("256-colour indexes go from color0 to color255".to_string()),
        };
    }
    let squash = |s: &str| {
        s.to_ascii_lowercase()
            .replace(['-', '_', ' '], "")
            .replace("grey", "gray")
            .replace("bright", "light")
    };
    let wanted = squash(t);
    if let Some((_, c)) = COLOR_NAMES.iter().find(|(n, _)| squash(n) == wanted) {
        return Ok(*c);
    }
    let names = COLOR_NAMES.iter().map(|(n, _)| *n);
    match closest(&lower, names) {
        Some(s) => Err(format!("unknown colour name (did you mean \"{s}\"?)")),
        None => Err(COLOR_EXPECTED.to_string()),
    }
}

/// A colour as the file spells it; [`parse_color`] reads it back exactly.
pub fn format_color(c: Color) -> String {
    if let Some((name, _)) = COLOR_NAMES.iter().find(|(_, n)| *n == c) {
        return (*name).to_string();
    }
    match c {
        Color::Indexed(n) => format!("color{n}"),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        // Every other variant is in COLOR_NAMES.
        _ => "default".to_string(),
    }
}

/// 4 MiB: below it a shell cannot start; 16 TiB is beyond any machine's memory.
pub const TAB_MEMORY_LIMIT: (u64, u64) = (4 << 20, 16 << 40);

/// A tab's ceiling as typed (`set-memory-limit`) or written in the file: a size, or `none`.
pub fn parse_limit(text: &str) -> Result<Option<u64>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let forms =
        "accepted: a size such as \"512 MiB\", \"2G\", \"1.5 GiB\", a number of bytes, or \"none\"";
    let n = parse_size(t).map_err(|e| format!("{e}; {forms}"))?;
    let (min, max) = TAB_MEMORY_LIMIT;
    if !(min..=max).contains(&n) {
        return Err(format!(
            "a limit must be from {} to {}; {forms}",
            format_size(min),
            format_size(max)
        ));
    }
    Ok(Some(n))
}
