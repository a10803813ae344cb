//! A problem in a config file, located by line and column, with the line it is on.

use std::ops::Range;
use std::path::Path;

use unicode_width::UnicodeWidthStr;

use super::reader::{Problem, Span};

/// One problem in a config file, located.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
    /// The offending line as written, tabs expanded to 4 spaces.
    pub source_line: String,
    /// Display columns of `source_line` to underline.
    pub underline: Range<usize>,
}

impl Diagnostic {
    fn new(src: &str, span: Span, message: String) -> Diagnostic {
        let floor = |mut i: usize| {
            i = i.min(src.len());
            while !src.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let start = floor(span.start);
        let end = floor(span.end.max(span.start));
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let before = &src[line_start..start];
        let text = src[line_start..line_end].trim_end_matches('\r');
        let shown_end = end.min(line_start + text.len()).max(start);
        let expand = |s: &str| s.replace('\t', "    ");
        let col = expand(before).width();
        let len = expand(&src[start..shown_end]).width().max(1);
        Diagnostic {
            line: src[..start].matches('\n').count() + 1,
            column: before.chars().count() + 1,
            message,
            source_line: expand(text),
            underline: col..col + len,
        }
    }

    /// The message with its location and the line it is about, underlined:
    ///
    /// ```text
    /// /home/u/.config/memmux/config.toml:12:7: invalid value for `fps`: ...
    ///    |
    /// 12 | fps = 0
    ///    |       ^
    /// ```
    pub fn render(&self, path: &Path) -> String {
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        let code = format!("{number} | {}", self.source_line);
        format!(
            "{}:{}:{}: {}\n{pad} |\n{}\n{pad} | {}{}",
            path.display(),
            self.line,
            self.column,
            self.message,
            code.trim_end(),
            " ".repeat(self.underline.start),
            "^".repeat(self.underline.len())
        )
    }
}

pub(super) fn diagnostics(src: &str, mut problems: Vec<Problem>) -> Vec<Diagnostic> {
    problems.sort_by_key(|p| (p.span.start, p.span.end));
    problems.dedup_by(|a, b| a.span == b.span && a.message == b.message);
    problems
        .into_iter()
        .map(|p| Diagnostic::new(src, p.span, p.message))
        .collect()
}
