//! The zoo's archive walker: any bytes unpack or are refused without a panic, everything
//! written stays inside the target directory, and the limits hold.
#![no_main]
use std::io::Cursor;
use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use tfreuse::zoo::archive::{unpack, Kind, Limits};

fn fresh() -> (PathBuf, PathBuf) {
    let root = std::env::temp_dir().join(format!("tfreuse-fuzz-archive-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let dest = root.join("d");
    std::fs::create_dir_all(&dest).unwrap();
    (root, dest)
}

fuzz_target!(|data: &[u8]| {
    let (root, dest) = fresh();
    let limits = Limits { member: 1 << 20, total: 2 << 20, members: 256 };
    if let Ok(files) = unpack(Kind::sniff(data), Cursor::new(data), &dest, "plain", limits) {
        assert!(files.iter().map(|f| f.bytes).sum::<u64>() <= limits.total);
        for f in &files {
            let real = dest.join(&f.path).canonicalize().unwrap();
            assert!(real.starts_with(dest.canonicalize().unwrap()), "{} escapes", f.path);
        }
    }
    let beside: Vec<_> = std::fs::read_dir(&root).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(beside.len(), 1, "nothing is written beside the target: {beside:?}");
});
