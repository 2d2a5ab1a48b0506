//! `csv:FILE` tables of path,label rows.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rows) = tfreuse::data::images::parse_table(data, std::path::Path::new("fuzz.csv")) {
        assert!(rows.iter().all(|(p, l)| !p.is_empty() && !l.is_empty()));
    }
});
