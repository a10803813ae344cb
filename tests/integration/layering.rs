//! The layering rules of docs/architecture.md, checked on the source text of src/:
//!
//! - no import cycle between files (modules);
//! - the terminal engine (`term`), the sessions (`session`), the memory accounting (`memory`)
//!   and the state (`state`) import nothing from drawing (`ui`) or the app (`app`);
//! - the terminal engine imports nothing from the sessions (the ptys and their threads) nor
//!   from the memory accounting, and the memory accounting nothing from either;
//! - the sessions and the engine import nothing from the configuration file's reader (`config`),
//!   the key bindings (`input::keymap`) or the action table (`input::action`): the app passes them
//!   values.
//!
//! A module's references are its `crate::` and `super::` paths outside `#[cfg(test)]` code,
//! resolved to the file that defines the item (through `pub use` re-exports of a parent).
//! A parent module declaring or re-exporting its own children is containment, not an import.
//! The checker itself is tested on small made-up trees below, so it is shown to fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// (layer that imports, the layers it must not import, why).
const RULES: &[(&str, &[&str], &str)] = &[
    (
        "term",
        &[
            "ui",
            "app",
            "session",
            "memory",
            "config",
            "input::keymap",
            "input::action",
        ],
        "the terminal engine knows bytes and screens: it neither draws nor knows the app, the \
         ptys and their threads, memory accounting (its scrollback budget is its own) or the \
         config reader, key bindings and action table (it takes values)",
    ),
    (
        "session",
        &["ui", "app", "config", "input::keymap", "input::action"],
        "the sessions neither draw nor know the app, and take values, not the config reader, \
         key bindings or action table",
    ),
    (
        "memory",
        &["ui", "app", "session", "term"],
        "memory accounting knows pids and accounts: it neither draws nor knows the app, the \
         sessions or the terminal engine",
    ),
    (
        "state",
        &["ui", "app"],
        "the state depends on neither drawing nor the app",
    ),
];

/// Every (layer, forbidden layer, why) the rules name.
fn rule_pairs() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    RULES
        .iter()
        .flat_map(|(layer, forbidden, why)| forbidden.iter().map(move |f| (*layer, *f, *why)))
}

/// Groups of modules allowed for now to import each other, each with why and what ends it: a
/// cycle whose modules all lie in one group passes. The test fails when a group holds no
/// cycle any more, so the list only shrinks. Empty since the parser stage (fast path,
/// fidelity stage) moved under `term/`, beside the `Term` whose fields it reaches into.
const KNOWN_CYCLES: &[(&[&str], &str)] = &[];

/// Source text of every module of the crate under `src`, keyed by module path ("session::term";
/// "" for lib.rs), with comments, strings and `#[cfg(test)]` items removed. Test-only files
/// (`#[cfg(test)] mod tests;`) and binaries (main.rs, bin/) are left out.
fn read_tree(src: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut test_only = BTreeSet::new();
    let mut stack = vec![(src.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if prefix.is_empty() && name == "bin" {
                    continue;
                }
                stack.push((path.clone(), join(&prefix, &name)));
                continue;
            }
            let Some(stem) = name.strip_suffix(".rs") else {
                continue;
            };
            let module = match stem {
                "lib" if prefix.is_empty() => String::new(),
                "main" if prefix.is_empty() => continue,
                "mod" => prefix.clone(),
                _ => join(&prefix, stem),
            };
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let (code, test_children) = strip(&text);
            for child in test_children {
                test_only.insert(join(&module, &child));
            }
            files.insert(module, code);
        }
    }
    files.retain(|m, _| !test_only.iter().any(|t| m == t || is_within(m, t)));
    files
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}::{name}")
    }
}

/// `module` is `ancestor` or inside it.
fn is_within(module: &str, ancestor: &str) -> bool {
    ancestor.is_empty()
        || module == ancestor
        || module
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with("::"))
}

fn parent(module: &str) -> String {
    module
        .rsplit_once("::")
        .map_or(String::new(), |(p, _)| p.to_string())
}

