//! IDX image and label parsing, raw and behind gzip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Read;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let p = Path::new("fuzz-idx");
    let _ = tfreuse::data::parse_idx_images(data.to_vec(), p);
    let _ = tfreuse::data::parse_idx_labels(data.to_vec(), p);
    let mut out = Vec::new();
    if flate2::read::MultiGzDecoder::new(data).take(1 << 24).read_to_end(&mut out).is_ok() {
        let _ = tfreuse::data::parse_idx_images(out, p);
    }
});
