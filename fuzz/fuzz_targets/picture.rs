//! Pictures of any format, decoded and fitted to a small input in every mode.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tfreuse::data::images::{decode_bytes, ImageOptions, Preprocess, ResizeMode};

fuzz_target!(|data: &[u8]| {
    for (mode, channels) in [(ResizeMode::Stretch, 1), (ResizeMode::Crop, 3), (ResizeMode::Pad, 3)] {
        let mut opts = ImageOptions::new(Preprocess { height: 8, width: 6, channels, mode });
        opts.max_pixels = 1 << 20;
        if let Ok(px) = decode_bytes(data, &opts) {
            assert_eq!(px.len(), 8 * 6 * channels as usize);
        }
    }
});
