//! SavedModels (`saved_model.pb`): the MetaGraph chosen by tags and signature lookups.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = tfreuse::MetaGraph::from_saved_model_bytes(data, "serve", "fuzz/saved_model.pb".into()) {
        if let Ok(g) = m.graph_def() {
            // The trust gate: a TF2 saver's functions are read to allow its own restore.
            let _ = tfreuse::graph::trust::Gate::new(std::path::Path::new("fuzz"), &g, m.saver_def(), &Default::default());
        }
        for name in ["@x", "@logits", "@serving_default/x", "@a/b", "X:0"] {
            let _ = m.resolve_name(name);
        }
        assert!(tfreuse::MetaGraph::decode(&m.encode(), std::path::Path::new("fuzz.meta")).is_ok());
    }
});
