//! Colours a program set for its tab (OSC 4 / 104 palette entries, OSC 10 / 11 default
//! foreground and background, OSC 110 / 111 resets) and the answers to their queries.
//! vt100 0.18.1 does not store them (it hands them to `Callbacks::unhandled_osc`); the
//! renderer applies them when it draws the tab (`ui::pane::apply_palette`).

use std::io::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};

/// An sRGB colour, 8 bits per channel.
pub type Rgb = (u8, u8, u8);

/// Queries answered per OSC sequence at most: a query for every index of the palette fits;
/// a sequence asking for more cannot make the replies grow past 256 * 30 bytes.
const MAX_ANSWERS: usize = 256;

/// What memmux answers for a default colour nobody set when the outer terminal did not say
/// its own (it did not answer memmux's queries, or not yet): a light-on-dark one (xterm's
/// `-rv` colours).
const ASSUMED_FG: Rgb = (0xe5, 0xe5, 0xe5);
const ASSUMED_BG: Rgb = (0, 0, 0);

/// The outer terminal's default foreground and background as it reported them: memmux asks
/// at start (`OSC 10 ; ?`, `OSC 11 ; ?`, see `terminal.rs`) and the input thread hands the
/// replies here (`input::tty`). A program asking for a default colour its tab did not set
/// gets these: they are what its text is drawn in, and programs choose light or dark
/// colour schemes by them (vim's `background`).
pub struct OuterDefaults {
    /// 0: not known; else 0x01rrggbb.
    fg: AtomicU32,
    bg: AtomicU32,
}

/// The one outer terminal of this process.
pub static OUTER: OuterDefaults = OuterDefaults::new();

impl OuterDefaults {
    pub const fn new() -> Self {
        OuterDefaults {
            fg: AtomicU32::new(0),
            bg: AtomicU32::new(0),
        }
    }

    fn slot(&self, which: u8) -> Option<&AtomicU32> {
        match which {
            10 => Some(&self.fg),
            11 => Some(&self.bg),
            _ => None,
        }
    }

    /// Records the colour for OSC `which` (10 foreground, 11 background; others ignored).
    pub fn set(&self, which: u8, (r, g, b): Rgb) {
        if let Some(slot) = self.slot(which) {
            let v = 1 << 24 | u32::from(r) << 16 | u32::from(g) << 8 | u32::from(b);
            slot.store(v, Ordering::Relaxed);
        }
    }

    pub fn get(&self, which: u8) -> Option<Rgb> {
        let v = self.slot(which)?.load(Ordering::Relaxed);
        (v != 0).then_some(((v >> 16) as u8, (v >> 8) as u8, v as u8))
    }
}

impl Default for OuterDefaults {
    fn default() -> Self {
        Self::new()
    }
}

/// The colours a program set; `None`: as the outer terminal draws it.
#[derive(Clone, Debug)]
pub struct Palette {
    idx: [Option<Rgb>; 256],
    fg: Option<Rgb>,
    bg: Option<Rgb>,
    /// DECSCNM (`CSI ? 5 h`, tracked by the input filter): the screen in reverse video.
    reverse: bool,
    /// Attributes vt100 cannot store, carried in tagged foreground colours (`Tags`); a copy
    /// of the stage's table for the renderer.
    pub tags: Tags,
    /// Nothing is set: the renderer skips the pass.
    empty: bool,
}

impl Default for Palette {
    fn default() -> Self {
        Palette {
            idx: [None; 256],
            fg: None,
            bg: None,
            reverse: false,
            tags: Tags::default(),
            empty: true,
        }
    }
}

/// SGR attributes vt100 0.18.1 has no room for (`Extra::bits`).
pub const STRIKE: u8 = 1;
pub const BLINK: u8 = 2;
pub const HIDDEN: u8 = 4;
pub const OVERLINE: u8 = 8;

/// What a tagged foreground colour stands for: the program's foreground, the attributes
/// vt100 cannot store, and the underline colour (SGR 58; `Default`: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extra {
    pub fg: vt100::Color,
    pub bits: u8,
    pub underline: vt100::Color,
}

