//! Text fitted to the columns the drawing has for it.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `text` in at most `width` columns: whole, or cut and ended with `…` (which takes one of
/// the columns). Wide characters count two columns, so a cut never overflows by half of one.
pub fn cut(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn text_that_fits_is_whole_and_longer_text_ends_in_an_ellipsis() {
        assert_eq!(cut("build", 5), "build");
        assert_eq!(cut("build", 4), "bui…");
        // `漢` is two columns: `a漢` and `…` fill 4; another wide one would make 6.
        assert_eq!(cut("a漢字b", 4), "a漢…");
        assert_eq!(cut("a漢字b", 5), "a漢…");
        assert_eq!(cut("abc", 0), "…");
    }
}
