//! `proto/` is what the pinned wheel was built from: printing the wheel's descriptors again
//! (`python/dump_protos.py`, as `make protos` does) gives the committed files byte for byte.

use std::path::Path;

use crate::common::root;

fn files(dir: &Path, base: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, base, out);
        } else if p.extension().is_some_and(|x| x == "proto") {
            out.push((p.strip_prefix(base).unwrap().display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
}

#[test]
fn vendored_protos_are_the_pinned_wheels() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(root().join(".venv/bin/python"))
        .arg(root().join("python/dump_protos.py"))
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (mut ours, mut fresh) = (vec![], vec![]);
    files(&root().join("proto"), &root().join("proto"), &mut ours);
    files(tmp.path(), tmp.path(), &mut fresh);
    ours.sort();
    fresh.sort();
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&fresh), "the same files");
    assert!(ours.len() > 30, "{:?}", names(&ours));
    for (a, b) in ours.iter().zip(&fresh) {
        assert!(a.1 == b.1, "{} differs from the wheel's descriptor: run `make protos`", a.0);
    }
}