/// The first two channels of a tag colour; the third is the tag's index. A program's own
/// direct colour rgb(1, 2, n) would be read as a tag once that tag exists: a near-black
/// nobody picks on purpose, and drawn then with the tag's attributes, nothing worse.
const TAG_RG: (u8, u8) = (1, 2);

/// Attributes vt100 cannot store ride in the foreground colour, which vt100 carries with
/// every cell wherever cells go (printing, scrolling, insert and delete, DECSC / DECRC,
/// the alternate screen, history, re-wrap): the stage sets the foreground to a tag colour
/// standing for (foreground, attributes), and the renderer draws the cell with what the tag
/// stands for. 256 tags per tab; once all are taken a new combination keeps only its
/// foreground (the attributes are lost, as before). Tags are never reused: history rows
/// may still hold them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags {
    table: Vec<Extra>,
}

impl Tags {
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// What `c` stands for, if it is a tag.
    pub fn get(&self, c: vt100::Color) -> Option<Extra> {
        match c {
            vt100::Color::Rgb(r, g, i) if (r, g) == TAG_RG => {
                self.table.get(usize::from(i)).copied()
            }
            _ => None,
        }
    }

    /// The colour to give vt100 for `e`: its foreground when it has no extras, else its tag
    /// (a new one if need be; `None` when the table is full).
    pub fn colour_for(&mut self, e: Extra) -> Option<vt100::Color> {
        if e.bits == 0 && e.underline == vt100::Color::Default {
            return Some(e.fg);
        }
        let i = match self.table.iter().position(|t| *t == e) {
            Some(i) => i,
            None if self.table.len() < 256 => {
                self.table.push(e);
                self.table.len() - 1
            }
            None => return None,
        };
        Some(vt100::Color::Rgb(TAG_RG.0, TAG_RG.1, u8::try_from(i).ok()?))
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }
}

impl Palette {
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// The colour set for palette index `i`.
    pub fn index(&self, i: u8) -> Option<Rgb> {
        self.idx[usize::from(i)]
    }

    pub fn foreground(&self) -> Option<Rgb> {
        self.fg
    }

    pub fn background(&self) -> Option<Rgb> {
        self.bg
    }

    pub fn reverse(&self) -> bool {
        self.reverse
    }

    pub fn set_reverse(&mut self, on: bool) {
        self.reverse = on;
        self.refresh();
    }

    /// Takes the stage's tag table (when it grew).
    pub fn set_tags(&mut self, tags: &Tags) {
        if self.tags.len() != tags.len() {
            self.tags = tags.clone();
            self.refresh();
        }
    }

    fn refresh(&mut self) {
        self.empty = !self.reverse
            && self.tags.is_empty()
            && self.fg.is_none()
            && self.bg.is_none()
            && self.idx.iter().all(Option::is_none);
    }

