//! docs/reference.md is what `tfreuse reference` prints from the clap definitions: a flag
//! added, renamed or re-documented without `make reference` fails here.

use crate::common::{ok, root};

#[test]
fn the_committed_reference_is_what_the_binary_prints() {
    let printed = ok(&["reference"]);
    let committed = std::fs::read_to_string(root().join("docs/reference.md")).expect("read docs/reference.md");
    if printed != committed {
        let line = printed
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(printed.lines().count().min(committed.lines().count()));
        panic!(
            "docs/reference.md is stale: run make reference (first difference at line {}:\n  printed:   {:?}\n  committed: {:?})",
            line + 1,
            printed.lines().nth(line).unwrap_or("<end>"),
            committed.lines().nth(line).unwrap_or("<end>")
        );
    }
}

#[test]
fn the_reference_names_the_main_flags_once_each_where_they_belong() {
    let printed = ok(&["reference"]);
    for flag in ["--branch-from", "--freeze-below", "--cache-frozen", "--new-layers", "--meta"] {
        assert!(printed.contains(&format!("`{flag} ")) || printed.contains(&format!("`{flag}`")), "the reference lacks {flag}");
    }
    for section in ["## `tfreuse train`", "## `tfreuse zoo fetch`", "## `tfreuse cache clear`", "## Global flags"] {
        assert!(printed.contains(&format!("\n{section}\n")), "the reference lacks the section {section}");
    }
    // Global flags are listed once, in their own section, and the hidden command not at all.
    assert_eq!(printed.matches("`--tf-lib <DIR>`").count(), 1, "--tf-lib should appear once");
    assert!(!printed.contains("## `tfreuse reference`"), "the hidden command has a section");
}
