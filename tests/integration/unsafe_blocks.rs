//! `unsafe` stays in `src/sys/` (the system calls), `src/memory/alloc.rs` (the global
//! allocator) and `src/term/filter/scan.rs` (SIMD): lib.rs denies `unsafe_code` elsewhere,
//! and this test counts the `unsafe` blocks, functions and impls per file so that a module
//! still allowed it (the TODO list in lib.rs) cannot gain one. Its table is a ratchet: a file
//! with more than its entry fails, and so does one with fewer, until its entry is lowered
//! (or removed at 0), so what was moved into `sys` stays moved.

use std::collections::BTreeMap;
use std::path::Path;

/// Where `unsafe` belongs.
const ALLOWED: &[&str] = &["src/sys/", "src/memory/alloc.rs", "src/term/filter/scan.rs"];

/// Files outside those that may still hold `unsafe`, with their counts: a ratchet for a move
/// in progress. Empty since every system call went into `sys` (111 blocks in 32 files before).
const LEFT: &[(&str, usize)] = &[];

/// The source without comments, string and char literals (their text replaced by spaces),
/// so that only code is counted.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &src[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            i += end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(rest.len(), |e| e + 2);
            i += end;
            out.push(' ');
        } else if rest.starts_with("r#\"") || rest.starts_with("r\"") {
            let hashes = rest[1..].bytes().take_while(|&c| c == b'#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let body = 2 + hashes;
            let end = rest[body..]
                .find(&close)
                .map_or(rest.len(), |e| body + e + close.len());
            i += end;
            out.push(' ');
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            i = j + 1;
            out.push(' ');
        } else if b[i] == b'\''
            && (rest[1..].starts_with('\\') || rest[1..].chars().nth(1) == Some('\''))
        {
            // A char literal ('x', '\n', '\''); a lifetime ('a) has no closing quote.
            let skip = if rest[1..].starts_with('\\') {
                rest[2..].find('\'').map_or(rest.len(), |e| e + 3)
            } else {
                rest[1..].chars().next().map_or(1, |c| c.len_utf8() + 2)
            };
            i += skip;
            out.push(' ');
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `unsafe` as a keyword: blocks, functions, impls, traits, extern blocks.
fn count_unsafe(src: &str) -> usize {
    let code = code_only(src);
    let word = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices("unsafe")
        .filter(|(at, _)| {
            let before = code[..*at].chars().next_back();
            let after = code[at + 6..].chars().next();
            !before.is_some_and(word) && !after.is_some_and(word)
        })
        .count()
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Per file of src/ outside the allowed places, its count of `unsafe` (files with none left
/// out).
fn counts(root: &Path) -> BTreeMap<String, usize> {
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    let mut out = BTreeMap::new();
    for f in files {
        let rel = f
            .strip_prefix(root)
            .unwrap_or(&f)
            .to_string_lossy()
            .replace('\\', "/");
        if ALLOWED.iter().any(|a| rel.starts_with(a)) {
            continue;
        }
        let src = std::fs::read_to_string(&f).unwrap_or_default();
        let n = count_unsafe(&src);
        if n > 0 {
            out.insert(rel, n);
        }
    }
    out
}

/// What is wrong with `found` against the table `left`.
fn problems(found: &BTreeMap<String, usize>, left: &[(&str, usize)]) -> Vec<String> {
    let mut out = Vec::new();
    for (file, &n) in found {
        match left.iter().find(|(f, _)| f == file) {
            None => out.push(format!(
                "{file}: {n} unsafe, and none is allowed there: call a safe wrapper in src/sys/ \
                 (add one there if it is missing)"
            )),
            Some((_, max)) if n > *max => out.push(format!(
                "{file}: {n} unsafe, {max} before: move the new ones into src/sys/"
            )),
            Some((_, max)) if n < *max => out.push(format!(
                "{file}: {n} unsafe, {max} in the table: lower its entry in LEFT"
            )),
            _ => {}
        }
    }
    for (file, max) in left {
        if !found.contains_key(*file) {
            out.push(format!(
                "{file}: no unsafe left ({max} in the table): remove its entry from LEFT and \
                 its #[allow(unsafe_code)]"
            ));
        }
    }
    out
}

#[test]
fn unsafe_stays_in_sys_the_allocator_and_the_simd_scanner() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = counts(root);
    let p = problems(&found, LEFT);
    assert!(p.is_empty(), "unsafe outside src/sys/:\n{}", p.join("\n"));
    // The allowed places are counted too, so the walk is shown to read the tree.
    let mut all = Vec::new();
    walk(&root.join("src/sys"), &mut all);
    let in_sys: usize = all
        .iter()
        .map(|f| count_unsafe(&std::fs::read_to_string(f).unwrap_or_default()))
        .sum();
    assert!(
        in_sys > 10,
        "src/sys/ holds the wrappers ({in_sys} unsafe found)"
    );
}

#[test]
fn the_counter_sees_code_and_not_comments_or_strings() {
    let src = r##"
        // unsafe in a comment
        /* unsafe { in a block comment } */
        let s = "unsafe { in a string }";
        let r = r#"unsafe"#;
        let c = '"'; let q = '\'';
        fn f<'a>(x: &'a u8) {}
        let not_unsafe_word = unsafe_fn_name();
        unsafe { libc::getpid() };
        unsafe impl Send for X {}
        pub unsafe fn g() {}
    "##;
    assert_eq!(count_unsafe(src), 3);
}

#[test]
fn a_new_unsafe_a_grown_one_and_a_stale_entry_each_fail() {
    let found: BTreeMap<String, usize> = [("src/ui/pane.rs".to_string(), 1)].into();
    assert_eq!(problems(&found, &[]).len(), 1, "a file not in the table");
    let found: BTreeMap<String, usize> = [("src/terminal.rs".to_string(), 5)].into();
    assert!(problems(&found, &[("src/terminal.rs", 4)])[0].contains("move the new ones"));
    assert!(problems(&found, &[("src/terminal.rs", 6)])[0].contains("lower its entry"));
    assert!(problems(&BTreeMap::new(), &[("src/terminal.rs", 4)])[0].contains("remove"));
    assert!(problems(&found, &[("src/terminal.rs", 5)]).is_empty());
}
