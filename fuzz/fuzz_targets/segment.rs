//! Segment files of the feature cache on disk: any bytes are indexed without a panic, and a
//! record counts as sound only with its checksum.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for row_len in [1, 2, 8] {
        let (sound, damaged) = tfreuse::cache::store::check_segment(data, row_len);
        assert!(sound + damaged <= data.len() / (36 + 4 * row_len) + 1);
    }
});
