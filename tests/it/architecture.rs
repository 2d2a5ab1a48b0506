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
