//! The `checkpoint` state file parser: anything that parses must survive a round trip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tfreuse::model::checkpoint::CheckpointState;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(st) = CheckpointState::parse(text, Path::new("checkpoint")) {
            let again = CheckpointState::parse(&st.to_text(), Path::new("checkpoint")).expect("own output parses");
            assert_eq!(again, st);
        }
    }
});
