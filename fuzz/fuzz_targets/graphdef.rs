//! Frozen GraphDefs, binary (.pb) and text (.pbtxt): the first byte picks which.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    if let Ok(m) = tfreuse::MetaGraph::from_graph_bytes(rest.to_vec(), pick & 1 == 1, Path::new("fuzz.pb")) {
        let gd = m.graph_def().expect("a graph that was read decodes");
        assert!(!gd.node.is_empty());
        assert!(tfreuse::MetaGraph::decode(&m.encode(), Path::new("fuzz.meta")).is_ok());
    }
});
