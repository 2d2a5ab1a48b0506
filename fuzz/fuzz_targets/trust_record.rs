//! The zoo's record of digests trusted on first use: any text is read or refused without a
//! panic, and what reads survives writing out (as it is written) and reading back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tfreuse::zoo::trust::{parse, render};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(all) = parse(text, Path::new("trusted.json")) else { return };
    let again = String::from_utf8(render(all.clone()).unwrap()).unwrap();
    let mut want = all;
    want.sort_by(|a, b| (&a.name, &a.url).cmp(&(&b.name, &b.url)));
    assert_eq!(parse(&again, Path::new("again")).unwrap(), want);
});
