//! Input several benches feed in: `bench/compare.py`'s UTF-8 text.

/// `bench/compare.py`'s UTF-8 text, `size` bytes and a little more: an 8-digit line number,
/// then 30 to 45 characters of Chinese, Japanese, Hangul and accented Latin, with a space now
/// and then and an emoji in one character of 50.
pub fn utf8_text(rng: &mut fastrand::Rng, size: usize) -> Vec<u8> {
    let text: Vec<char> =
        "的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着\
                           日本語のテキストです한국어텍스트éàüößçñ"
            .chars()
            .collect();
    const EMOJI: &[char] = &['\u{2705}', '\u{26a1}', '\u{1F600}', '\u{1F680}'];
    let mut out = Vec::with_capacity(size + 400);
    let mut n = 0;
    while out.len() < size {
        let mut line = format!("{n:08}");
        for _ in 0..30 + rng.u64(..16) {
            line.push(match rng.u64(..50) {
                0..=3 => ' ',
                4 => EMOJI[rng.usize(..EMOJI.len())],
                _ => text[rng.usize(..text.len())],
            });
        }
        line.push_str("\r\n");
        out.extend_from_slice(line.as_bytes());
        n += 1;
    }
    out
}
