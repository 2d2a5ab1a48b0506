//! The shape of the code: no cycle between the library's top-level modules, and no function
//! in `src/` longer than the limit the developers' guide sets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::root;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Top-level module -> the top-level modules its files name as `crate::…`.
fn module_deps() -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("src");
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel.iter().next().unwrap().to_string_lossy().trim_end_matches(".rs").to_string();
        if ["lib", "main", "cli"].contains(&top.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let entry = deps.entry(top.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            let name: String = text[i + 7..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if !name.is_empty() && name != top {
                entry.insert(name);
            }
        }
    }
    deps
}

#[test]
fn no_cycle_between_top_level_modules() {
    let deps = module_deps();
    assert!(deps.contains_key("train") && deps.contains_key("graph"), "{deps:?}");
    // Depth-first search for a path back to the start.
    fn reaches(deps: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str, seen: &mut BTreeSet<String>) -> bool {
        deps.get(from).into_iter().flatten().any(|d| d == to || (seen.insert(d.clone()) && reaches(deps, d, to, seen)))
    }
    for m in deps.keys() {
        assert!(!reaches(&deps, m, m, &mut BTreeSet::new()), "module {m} depends on itself through others: {deps:?}");
    }
}

#[test]
fn no_function_over_eighty_lines() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut long = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            let indent = l.len() - t.len();
            if !(t.starts_with("fn ") || t.starts_with("pub fn ") || t.starts_with("pub(crate) fn ")) || t.ends_with(';') {
                continue;
            }
            // The function ends at the first later line that closes at its indentation.
            let close = " ".repeat(indent) + "}";
            let end = lines[i..].iter().position(|x| *x == close).map_or(0, |n| n + 1);
            if end > 80 {
                long.push(format!("{}:{} ({} lines)", f.display(), i + 1, end));
            }
        }
    }
    assert!(long.is_empty(), "functions over 80 lines: {long:?}");
}

/// Rust source split into its code (comments and literals blanked out, lines kept) and its
/// string literals (raw, byte and plain; escapes as written), each with its line.
fn lex(text: &str) -> (String, Vec<(usize, String)>) {
    let c: Vec<char> = text.chars().collect();
    let (mut code, mut lits, mut i) = (String::new(), Vec::new(), 0);
    let at = |i: usize, s: &str| s.chars().enumerate().all(|(k, x)| c.get(i + k) == Some(&x));
    while i < c.len() {
        let word_start = i == 0 || !(c[i - 1].is_alphanumeric() || c[i - 1] == '_');
        let raw = word_start && ["r\"", "r#", "br\"", "br#"].iter().any(|p| at(i, p));
        let end = if at(i, "//") {
            (i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len())
        } else if at(i, "/*") {
            let (mut depth, mut j) = (0, i);
            while j < c.len() {
                let step = if at(j, "/*") {
                    1
                } else if at(j, "*/") {
                    -1
                } else {
                    0
                };
                depth += step;
                j += if step == 0 { 1 } else { 2 };
                if depth == 0 {
                    break;
                }
            }
            j
        } else if raw {
            let open = i + if c[i] == 'b' { 2 } else { 1 };
            let hashes = (open..c.len()).take_while(|&k| c[k] == '#').count();
            let close: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            let start = open + hashes + 1;
            let stop = (start..c.len()).find(|&k| at(k, &close)).unwrap_or(c.len());
            lits.push((code.matches('\n').count() + 1, c[start..stop].iter().collect()));
            stop + close.len()
        } else if c[i] == '"' {
            let mut j = i + 1;
            while j < c.len() && c[j] != '"' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            lits.push((code.matches('\n').count() + 1, c[i + 1..j.min(c.len())].iter().collect()));
            j + 1
        } else if c[i] == '\'' && (c.get(i + 1) == Some(&'\\') || c.get(i + 2) == Some(&'\'')) {
            // A char literal ('"', '\''), not a lifetime.
            let from = i + if c[i + 1] == '\\' { 3 } else { 2 };
            (from..c.len()).find(|&k| c[k] == '\'').map_or(c.len(), |k| k + 1)
        } else {
            code.push(c[i]);
            i += 1;
            continue;
        };
        let end = end.min(c.len());
        code.push_str(&"\n".repeat(c[i..end].iter().filter(|&&x| x == '\n').count()));
        i = end;
    }
    (code, lits)
}

/// The library's files (`src/` but the CLI and `main.rs`), relative to `src/`, with their text.
fn library_files() -> Vec<(String, String)> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let rel = |f: &Path| f.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
    let library = files.iter().map(|f| (rel(f), f)).filter(|(r, _)| !r.starts_with("cli/") && r != "main.rs");
    library.map(|(r, f)| (r, std::fs::read_to_string(f).unwrap())).collect()
}

#[test]
fn library_messages_name_no_flag() {
    // TF's own flag (TF_XLA_FLAGS), not one of ours.
    const ALLOWED: [&str; 1] = ["--tf_xla_cpu_global_jit"];
    let mut found = Vec::new();
    for (file, text) in library_files() {
        for (line, lit) in lex(&text).1 {
            let rest = ALLOWED.iter().fold(lit.clone(), |s, a| s.replace(a, ""));
            // `--name` as a word of its own, not inside `a--b` or `---`.
            let flag = rest.match_indices("--").any(|(i, _)| {
                let before = rest[..i].chars().next_back();
                let after = rest[i + 2..].chars().next();
                !before.is_some_and(|b| b.is_alphanumeric() || b == '-' || b == '_') && after.is_some_and(|a| a.is_ascii_lowercase())
            });
            if flag {
                found.push(format!("src/{file}:{line}: {lit:?}"));
            }
        }
    }
    assert!(found.is_empty(), "library messages name CLI flags (give a Role, or Role::mention() it): {found:#?}");
}

#[test]
fn the_library_never_prints_nor_exits() {
    let mut found = Vec::new();
    for (file, text) in library_files() {
        for (n, l) in lex(&text).0.lines().enumerate() {
            if ["println!", "print!(", "eprint!(", "process::exit", "dbg!("].iter().any(|m| l.contains(m)) {
                found.push(format!("src/{file}:{}: {}", n + 1, l.trim()));
            }
        }
    }
    assert!(found.is_empty(), "library code prints or exits (send an Event, return an Error): {found:#?}");
}
