//! `.npz` data sets from bytes: zip, npy headers, dtypes, shapes; and as `pretrain
//! --unlabeled` examples added to a data set of 4 values a row.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let p = Path::new("fuzz.npz");
    if let Ok(npz) = tfreuse::data::npy::Npz::new(std::io::Cursor::new(data.to_vec()), p) {
        let _ = tfreuse::data::npz_dataset(npz, p);
    }
    if let Ok(npz) = tfreuse::data::npy::Npz::new(std::io::Cursor::new(data.to_vec()), p) {
        let split = tfreuse::data::Split { x: tfreuse::data::Features::F32(vec![0.0; 8]), y: vec![0, 1], feature_shape: vec![4] };
        let set = tfreuse::DataSet { splits: [("train".to_string(), split)].into(), ..Default::default() };
        let _ = tfreuse::pretrain::add_unlabeled(set, npz, p);
    }
});
