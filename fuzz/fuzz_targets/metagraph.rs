//! The MetaGraphDef decoder and everything read from it without TensorFlow.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut m) = tfreuse::MetaGraph::decode(data, Path::new("fuzz.meta")) {
        let _ = m.variables();
        for k in m.def.collection_def.keys().cloned().collect::<Vec<_>>() {
            let _ = m.collection_value(&k);
            let _ = m.collection_nodes(&k);
        }
        let _ = m.saver_def();
        if let Ok(g) = m.graph_def() {
            // What `inspect` lists and the trust gate refuses (every op unknown to no registry).
            let _ = tfreuse::graph::audit::reaches(&g, m.saver_def(), &Default::default());
        }
        let again = m.encode();
        assert!(tfreuse::MetaGraph::decode(&again, Path::new("fuzz.meta")).is_ok());
        m.strip_output_shapes();
    }
});
