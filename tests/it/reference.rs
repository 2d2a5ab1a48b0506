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
    for section in ["## `tfreuse train`", "## `tfreuse zoo fetch`", "## `tfreuse cache clear`"] {
        assert!(printed.contains(&format!("\n{section}\n")), "the reference lacks the section {section}");
    }
    // The TensorFlow options are listed with each command that loads TensorFlow, and only
    // there; the hidden command not at all.
    let section =
        |name: &str| printed.split(&format!("\n## `tfreuse {name}`\n")).nth(1).unwrap().split("\n## ").next().unwrap().to_string();
    for (command, tf, sessions) in
        [("train", true, true), ("inspect", true, false), ("server", true, false), ("zoo fetch", false, false), ("cache", false, false)]
    {
        let s = section(command);
        assert_eq!(s.contains("`--tf-lib <DIR>`"), tf, "{command}: --tf-lib");
        assert_eq!(s.contains("`--jit [<on|off|auto>]`"), sessions, "{command}: --jit");
        assert_eq!(s.contains("`--target <grpc://HOST:PORT>`"), sessions, "{command}: --target");
    }
    assert!(!printed.contains("## Global flags"), "no flag is every command's");
    assert!(!printed.contains("## `tfreuse reference`"), "the hidden command has a section");
}

/// The committed man pages (docs/man, `make man`) are what the binary writes: one page per
/// visible command, byte for byte.
#[test]
fn the_committed_man_pages_are_what_the_binary_writes() {
    let tmp = tempfile::tempdir().unwrap();
    ok(&["man", tmp.path().to_str().unwrap()]);
    let names = |dir: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    };
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man");
    let written = names(tmp.path());
    assert_eq!(names(&committed), written, "docs/man differs from the binary's pages: run `make man`");
    for page in ["tfreuse.1", "tfreuse-train.1", "tfreuse-zoo-fetch.1", "tfreuse-completions.1"] {
        assert!(written.contains(&page.to_string()), "no {page}");
    }
    assert!(!written.iter().any(|p| p.contains("reference") || p.contains("tfreuse-man")), "hidden commands got pages");
    for page in written {
        let (a, b) = (std::fs::read(committed.join(&page)).unwrap(), std::fs::read(tmp.path().join(&page)).unwrap());
        assert!(a == b, "docs/man/{page} is stale: run `make man`");
    }
    let train = std::fs::read_to_string(tmp.path().join("tfreuse-train.1")).unwrap();
    assert!(train.starts_with(".ie") || train.contains(".TH tfreuse-train 1"), "{}", &train[..200.min(train.len())]);
    assert!(train.contains("branch\\-from"), "the train page lacks --branch-from");
}