/// Removes comments, string and char literals, and items under `#[cfg(test)]`; returns the
/// code and the names of child modules declared test-only (`#[cfg(test)] mod x;`).
fn strip(text: &str) -> (String, Vec<String>) {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && matches!(next, Some('"') | Some('#'))
            && !b[..i]
                .last()
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // Raw string r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            'raw: while j < b.len() {
                if b[j] == '"' && (0..hashes).all(|h| b.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break 'raw;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                i += if b[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (next == Some('\\') || b.get(i + 2) == Some(&'\'')) {
            // A char literal ('x', '\n', '\u{..}'); a lifetime ('a) has no closing quote.
            i += 1;
            while i < b.len() && b[i] != '\'' {
                i += if b[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    drop_test_items(&out)
}

/// Drops each item that follows `#[cfg(test)]` (to its `;` or its closing brace).
fn drop_test_items(code: &str) -> (String, Vec<String>) {
    const MARK: &str = "#[cfg(test)]";
    let mut out = String::with_capacity(code.len());
    let mut test_children = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let item = &rest[at + MARK.len()..];
        let words: Vec<&str> = item.split_whitespace().take(3).collect();
        if let ["mod", name, ..] | ["pub", "mod", name, ..] = words.as_slice() {
            if let Some(name) = name.strip_suffix(';') {
                test_children.push(name.to_string());
            }
        }
        let mut depth = 0i32;
        let mut end = item.len();
        for (k, ch) in item.char_indices() {
            match ch {
                '{' | '(' | '[' => depth += 1,
                '}' | ')' | ']' => {
                    depth -= 1;
                    if depth == 0 && ch == '}' {
                        // `use a::{b};` goes on to its `;`; an item body ends here.
                        let after = item[k + 1..].trim_start();
                        end = k
                            + 1
                            + if after.starts_with(';') {
                                item[k + 1..].find(';').map_or(0, |s| s + 1)
                            } else {
                                0
                            };
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    (out, test_children)
}

/// Every path that starts with `crate::` or `super::` in `code`, as segments from the crate
/// root, with `{a, b::c}` groups expanded.
fn paths(module: &str, code: &str) -> Vec<Vec<String>> {
    let tokens = tokenize(code);
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        let preceded_by_path = i > 0 && tokens[i - 1] == "::";
        if (t == "crate" || t == "super")
            && !preceded_by_path
            && tokens.get(i + 1).is_some_and(|n| n == "::")
        {
            let mut base: Vec<String> = if t == "crate" {
                Vec::new()
            } else {
                split(&parent(module))
            };
            let mut j = i + 2;
            // super::super::...
            while tokens.get(j).is_some_and(|s| s == "super")
                && tokens.get(j + 1).is_some_and(|s| s == "::")
            {
                base.pop();
                j += 2;
            }
            let (tree, next) = path_tree(&tokens, j);
            for p in tree {
                let mut full = base.clone();
                full.extend(p);
                found.push(full);
            }
            i = next;
        } else {
            i += 1;
        }
    }
    found
}

fn split(module: &str) -> Vec<String> {
    module
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses `a::b::{c, d::e}` from `tokens[at]`; returns the paths and the index after it.
fn path_tree(tokens: &[String], mut at: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        match tokens.get(at).map(String::as_str) {
            Some("{") => {
                let mut all = Vec::new();
                at += 1;
                loop {
                    match tokens.get(at).map(String::as_str) {
                        Some("}") => {
                            at += 1;
                            break;
                        }
                        Some(",") => at += 1,
                        None => break,
                        _ => {
                            let (sub, next) = path_tree(tokens, at);
                            for s in sub {
                                let mut p = prefix.clone();
                                p.extend(s);
                                all.push(p);
                            }
                            // Skip `as name` and anything else up to `,` or `}`.
                            at = next;
                            while let Some(t) = tokens.get(at) {
                                if t == "," || t == "}" {
                                    break;
                                }
                                at += 1;
                            }
                        }
                    }
                }
                return (all, at);
            }
            Some(t) if t.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                if t != "self" {
                    prefix.push(t.to_string());
                }
                at += 1;
                if tokens.get(at).is_some_and(|s| s == "::") {
                    at += 1;
                } else {
                    return (vec![prefix], at);
                }
            }
            _ => return (vec![prefix], at),
        }
    }
}

/// Identifiers, `::`, and single punctuation characters.
fn tokenize(code: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            let mut word = c.to_string();
            while let Some(&n) = chars.peek() {
                if n.is_alphanumeric() || n == '_' {
                    word.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(word);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            tokens.push("::".to_string());
        } else if !c.is_whitespace() {
            tokens.push(c.to_string());
        }
    }
    tokens
}

/// Re-exports of each module: (module, name) -> the path it stands for.
fn reexports(tree: &BTreeMap<String, String>) -> BTreeMap<(String, String), Vec<String>> {
    let mut map = BTreeMap::new();
    for (module, code) in tree {
        let tokens = tokenize(code);
        for i in 0..tokens.len() {
            if !(tokens[i] == "pub" && tokens.get(i + 1).is_some_and(|t| t == "use")) {
                continue;
            }
            let start = i + 2;
            let first = tokens.get(start).map(String::as_str).unwrap_or("");
            let (base, at) = match first {
                "crate" => (Vec::new(), start + 2),
                "super" => (split(&parent(module)), start + 2),
                "self" => (split(module), start + 2),
                // A relative path names a child module.
                _ => (split(module), start),
            };
            for p in path_tree(&tokens, at).0 {
                if let Some(name) = p.last() {
                    let mut full = base.clone();
                    full.extend(p.iter().cloned());
                    map.insert((module.clone(), name.clone()), full);
                }
            }
        }
    }
    map
}

/// The module (file) a path's item lives in: its longest module prefix, followed through
/// `pub use` re-exports.
fn resolve(
    path: &[String],
    modules: &BTreeSet<String>,
    reexports: &BTreeMap<(String, String), Vec<String>>,
) -> String {
    let mut path = path.to_vec();
    for _ in 0..8 {
        let mut k = path.len();
        while k > 0 && !modules.contains(&path[..k].join("::")) {
            k -= 1;
        }
        let module = path[..k].join("::");
        match path
            .get(k)
            .and_then(|name| reexports.get(&(module.clone(), name.clone())))
        {
            Some(target) if target != &path[..=k] => {
                let mut next = target.clone();
                next.extend(path[k + 1..].iter().cloned());
                path = next;
            }
            _ => return module,
        }
    }
    path.join("::")
}

/// Module -> the other modules it imports (a module's own descendants excluded).
fn graph(tree: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = tree.keys().cloned().collect();
    let re = reexports(tree);
    tree.iter()
        .map(|(module, code)| {
            let deps = paths(module, code)
                .iter()
                .map(|p| resolve(p, &modules, &re))
                .filter(|t| !t.is_empty() && !is_within(t, module))
                .collect();
            (module.clone(), deps)
        })
        .collect()
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.graph.contains_key(w) {
                    continue;
                }
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found.sort();
    walk.found
}

/// Every broken rule, as "from -> to: why".
fn violations(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for (from, deps) in graph {
        for to in deps {
            for (layer, forbidden, why) in rule_pairs() {
                if is_within(from, layer) && is_within(to, forbidden) {
                    out.push(format!("{from} -> {to}: {why}"));
                }
            }
        }
    }
    out
}

fn check(tree: &BTreeMap<String, String>) -> Vec<String> {
    let g = graph(tree);
    let mut problems = violations(&g);
    for c in cycles(&g) {
        let edges: Vec<String> = c
            .iter()
            .flat_map(|a| {
                g[a].iter()
                    .filter(|b| c.contains(b))
                    .map(move |b| format!("{a} -> {b}"))
            })
            .collect();
        problems.push(format!("import cycle: {}", edges.join(", ")));
    }
    problems
}

#[test]
fn the_source_tree_keeps_the_layering_rules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let tree = read_tree(&src);
    for expected in [
        "",
        "session",
        "term",
        "term::fastpath",
        "ui::pane",
        "memory::alloc",
    ] {
        assert!(
            tree.contains_key(expected),
            "module {expected:?} not found in {tree:?}"
        );
    }
    assert!(
        !tree.contains_key("term::scrollback::tests"),
        "test-only file read"
    );
    // A rule naming a module that is not there (after a move) would pass without checking.
    for (layer, forbidden, _) in rule_pairs() {
        for m in [layer, forbidden] {
            assert!(
                tree.contains_key(m),
                "rule names {m:?}, not a module of src/"
            );
        }
    }
    let mut problems = check(&tree);
    let found = cycles(&graph(&tree));
    for (group, why) in KNOWN_CYCLES {
        let within = |c: &[String]| c.iter().all(|m| group.contains(&m.as_str()));
        if found.iter().any(|c| within(c)) {
            problems.retain(|p| !(p.starts_with("import cycle:") && within(&cycle_of(p))));
        } else {
            problems.push(format!(
                "no cycle left among {group:?} ({why}): remove them from KNOWN_CYCLES"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "layering broken:\n  {}",
        problems.join("\n  ")
    );
}

/// The sorted modules named in an "import cycle: a -> b, b -> a" line.
fn cycle_of(problem: &str) -> Vec<String> {
    let edges = problem.trim_start_matches("import cycle: ");
    let mut modules: Vec<String> = edges
        .split(", ")
        .filter_map(|e| e.split(" -> ").next())
        .map(str::to_string)
        .collect();
    modules.sort();
    modules.dedup();
    modules
}

// The checker on made-up trees: each rule and the cycle check must fire.

fn tree(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|(m, code)| (m.to_string(), strip(code).0))
        .collect()
}

#[test]
fn a_cycle_between_two_files_is_found() {
    let t = tree(&[
        ("", "pub mod session;"),
        ("session", "pub mod term; pub mod fastpath;"),
        ("session::term", "use super::fastpath::FastPath;"),
        (
            "session::fastpath",
            "fn f(t: &crate::session::term::Term) {}",
        ),
    ]);
    assert_eq!(
        check(&t),
        ["import cycle: session::fastpath -> session::term, session::term -> session::fastpath"]
    );
}

#[test]
fn a_cycle_through_a_reexport_is_found_and_containment_is_not_one() {
    let t = tree(&[
        (
            "session",
            "pub mod pty; pub mod reader; pub use pty::Shared; use reader::x;",
        ),
        ("session::pty", "use crate::session::reader::spawn;"),
        ("session::reader", "use super::{Shared, pty::Handle as H};"),
    ]);
    assert_eq!(
        check(&t),
        ["import cycle: session::pty -> session::reader, session::reader -> session::pty"]
    );
    let t = tree(&[
        (
            "session",
            "pub mod pty; pub use pty::Shared; pub struct Context;",
        ),
        ("session::pty", "use super::Context;"),
    ]);
    assert_eq!(check(&t), Vec::<String>::new());
}

#[test]
fn each_layer_rule_fires() {
    for (from, to, _) in rule_pairs() {
        let import = format!("use crate::{to}::Thing;");
        let t = tree(&[(from, import.as_str()), (to, "pub struct Thing;")]);
        let problems = check(&t);
        assert_eq!(problems.len(), 1, "{from} -> {to}: {problems:?}");
        assert!(
            problems[0].starts_with(&format!("{from} -> {to}:")),
            "{problems:?}"
        );
    }
    // Inside a layer's subfolder, through a brace group and `super::super`.
    let t = tree(&[
        (
            "memory::procs",
            "use crate::{util, session::{pty::Shared}};",
        ),
        ("session::pty", ""),
        ("state::view", "fn f() { super::super::ui::draw(); }"),
        ("ui", "pub fn draw() {}"),
        ("util", ""),
    ]);
    let problems = check(&t);
    let edges: Vec<&str> = problems
        .iter()
        .map(|p| p.split_once(": ").map_or(p.as_str(), |(edge, _)| edge))
        .collect();
    assert_eq!(
        edges,
        ["memory::procs -> session::pty", "state::view -> ui"]
    );
}

#[test]
fn comments_strings_and_test_code_are_not_imports() {
    let t = tree(&[
        (
            "memory",
            r##"
            // use crate::ui::X;
            /* crate::ui::Y /* nested */ crate::app::Z */
            const S: &str = "crate::ui::W";
            const R: &str = r#"crate::ui::V "quoted""#;
            const C: char = '"'; fn lifetime<'a>(x: &'a str) {}
            #[cfg(test)]
            mod tests { use crate::ui::X; fn f() { crate::app::run(); } }
            #[cfg(test)]
            use crate::session::{a, b};
            #[cfg(test)]
            mod more;
            pub fn kept() { crate::util::f(); }
            "##,
        ),
        ("ui", ""),
        ("app", ""),
        ("util", ""),
        ("session", ""),
    ]);
    assert_eq!(check(&t), Vec::<String>::new());
    assert_eq!(graph(&t)["memory"], BTreeSet::from(["util".to_string()]));
    assert_eq!(strip("#[cfg(test)]\nmod more;").1, ["more"]);
}