    /// Acts on an OSC vt100 left unhandled: `params` as vte split them at `;`. Replies
    /// (to queries) are appended to `replies`; they hold only numbers memmux formats.
    pub fn osc(&mut self, params: &[&[u8]], replies: &mut Vec<u8>) {
        let Some((&cmd, rest)) = params.split_first() else {
            return;
        };
        let mut answers = 0;
        match cmd {
            b"4" => {
                for pair in rest.chunks(2) {
                    let [n, spec] = pair else { break };
                    let Some(i) = parse_index(n) else { continue };
                    if *spec == b"?" {
                        if answers < MAX_ANSWERS {
                            answers += 1;
                            let c = self.idx[usize::from(i)].unwrap_or_else(|| xterm_color(i));
                            report(replies, format_args!("4;{i}"), c);
                        }
                    } else if let Some(c) = parse_spec(spec) {
                        self.idx[usize::from(i)] = Some(c);
                    }
                }
            }
            b"104" => {
                if rest.iter().all(|p| p.is_empty()) {
                    self.idx = [None; 256];
                } else {
                    for i in rest.iter().filter_map(|n| parse_index(n)) {
                        self.idx[usize::from(i)] = None;
                    }
                }
            }
            // OSC 10 ; fg [; bg]: each further parameter sets the next dynamic colour.
            b"10" | b"11" => {
                let first = if cmd == b"10" { 10 } else { 11 };
                for (k, spec) in rest.iter().enumerate().take(2) {
                    let which = first + k;
                    if which > 11 {
                        break;
                    }
                    let slot = if which == 10 {
                        &mut self.fg
                    } else {
                        &mut self.bg
                    };
                    if *spec == b"?" {
                        let assumed = if which == 10 { ASSUMED_FG } else { ASSUMED_BG };
                        let outer = OUTER.get(which as u8);
                        report(
                            replies,
                            format_args!("{which}"),
                            slot.or(outer).unwrap_or(assumed),
                        );
                    } else if let Some(c) = parse_spec(spec) {
                        *slot = Some(c);
                    }
                }
            }
            b"110" => self.fg = None,
            b"111" => self.bg = None,
            _ => return,
        }
        self.refresh();
    }
}

/// `OSC what ; rgb:rrrr/gggg/bbbb ST`, 16 bits per channel as xterm reports.
fn report(out: &mut Vec<u8>, what: std::fmt::Arguments<'_>, (r, g, b): Rgb) {
    let w = |v: u8| u16::from(v) * 257;
    // Writing to a Vec cannot fail.
    let _ = write!(
        out,
        "\x1b]{what};rgb:{:04x}/{:04x}/{:04x}\x1b\\",
        w(r),
        w(g),
        w(b)
    );
}

fn parse_index(n: &[u8]) -> Option<u8> {
    std::str::from_utf8(n).ok()?.parse().ok()
}

/// An X11 colour specification as programs send them: `rgb:r/g/b` (1 to 4 hex digits per
/// channel) or `#rgb`, `#rrggbb`, `#rrrgggbbb`, `#rrrrggggbbbb`. Colour names are not
/// known here (they need X's colour database): ignored.
pub fn parse_spec(spec: &[u8]) -> Option<Rgb> {
    let s = std::str::from_utf8(spec).ok()?;
    if let Some(body) = s.strip_prefix("rgb:") {
        let mut parts = body.split('/');
        let mut ch = || channel(parts.next()?);
        let c = (ch()?, ch()?, ch()?);
        return parts.next().is_none().then_some(c);
    }
    let hex = s.strip_prefix('#')?;
    if hex.is_empty() || hex.len() % 3 != 0 || hex.len() > 12 {
        return None;
    }
    let n = hex.len() / 3;
    Some((
        channel(&hex[..n])?,
        channel(&hex[n..2 * n])?,
        channel(&hex[2 * n..])?,
    ))
}

/// 1 to 4 hex digits scaled to 8 bits.
fn channel(h: &str) -> Option<u8> {
    if h.is_empty() || h.len() > 4 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let v = u32::from_str_radix(h, 16).ok()?;
    let max = (1u32 << (4 * h.len())) - 1;
    u8::try_from((v * 255 + max / 2) / max).ok()
}

