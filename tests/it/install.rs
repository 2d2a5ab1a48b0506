//! What `cargo package` would publish: what a build needs, and nothing large.
//!
//! The installs themselves (the wheel in a fresh venv, `cargo install`) are
//! `make install-check` (tests/install-check.sh), not tests here: their builds have the
//! release features and so replace `target/release/tfreuse`, which these tests run (built with
//! `test-hooks`) at the same time; with `test-hooks` instead they recompile the library (the
//! tests build it under another profile), ~9 minutes on 2 cores.

use std::process::Command;

use crate::common::root;

#[test]
fn the_package_holds_what_a_build_needs_and_nothing_large() {
    let out = Command::new(env!("CARGO")).args(["package", "--list", "--allow-dirty", "--locked"]).current_dir(root()).output().unwrap();
    assert!(out.status.success(), "cargo package --list failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let list = String::from_utf8(out.stdout).unwrap();
    let files: Vec<&str> = list.lines().collect();
    for needed in ["Cargo.toml", "Cargo.lock", "build.rs", "README.md", "LICENSE", "src/lib.rs", "src/main.rs", "src/zoo/default.toml"] {
        assert!(files.contains(&needed), "{needed} missing from the package:\n{list}");
    }
    assert!(files.iter().any(|f| f.starts_with("proto/tensorflow/core/protobuf/")), "{list}");
    for left_out in ["fixtures/", "data/", "python/", "tests/", "fuzz/", "examples/", "pyproject.toml", "docs/plan.png"] {
        assert!(!files.iter().any(|f| f.starts_with(left_out)), "{left_out} should stay out of the package:\n{list}");
    }
}
