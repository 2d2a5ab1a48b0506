//! The zoo's manifest parser: any text is parsed or refused without a panic, and what parses
//! survives writing out and reading back unchanged.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tfreuse::zoo::manifest::{parse, Entry};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(entries) = parse(text, "fuzz") else { return };
    let again: String = entries.iter().map(|e: &Entry| format!("[[model]]\n{}\n", toml::to_string(e).unwrap())).collect();
    assert_eq!(parse(&again, "again").unwrap(), entries);
});