/// xterm's default colour for palette index `i` (its documented defaults: 16 system
/// colours, the 6x6x6 cube, 24 greys).
pub fn xterm_color(i: u8) -> Rgb {
    const SYSTEM: [Rgb; 16] = [
        (0x00, 0x00, 0x00),
        (0xcd, 0x00, 0x00),
        (0x00, 0xcd, 0x00),
        (0xcd, 0xcd, 0x00),
        (0x00, 0x00, 0xee),
        (0xcd, 0x00, 0xcd),
        (0x00, 0xcd, 0xcd),
        (0xe5, 0xe5, 0xe5),
        (0x7f, 0x7f, 0x7f),
        (0xff, 0x00, 0x00),
        (0x00, 0xff, 0x00),
        (0xff, 0xff, 0x00),
        (0x5c, 0x5c, 0xff),
        (0xff, 0x00, 0xff),
        (0x00, 0xff, 0xff),
        (0xff, 0xff, 0xff),
    ];
    match i {
        0..=15 => SYSTEM[usize::from(i)],
        16..=231 => {
            let k = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            (level(k / 36), level(k / 6 % 6), level(k % 6))
        }
        _ => {
            let g = 8 + 10 * (i - 232);
            (g, g, g)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(p: &mut Palette, osc: &str) -> String {
        let params: Vec<&[u8]> = osc.split(';').map(str::as_bytes).collect();
        let mut out = Vec::new();
        p.osc(&params, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn specs_parse_as_x11_does() {
        assert_eq!(parse_spec(b"rgb:ff/80/00"), Some((255, 128, 0)));
        assert_eq!(parse_spec(b"rgb:f/8/0"), Some((255, 136, 0)));
        assert_eq!(parse_spec(b"rgb:ffff/0000/8080"), Some((255, 0, 128)));
        assert_eq!(parse_spec(b"#102030"), Some((0x10, 0x20, 0x30)));
        assert_eq!(parse_spec(b"#fff"), Some((255, 255, 255)));
        for bad in [
            "red",
            "rgb:1/2",
            "rgb:1/2/3/4",
            "#12345",
            "rgb:xx/00/00",
            "",
        ] {
            assert_eq!(parse_spec(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn set_query_and_reset() {
        let mut p = Palette::default();
        assert!(p.is_empty());
        assert_eq!(run(&mut p, "4;1;rgb:12/34/56;2;#ffffff"), "");
        assert_eq!(p.index(1), Some((0x12, 0x34, 0x56)));
        assert_eq!(p.index(2), Some((255, 255, 255)));
        assert!(!p.is_empty());
        assert_eq!(
            run(&mut p, "4;1;?;3;?"),
            "\x1b]4;1;rgb:1212/3434/5656\x1b\\\x1b]4;3;rgb:cdcd/cdcd/0000\x1b\\"
        );
        assert_eq!(run(&mut p, "104;1"), "");
        assert_eq!(p.index(1), None);
        assert_eq!(run(&mut p, "104"), "");
        assert!(p.is_empty());
        assert_eq!(run(&mut p, "11;#202020"), "");
        assert_eq!(p.background(), Some((0x20, 0x20, 0x20)));
        assert_eq!(
            run(&mut p, "10;?;?"),
            "\x1b]10;rgb:e5e5/e5e5/e5e5\x1b\\\x1b]11;rgb:2020/2020/2020\x1b\\"
        );
        run(&mut p, "111");
        assert!(p.is_empty());
        // Out of range and junk change nothing.
        assert_eq!(run(&mut p, "4;300;#fff;x;#fff;5"), "");
        assert!(p.is_empty());
    }

    #[test]
    fn answers_are_bounded() {
        let mut p = Palette::default();
        let q: String = (0..2000).map(|i| format!(";{}", i % 256) + ";?").collect();
        let out = run(&mut p, &format!("4{q}"));
        assert_eq!(out.matches("rgb:").count(), MAX_ANSWERS);
    }

    #[test]
    fn outer_defaults_are_kept_per_colour() {
        let o = OuterDefaults::new();
        assert_eq!(o.get(10), None);
        o.set(11, (0, 0, 0));
        o.set(10, (0xff, 0xfe, 0xfd));
        o.set(12, (1, 2, 3));
        assert_eq!(o.get(11), Some((0, 0, 0)));
        assert_eq!(o.get(10), Some((0xff, 0xfe, 0xfd)));
        assert_eq!(o.get(12), None);
    }

    #[test]
    fn xterm_defaults() {
        assert_eq!(xterm_color(16), (0, 0, 0));
        assert_eq!(xterm_color(21), (0, 0, 255));
        assert_eq!(xterm_color(196), (255, 0, 0));
        assert_eq!(xterm_color(232), (8, 8, 8));
        assert_eq!(xterm_color(255), (238, 238, 238));
    }
}
