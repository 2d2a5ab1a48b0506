//! `.npz` data sets from bytes: zip, npy headers, dtypes, shapes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let p = Path::new("fuzz.npz");
    if let Ok(npz) = tfreuse::data::npy::Npz::new(std::io::Cursor::new(data.to_vec()), p) {
        let _ = tfreuse::data::npz_dataset(npz, p);
    }
});
